"""Safety net: notice when a query, message or post mentions suicide or self-harm.

The answer still answers; it only gains the deployment's crisis-resources line (CRISIS_TEXT).
Patterns are deliberately broad: a false positive costs one extra helpful line, a miss costs more.
"""

from __future__ import annotations

import re
import unicodedata

_CRISIS = re.compile(
    r"\b(?:suicid\w*|self[\s-]?harm\w*|kill(?:ing)?\s+(?:my|him|her|them)sel(?:f|ves)|end(?:ing)?\s+(?:my|it\s+all|my\s+life)"
    r"|want(?:ed|ing)?\s+to\s+die|wish\s+i\s+(?:was|were)\s+dead|cut(?:ting)?\s+myself|overdos\w*|take\s+my\s+(?:own\s+)?life"
    r"|no\s+reason\s+to\s+live|unalive)\b",
    re.IGNORECASE,
)


def mentions_crisis(text: str | None) -> bool:
    """True when the text talks about suicide or self-harm (in any letter width or case)."""
    if not text:
        return False
    return bool(_CRISIS.search(unicodedata.normalize("NFKC", text)))

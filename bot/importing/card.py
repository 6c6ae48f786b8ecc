"""A research-database card saved as text: the paper's title, its summary, then `Authors`, `Published`
(the journal) and `Abstract` headings, as research databases lay out a paper's page.

What it reads: the topic tags (a line of glued tag names before the title, `Depressive
DisordersNeuroimaging & Brain Measures…`), the title, the summary paragraph(s), the authors (one a
line), the journal, a year if one is given, and the abstract. What follows the abstract (the
database's own editorial, "cited by" lists, upsells) is not the paper and is never imported.
"""

from __future__ import annotations

import re

from bot.importing.extract import Extracted
from bot.importing.sentences import Block, squash, strip_bullet

HEADINGS = ("Authors", "Published", "Abstract")
_GLUED = re.compile(r"(?<=[a-z])(?=[A-Z])")


def is_card(text: str) -> bool:
    lines = {squash(line) for line in text.splitlines()}
    return all(h in lines for h in HEADINGS)


def read_card(text: str) -> Extracted:
    lines = [squash(line) for line in text.replace("\r\n", "\n").split("\n")]
    out = Extracted()
    at = {h: lines.index(h) for h in HEADINGS}
    for line in lines[: at["Authors"]]:
        if not line:
            continue
        if not out.title and _GLUED.search(line) and not line.endswith("."):
            out.topics = list(dict.fromkeys(t.strip() for t in _GLUED.split(line) if t.strip()))
        elif not out.title:
            out.title = line
        elif line != out.title:
            out.blocks.append(Block(line, "Summary"))
    out.authors = [strip_bullet(line) for line in _section(lines, at["Authors"]) if strip_bullet(line)]
    published = _section(lines, at["Published"])
    out.journal = published[0] if published else ""
    year = next((m[0] for line in published if (m := re.search(r"\b(19|20)\d{2}\b", line))), "")
    out.year = year
    for line in _section(lines, at["Abstract"], paragraphs=True):
        out.blocks.append(Block(line, "Abstract"))
    return out


def _section(lines: list[str], start: int, *, paragraphs: bool = False) -> list[str]:
    """The non-blank lines after a heading, up to the next heading: a known one, or (for prose
    sections) any short line that does not end like a sentence."""
    out: list[str] = []
    for line in lines[start + 1 :]:
        if not line:
            continue
        if line in HEADINGS or (paragraphs and out and not re.search(r"[.!?\"”’)]$", line)):
            break
        out.append(line)
    return out

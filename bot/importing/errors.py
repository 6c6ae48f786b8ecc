"""The one error an import raises: its message says what went wrong and that nothing was written."""

from __future__ import annotations


class ImportFailure(Exception):
    """An import that cannot go on (unreachable URL, wrong content type, too large, no text, bad option)."""

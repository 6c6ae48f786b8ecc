"""The one error a malformed data file raises, so every reader reports `file:line: what was expected`."""

from __future__ import annotations

from pathlib import Path


class ParseError(ValueError):
    """A data file is malformed; `str()` is `file:line: what was expected` (`file: …` for line 0: the whole file)."""

    def __init__(self, path: str | Path, line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(f"{self.path}:{line}: {message}" if line > 0 else f"{self.path}: {message}")


def read_utf8(path: Path) -> str:
    """A data file's text; undecodable bytes are a `ParseError` naming their line."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ParseError(path, line, f"file is not UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8") from None

"""A clone with nothing beside it is the whole project: no file points outside it, fixtures are pinned."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from tests.conftest import OPENAPI_PATH, ROOT

#: sha256 of the shipped copy of Discord's OpenAPI file (see its PROVENANCE.md); edits must be deliberate.
OPENAPI_SHA256 = "8c1d0707ccdf8e380a86dfba04058820a66435c1b69d5ed82e04dd8c0520dd73"
#: The folder beside our own checkouts that a public clone does not have (spelt in two parts so this
#: file does not match itself).
OUTSIDE = "../" + "shared"
SKIP_PARTS = {".git", ".venv", ".state", "__pycache__", "node_modules", ".mypy_cache", ".ruff_cache"}


def tracked_files() -> list[Path]:
    """The files git tracks (every file below the root when this is not a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=30
        ).stdout.decode()
        return [ROOT / name for name in out.split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        return [p for p in ROOT.rglob("*") if p.is_file() and not SKIP_PARTS & set(p.relative_to(ROOT).parts)]


def test_the_openapi_fixture_is_the_pinned_copy() -> None:
    assert hashlib.sha256(OPENAPI_PATH.read_bytes()).hexdigest() == OPENAPI_SHA256
    beside = {p.name for p in OPENAPI_PATH.parent.iterdir()}
    assert {"openapi.json", "LICENSE", "PROVENANCE.md"} <= beside
    assert "MIT License" in (OPENAPI_PATH.parent / "LICENSE").read_text(encoding="utf-8")
    assert "74fda0f" in (OPENAPI_PATH.parent / "PROVENANCE.md").read_text(encoding="utf-8")


def test_no_tracked_file_reads_links_or_documents_the_folder_outside() -> None:
    offenders = []
    for path in tracked_files():
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        offenders += [
            f"{path.relative_to(ROOT)}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE in line
        ]
    assert offenders == []


def test_the_concept_page_format_is_documented_in_the_repo() -> None:
    doc = ROOT / "docs" / "concept-page-format.md"
    assert doc.is_file()
    assert "docs/concept-page-format.md" in (ROOT / "README.md").read_text(encoding="utf-8")

"""Loading the hand-edited TOML files in `data/`: aliases, papers, protocols.

Each loader validates shape and names the file and key on error, so a moderator editing data gets
a precise message from `python -m bot ingest --check` instead of a broken bot.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from bot.facts.concept_page import FACT_TYPES
from bot.facts.errors import ParseError


def read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ParseError(path, 1, "file is not UTF-8; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        line = int(str(exc).rsplit("line ", 1)[-1].split(",")[0]) if "line " in str(exc) else 1
        raise ParseError(path, line, f"invalid TOML: {exc}") from None


def _str_list(path: Path, where: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ParseError(path, 1, f"{where}: expected a list of non-empty strings")
    return [v.strip() for v in value]


def load_aliases(path: Path) -> list[tuple[str, str, str]]:
    """(alias, canonical, kind) rows from `[aliases]`, `[intents]` and `[related]`."""
    data = read_toml(path)
    rows: list[tuple[str, str, str]] = []
    for kind, table in (("alias", "aliases"), ("intent", "intents"), ("related", "related")):
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise ParseError(path, 1, f'[{table}] must be a table of "typed words" = ["terms"]')
        for alias, terms in section.items():
            for term in _str_list(path, f"[{table}] {alias!r}", terms):
                rows.append((alias.strip().lower(), term, kind))
    return rows


def entry_line(path: Path, table: str, index: int, key: str | None = None) -> int:
    """The line of `key` in the `index`-th `[[table]]` of a TOML file (of its header without a key; else 1).

    `tomllib` keeps no positions, so the file is scanned: enough to point an editor at the entry.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 1
    header, seen = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]"), -1
    assignment = re.compile(rf"^\s*{re.escape(key)}\s*=") if key else None
    found = 1
    for number, line in enumerate(lines, 1):
        if header.match(line):
            seen += 1
            if seen == index:
                found = number
            elif seen > index:
                break
        elif seen == index and line.lstrip().startswith("["):
            break
        elif seen == index and assignment is not None and assignment.match(line):
            return number
    return found


def _year(path: Path, index: int, value: object) -> int:
    """A four-digit year, as a number (`year = 2023`) or a string of digits (`year = "2023"`)."""
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}\s*", value):
        return int(value)
    raise ParseError(
        path,
        entry_line(path, "paper", index, "year"),
        f"[[paper]] #{index + 1} year: expected a year like 2023, got {value!r}",
    )


def load_papers(path: Path) -> list[dict[str, Any]]:
    """`[[paper]]` entries with title, authors, journal, year, doi, tags, summary, match."""
    papers = read_toml(path).get("paper", [])
    if not isinstance(papers, list) or not all(isinstance(p, dict) for p in papers):
        raise ParseError(path, 1, "`paper` must be an array of tables: one [[paper]] header per paper")
    out = []
    for i, paper in enumerate(papers):
        where = f"[[paper]] #{i + 1}"
        for key in ("title", "journal"):
            if not isinstance(paper.get(key), str) or not paper[key].strip():
                raise ParseError(path, entry_line(path, "paper", i, key), f"{where}: missing {key!r}")
        out.append(
            {
                "title": paper["title"].strip(),
                "authors": _str_list(path, f"{where} authors", paper.get("authors", [])),
                "journal": paper["journal"].strip(),
                "year": _year(path, i, paper["year"]) if "year" in paper else None,
                "doi": str(paper["doi"]).strip() if paper.get("doi") else None,
                "tags": _str_list(path, f"{where} tags", paper.get("tags", [])),
                "summary": str(paper.get("summary", "")).strip(),
                "match": _str_list(path, f"{where} match", paper.get("match", [paper["title"]])),
            }
        )
    return out


PROTOCOL_STAGES = ("eligibility", "preparation", "course", "session", "aftercare")
DEFAULT_PROTOCOL_TYPES = ("procedure", "measurement", "account")


def _fact_types(path: Path, where: str, value: object) -> list[str]:
    types = _str_list(path, f"{where} types", value)
    unknown = [t for t in types if t not in FACT_TYPES]
    if unknown:
        raise ParseError(path, 1, f"{where}: unknown fact type {unknown[0]!r}; use {', '.join(FACT_TYPES)}")
    return types


def load_protocols(path: Path) -> list[dict[str, Any]]:
    """`[[protocol]]` entries: key, name, aliases, description, scope, stages.<stage> selectors."""
    protocols = read_toml(path).get("protocol", [])
    out = []
    seen: set[str] = set()
    for i, proto in enumerate(protocols):
        where = f"[[protocol]] #{i + 1}"
        for key in ("key", "name", "description"):
            if not isinstance(proto.get(key), str) or not proto[key].strip():
                raise ParseError(path, 1, f"{where}: missing {key!r}")
        if proto["key"] in seen:
            raise ParseError(path, 1, f"{where}: duplicate key {proto['key']!r}")
        seen.add(proto["key"])
        stages = proto.get("stages", {})
        unknown = set(stages) - set(PROTOCOL_STAGES)
        if unknown:
            raise ParseError(
                path, 1, f"{where}: unknown stage {sorted(unknown)[0]!r}; use {', '.join(PROTOCOL_STAGES)}"
            )
        out.append(
            {
                "key": proto["key"].strip(),
                "name": proto["name"].strip(),
                "aliases": _str_list(path, f"{where} aliases", proto.get("aliases", [])),
                "description": proto["description"].strip(),
                "scope": _str_list(path, f"{where} scope", proto.get("scope", [])),
                "fact_ids": _str_list(path, f"{where} fact_ids", proto.get("fact_ids", [])),
                "types": _fact_types(path, where, proto.get("types", list(DEFAULT_PROTOCOL_TYPES))),
                "stages": {
                    stage: _str_list(path, f"{where} stages.{stage}", stages[stage])
                    for stage in PROTOCOL_STAGES
                    if stage in stages
                },
            }
        )
    return out


def load_compare(path: Path) -> dict[str, Any]:
    """`[[group]]` (key, title, terms) and `[markers]` (similar, different) for /compare."""
    data = read_toml(path)
    groups = []
    for i, group in enumerate(data.get("group", [])):
        where = f"[[group]] #{i + 1}"
        for key in ("key", "title"):
            if not isinstance(group.get(key), str) or not group[key].strip():
                raise ParseError(path, 1, f"{where}: missing {key!r}")
        groups.append(
            {
                "key": group["key"],
                "title": group["title"],
                "terms": _str_list(path, f"{where} terms", group.get("terms", [])),
            }
        )
    markers = data.get("markers", {})
    return {
        "substances": _str_list(path, "substances", data.get("substances", [])),
        "groups": groups,
        "similar": _str_list(path, "[markers] similar", markers.get("similar", [])),
        "different": _str_list(path, "[markers] different", markers.get("different", [])),
    }

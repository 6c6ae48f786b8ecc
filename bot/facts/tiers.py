"""Source tiers as data (`data/tiers.toml`): how much weight a source's facts carry.

A tier has a key, a rank (higher is stronger evidence), a badge, a label, a short label and what it
means. Imported sources name their tier in their own file (`tier: clinic`); the sources of concept
pages (whose export format has no tier) get theirs from the `[[source]]` rules, and any source no
rule names gets `default`, which should be the weakest tier: a source is never shown stronger than
someone decided it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.facts.datafiles import entry_line, read_toml
from bot.facts.errors import ParseError
from bot.facts.models import UNRATED_TIER, TierRecord

#: What a data folder without `tiers.toml` gets: one tier that claims nothing.
UNRATED = UNRATED_TIER


@dataclass(frozen=True)
class TierRule:
    """`[[source]]`: a concept-page source whose title starts with `title` (and, when given, whose
    domain is `domain`) has `tier`."""

    tier: str
    title: str = ""
    domain: str = ""

    def matches(self, title: str, domain: str) -> bool:
        if self.domain and self.domain.lower() != domain.lower():
            return False
        return not self.title or title.lower().startswith(self.title.lower())


@dataclass(frozen=True)
class Tiers:
    tiers: tuple[TierRecord, ...]
    default: str
    rules: tuple[TierRule, ...] = ()

    @property
    def keys(self) -> set[str]:
        return {t.key for t in self.tiers}

    def for_source(self, title: str, domain: str) -> str:
        return next((r.tier for r in self.rules if r.matches(title, domain)), self.default)


def load_tiers(path: Path) -> Tiers:
    data = read_toml(path)
    if not data:
        return Tiers((UNRATED,), UNRATED.key)
    tiers: list[TierRecord] = []
    for i, entry in enumerate(_tables(path, data, "tier")):
        where = f"[[tier]] #{i + 1}"
        for key in ("key", "label", "badge", "meaning"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ParseError(path, entry_line(path, "tier", i, key), f"{where}: missing {key!r}")
        rank = entry.get("rank")
        if not isinstance(rank, int) or isinstance(rank, bool):
            raise ParseError(path, entry_line(path, "tier", i, "rank"), f"{where}: rank must be a whole number")
        if entry["key"] in {t.key for t in tiers}:
            raise ParseError(path, entry_line(path, "tier", i, "key"), f"{where}: duplicate key {entry['key']!r}")
        tiers.append(
            TierRecord(
                key=entry["key"].strip(),
                rank=rank,
                badge=entry["badge"].strip(),
                label=entry["label"].strip(),
                short=str(entry.get("short") or entry["key"]).strip(),
                meaning=entry["meaning"].strip(),
            )
        )
    keys = {t.key for t in tiers}
    default = data.get("default")
    if default not in keys:
        raise ParseError(
            path, 1, f"default = {default!r}: expected one of the [[tier]] keys ({', '.join(sorted(keys))})"
        )
    rules = []
    for i, entry in enumerate(_tables(path, data, "source")):
        where = f"[[source]] #{i + 1}"
        if entry.get("tier") not in keys:
            raise ParseError(
                path, entry_line(path, "source", i, "tier"), f"{where}: tier must be one of {', '.join(sorted(keys))}"
            )
        title, domain = str(entry.get("title", "")).strip(), str(entry.get("domain", "")).strip()
        if not title and not domain:
            raise ParseError(path, entry_line(path, "source", i), f"{where}: give a title, a domain or both")
        rules.append(TierRule(entry["tier"], title, domain))
    return Tiers(tuple(sorted(tiers, key=lambda t: -t.rank)), default, tuple(rules))


def _tables(path: Path, data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    entries = data.get(name, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ParseError(path, 1, f"`{name}` must be an array of tables: one [[{name}]] header each")
    return entries

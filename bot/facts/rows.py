"""Database rows → the plain records the store hands out (`bot.facts.models`): no SQL row leaves the store."""

from __future__ import annotations

import json
import sqlite3

from bot.facts.models import FactRecord, SourceRecord, TierRecord


def source_record(row: sqlite3.Row) -> SourceRecord:
    return SourceRecord(
        id=row["source_id"],
        title=row["title"],
        domain=row["domain"],
        publisher=row["publisher"],
        authors=tuple(json.loads(row["authors"])),
        date=row["date"],
        fact_count=row["declared_count"],
        concept=row["concept"],
        tier=TierRecord(
            row["tier"], row["tier_rank"], row["badge"], row["tier_label"], row["tier_short"], row["meaning"]
        ),
        link=row["url"],
    )


def fact_record(row: sqlite3.Row) -> FactRecord:
    return FactRecord(
        rowid=row["rowid"],
        id=row["id"],
        type=row["type"],
        text=row["text"],
        source=source_record(row),
        concept=row["concept"],
        position=row["position"],
        section=row["section"],
    )

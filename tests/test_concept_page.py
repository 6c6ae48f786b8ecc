"""The real parser on the real seed file, and on malformed variants of it."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import pytest

from bot.facts.concept_page import parse_file, parse_text
from bot.facts.errors import ParseError
from tests.conftest import SEED_PAGE, SEED_SOURCE_COUNTS, SEED_TYPE_COUNTS

SEED_TEXT = SEED_PAGE.read_text(encoding="utf-8")


#: sha256 of the exported ketamine page as it was shipped; an edit must change this on purpose.
SEED_SHA256 = "7bafc5640099aa768b31dbfaf4f5587b3c31e69037a25df7cb13ef3ac2e4ec09"


def test_shipped_page_is_the_export_unchanged() -> None:
    assert hashlib.sha256(SEED_PAGE.read_bytes()).hexdigest() == SEED_SHA256


def test_seed_parses_to_285_facts_under_14_sources() -> None:
    page = parse_file(SEED_PAGE)
    assert page.name == "ketamine"
    assert len(page.facts) == 285
    assert [s.declared_count for s in page.sources] == SEED_SOURCE_COUNTS
    assert Counter(f.source_index for f in page.facts) == Counter(dict(enumerate(SEED_SOURCE_COUNTS)))
    assert Counter(f.type for f in page.facts) == SEED_TYPE_COUNTS
    assert len(page.overview) == 5


def test_source_headers_are_split_into_fields() -> None:
    sources = parse_file(SEED_PAGE).sources
    first, second = sources[0], sources[1]
    assert (first.title, first.domain, first.publisher, first.date) == (
        "The Montreal model: an integrative biomedical-psychedelic ...",
        "frontiersin.org",
        "Frontiers in Psychiatry",
        None,
    )
    assert (second.domain, second.publisher, second.date) == ("link.springer.com", "Springer", "Dec 19, 2024")
    yaden = sources[8]
    assert yaden.publisher == "Oxford University Press"
    assert yaden.authors[:2] == ("David B Yaden", "Matthew W Johnson") and len(yaden.authors) == 9
    assert sources[9].authors == ("Stroud C", "Posey Norris SM", "Matney C")


def test_perspectives_are_parsed_with_model_and_confidence() -> None:
    perspectives = parse_file(SEED_PAGE).perspectives
    assert len(perspectives) == 7
    assert perspectives[0].model == "openrouter/google/gemini-3.1-flash-lite-preview"
    assert (perspectives[0].confidence, perspectives[0].definitive) == (100, True)
    assert (perspectives[6].model, perspectives[6].confidence, perspectives[6].definitive) == (
        "openrouter/x-ai/grok-4.1-fast",
        90,
        False,
    )


def test_every_bracket_citation_in_the_overview_resolves_to_the_fact_its_label_names() -> None:
    page = parse_file(SEED_PAGE)
    brackets = re.findall(r"\[fact:(\d+)\|([^\]]+)\]", "\n".join(page.overview))
    resolved = [c for c in page.citations if not c.glued]
    assert len(resolved) == len(brackets) == 9
    for citation in resolved:
        fact_text = page.facts[citation.fact_index].text
        assert fact_text.lower().startswith(citation.label.rstrip(".").lower()), (citation.label, fact_text)


def test_glued_labels_resolve_to_the_fact_they_abbreviate() -> None:
    page = parse_file(SEED_PAGE)
    glued = {c.label: page.facts[c.fact_index].text for c in page.citations if c.glued}
    assert len(glued) == 11
    assert glued["Research has diverged into two bodies"].startswith("Research on ketamine in psychiatry has diverged")
    assert glued["Antidepressant benefits typically fade"].startswith("The antidepressant benefits of ketamine")
    assert glued["Neuroplasticity as a convergent mechanism"].startswith("Neuroplasticity is proposed as")
    assert glued["Montreal model integrates ketamine into therapy"].startswith(
        "The Montreal model is an approach to integrating ketamine"
    )
    # The sentence text before a glued label is untouched: only the label span is a citation.
    for citation in page.citations:
        span = page.overview[citation.paragraph][citation.start : citation.end]
        expected = citation.label if citation.glued else f"[fact:{citation.exporter_id}|{citation.label}]"
        assert span == expected


def _broken(old: str, new: str, count: int = 1) -> str:
    assert old in SEED_TEXT
    return SEED_TEXT.replace(old, new, count)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _broken("\nclaimKetamine is being investigated", "\nopinionKetamine is being investigated"),
            r":\d+: unknown fact type 'opinion': expected one of claim, measurement",
        ),
        (
            _broken("Frontiers in Psychiatry 195 facts", "Frontiers in Psychiatry 196 facts"),
            r":36: source 'The Montreal model: .*' declares 196 facts, found 195 \(is the file truncated\?\)",
        ),
        (_broken("Facts (285)", "Facts (284)"), r":33: 'Facts \(284\)' declares 284 facts, found 285"),
        (
            _broken(
                "Sources\nThe Montreal model: an integrative biomedical-psychedelic ... frontiersin.org "
                "Frontiers in Psychiatry 195 facts\n",
                "Sources\n",
            ),
            r":36: fact before any source: expected a source header",
        ),
        (_broken("concept\n\nketamine\n", "concept\n\n\n"), r":\d+: missing concept name"),
        (SEED_TEXT[: len(SEED_TEXT) // 2], r"declares \d+ facts, found \d+ \(is the file truncated\?\)"),
        (SEED_TEXT[:3000], r"file ends early: expected 'Model Perspectives \(k\)' or 'Facts \(n\)'"),
        (
            _broken("Model Perspectives (7)", "Model Perspectives (8)"),
            r":\d+: 'Model Perspectives \(8\)' declares 8, found 7",
        ),
    ],
    ids=[
        "unknown-type",
        "source-count",
        "total-count",
        "fact-before-source",
        "missing-name",
        "truncated-half",
        "truncated-overview",
        "perspective-count",
    ],
)
def test_malformed_pages_fail_naming_file_line_and_expectation(text: str, expected: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_text(text, "data/concepts/broken.txt")
    assert str(info.value).startswith("data/concepts/broken.txt:")
    assert re.search(expected, str(info.value)), str(info.value)


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(
        SEED_TEXT.replace("Ketamine is being investigated", "Ketamine \xe9", 1).encode("latin-1", "replace")
    )
    with pytest.raises(ParseError) as info:
        parse_file(path)
    assert re.fullmatch(
        rf"{re.escape(str(path))}:\d+: file is not UTF-8 \(byte 0x..\); save it as UTF-8", str(info.value)
    )

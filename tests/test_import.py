"""`python -m bot import`: main text only, verbatim typed facts, fetching with limits, idempotence, the shipped seed."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import html as lxml_html

from bot.facts.errors import ParseError
from bot.facts.ingest import check_data, data_hash
from bot.facts.source_page import parse_file, parse_text, render, source_files
from bot.importing import cli as import_cli
from bot.importing import fetch as fetch_module
from bot.importing.build import Options, source_page
from bot.importing.errors import ImportFailure
from bot.importing.sentences import squash
from tests.conftest import DATA_DIR, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "import"
CLINIC = FIXTURES / "clinic-page.html"
#: Text of the clinic fixture that is page furniture: none of it may become a fact.
CLINIC_BOILERPLATE = [
    "cookies",
    "Manage preferences",
    "free consultation",
    "Meet the team",
    "Share on",
    "Email this article",
    "Spravato versus IV ketamine",
    "Ten questions patients ask",
    "Subscribe to our newsletter",
    "This article changed my life",
    "Does insurance usually cover",
    "Leave a comment",
    "All rights reserved",
    "does not provide medical advice",
    "front desk",
    "Privacy policy",
]
CLINIC_SENTENCES = [
    "Ketamine was first approved as an anaesthetic in 1970 and is now used at lower doses for treatment-resistant"
    " depression.",
    "At our clinic, each infusion lasts about 40 minutes and a nurse monitors blood pressure throughout the session.",
    "Many of our patients describe feeling lighter within a day of their first infusion.",
    "Integration sessions help patients turn insights from an infusion into lasting change.",
]


def _import(argv: list[str], data_dir: Path) -> int:
    return import_cli.main(argv, data_dir)


def _added(data_dir: Path) -> list[Path]:
    """Source pages in a copy of data/ that the shipped data/ does not have."""
    shipped = {p.name for p in source_files(DATA_DIR)}
    return [p for p in source_files(data_dir) if p.name not in shipped]


def test_an_html_page_gives_its_sentences_and_none_of_its_boilerplate(data_copy: Path) -> None:
    assert _import([str(CLINIC), "--concept", "ketamine", "--tier", "clinic"], data_copy) == 0
    [written] = _added(data_copy)
    page = parse_file(written)
    texts = [f.text for f in page.facts]
    assert all(s in texts for s in CLINIC_SENTENCES)
    assert not [t for t in texts for b in CLINIC_BOILERPLATE if b.lower() in t.lower()]
    assert len(texts) == len(set(texts)), "the repeated paragraph is one fact"
    assert (page.title, page.site, page.publisher) == (
        "How ketamine therapy works",
        "riverbend-clinic.example",
        "Riverbend Wellness Clinic",
    )
    assert (page.authors, page.date, page.tier, page.concept) == (
        ["Dana Whitfield, MD"],
        "Mar 14, 2024",
        "clinic",
        "ketamine",
    )
    types = {f.text: f.type for f in page.facts}
    assert types[CLINIC_SENTENCES[1]] == "measurement"
    assert types["Many of our patients describe feeling lighter within a day of their first infusion."] == "account"
    assert types[next(t for t in texts if t.startswith("We believe"))] == "perspective"
    # every fact is a verbatim sentence of the page (only runs of whitespace collapsed)
    page_text = squash(lxml_html.document_fromstring(CLINIC.read_bytes()).text_content())
    assert all(t in page_text for t in texts)
    check_data(data_copy)  # the ingest reads what the import wrote


def test_markdown_and_text_captures_keep_their_text_and_drop_their_furniture(data_copy: Path) -> None:
    assert _import([str(FIXTURES / "practitioner-notes.md"), "--tier", "clinic"], data_copy) == 0
    notes = parse_file(_added(data_copy)[0])
    assert notes.title == "What to expect at a ketamine-assisted therapy session" and notes.concept == "ketamine"
    assert (notes.authors, notes.date) == (["Lee Ortega, LMFT"], "Nov 2, 2023")
    texts = " ".join(f.text for f in notes.facts)
    assert "Most sessions last about two hours from arrival to leaving." in texts
    assert "Share this post" not in texts and "Subscribe" not in texts and "Services" not in texts
    faq = DATA_DIR / "captures" / "therapist-how-ketamine-works-faq.txt"
    assert _import([str(faq), "--concept", "ketamine", "--tier", "clinic"], data_copy) == 0
    # shipped already (data/sources), so importing it again writes the same page: read it wherever it is
    page = next(parse_file(p) for p in source_files(data_copy) if parse_file(p).captured_from == faq.name)
    assert page.title == "How Ketamine Works for Mental Health: A Deep Dive FAQ"
    assert page.authors == ["Megan Begley, LCSW"]
    joined = " ".join(f.text for f in page.facts)
    for furniture in ("top of page", "views", "Comments", "bottom of page", "Writer's picture", "Read more"):
        assert furniture not in joined
    raw = squash(faq.read_text(encoding="utf-8"))
    assert all(f.text in raw for f in page.facts)


def test_importing_the_same_source_twice_changes_nothing(data_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(CLINIC), "--concept", "ketamine", "--tier", "clinic"]
    assert _import(argv, data_copy) == 0
    [written] = _added(data_copy)
    before, stamp, digest = written.read_bytes(), written.stat().st_mtime_ns, data_hash(data_copy)
    capsys.readouterr()
    time.sleep(0.01)
    assert _import(argv, data_copy) == 0
    assert "Unchanged" in capsys.readouterr().out
    assert _added(data_copy) == [written]
    assert (written.read_bytes(), written.stat().st_mtime_ns, data_hash(data_copy)) == (before, stamp, digest)


def test_the_source_page_format_reads_back_what_is_written_and_rejects_mistakes(data_copy: Path) -> None:
    page = source_page(import_cli.read_source(str(CLINIC))[0], Options("ketamine", "clinic"), data_copy, CLINIC.name)
    assert [(f.type, f.text, f.section) for f in parse_text(render(page)).facts] == [
        (f.type, f.text, f.section) for f in page.facts
    ]
    broken = render(page).replace("tier: clinic", "tier: blog")
    (data_copy / "sources").mkdir(exist_ok=True)
    (data_copy / "sources" / "broken.txt").write_text(broken, encoding="utf-8")
    with pytest.raises(ParseError, match=r"broken\.txt:3: tier 'blog': expected one of"):
        check_data(data_copy)
    (data_copy / "sources" / "broken.txt").write_text(
        broken.replace("tier: blog", "tier: clinic").replace("concept: ketamine", "concept: glowmoss"), encoding="utf-8"
    )
    with pytest.raises(ParseError, match="concept 'glowmoss' has no page in concepts/"):
        check_data(data_copy)
    (data_copy / "sources" / "broken.txt").write_text(render(page).replace("Facts (8)", "Facts (9)"), encoding="utf-8")
    with pytest.raises(ParseError, match=r"'Facts \(9\)' declares 9 facts, found 8"):
        check_data(data_copy)


# --- fetching from a local server ------------------------------------------------------------------


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/moved":
            self._send(301, b"", {"Location": "/page.html"})
        elif self.path == "/loop":
            self._send(302, b"", {"Location": "/loop"})
        elif self.path == "/page.html":
            self._send(200, CLINIC.read_bytes(), {"Content-Type": "text/html; charset=utf-8"})
        elif self.path == "/paper.pdf":
            self._send(200, b"%PDF-1.7 not a page", {"Content-Type": "application/pdf"})
        elif self.path == "/huge-declared":
            self._send(200, b"<p>x</p>" * 4000, {"Content-Type": "text/html"})
        elif self.path == "/huge-streamed":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()  # no Content-Length: the body ends when the connection closes
            self.wfile.write(b"<p>" + b"x" * 40_000 + b"</p>")
            self.close_connection = True
        elif self.path == "/slow":
            time.sleep(1.5)
            self._send(200, b"<p>late</p>", {"Content-Type": "text/html"})
        else:
            self._send(404, b"not here", {"Content-Type": "text/plain"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_page_served_over_http_is_fetched_through_redirects(server: str, data_copy: Path) -> None:
    assert _import([f"{server}/moved", "--concept", "ketamine", "--tier", "clinic"], data_copy) == 0
    [written] = _added(data_copy)
    page = parse_file(written)
    assert page.url == f"{server}/page.html" and page.site == "127.0.0.1"
    assert page.captured_from == page.url
    assert all(s in [f.text for f in page.facts] for s in CLINIC_SENTENCES)
    before = written.read_bytes()
    assert _import([f"{server}/page.html", "--concept", "ketamine", "--tier", "clinic"], data_copy) == 0
    assert _added(data_copy) == [written] and written.read_bytes() == before


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/paper.pdf", "not an HTML, Markdown or text page (content type application/pdf)"),
        ("/huge-declared", "over the 10,000-byte limit"),
        ("/huge-streamed", "over the 10,000-byte limit"),
        ("/missing", "the server answered 404 Not Found"),
        ("/loop", "more than 5 redirects"),
        ("/slow", "no answer within 0.5 s"),
    ],
)
def test_a_bad_response_is_a_clear_error_and_writes_nothing(
    server: str, data_copy: Path, monkeypatch: pytest.MonkeyPatch, path: str, message: str
) -> None:
    monkeypatch.setattr(fetch_module, "MAX_BYTES", 10_000)
    monkeypatch.setattr(fetch_module, "TIMEOUT_SECONDS", 0.5)
    before = sorted(p.relative_to(data_copy) for p in data_copy.rglob("*"))
    with pytest.raises(ImportFailure, match=message.replace("(", r"\(").replace(")", r"\)")):
        _import([f"{server}{path}", "--concept", "ketamine", "--tier", "clinic"], data_copy)
    assert sorted(p.relative_to(data_copy) for p in data_copy.rglob("*")) == before


def test_the_command_line_says_what_went_wrong_with_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    odd = tmp_path / "paper.pdf"
    odd.write_bytes(b"%PDF-1.7")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "import", str(odd), "--tier", "clinic"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"DATA_DIR": str(data), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 2
    assert "not an HTML, Markdown or text file (.pdf)" in result.stderr and "nothing was written" in result.stderr


# --- from a fresh import to search, as the README says -------------------------------------------


def test_import_then_ingest_makes_the_page_findable_under_its_title(built_db: Path, data_copy: Path) -> None:
    # beside the session's database, so the vector cache already holds the shipped facts
    env = {
        "DATA_DIR": str(data_copy),
        "DATABASE_PATH": str(built_db.with_name("imported.sqlite3")),
        "PATH": "/usr/bin:/bin",
    }

    def bot(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "Wrote" in bot("import", str(CLINIC), "--concept", "ketamine", "--tier", "clinic")
    bot("ingest")
    hits = json.loads(bot("search", "how long does an infusion last at the clinic", "--limit", "3", "--json"))
    assert hits[0]["source"] == "How ketamine therapy works"
    assert hits[0]["text"] == CLINIC_SENTENCES[1]
    furniture = json.loads(bot("search", "subscribe newsletter cookies comments", "--limit", "10", "--json"))
    assert not [h for h in furniture if h["source"] == "How ketamine therapy works"]


# --- the shipped seed ------------------------------------------------------------------------------


def test_shipped_sources_are_exactly_what_the_tool_writes_from_their_captures(tmp_path: Path) -> None:
    shipped = source_files(DATA_DIR)
    assert shipped, "the seed paper card is shipped"
    for path in shipped:
        page = parse_file(path)
        capture = DATA_DIR / "captures" / page.captured_from
        assert capture.is_file(), f"{path.name}: its capture is in data/captures/"
        extracted, origin = import_cli.read_source(str(capture))
        again = source_page(extracted, Options(page.concept, page.tier), DATA_DIR, origin)
        again.path = page.path
        assert render(again) == path.read_text(encoding="utf-8"), path.name


def test_the_research_card_is_a_paper_with_its_own_sentences_and_nothing_of_the_database() -> None:
    [card] = [parse_file(p) for p in source_files(DATA_DIR) if parse_file(p).is_paper]
    assert card.title == "A unified model of ketamine’s dissociative and psychedelic properties"
    assert card.authors == ["Marguilho, M.", "Figueiredo, I.", "Castro-Rodrigues, P."]
    assert (card.journal, card.tier, card.doi, card.year) == (
        "Journal of Psychopharmacology",
        "paper",
        "10.1177/02698811221140011",
        "2023",
    )
    assert card.topics == ["Depressive Disorders", "Neuroimaging & Brain Measures", "Microdosing", "Ketamine"]
    sections = [f.section for f in card.facts]
    assert sections.count("Summary") == 2 and sections.count("Abstract") == 8
    joined = " ".join(f.text for f in card.facts)
    for not_the_paper in ("Blossom", "useful integrative model", "Cited By", "Agnorelli", "Unlocked"):
        assert not_the_paper not in joined


def test_a_doi_link_to_a_known_paper_resolves_to_its_card(capsys: pytest.CaptureFixture[str]) -> None:
    thread = (FIXTURES / "forum-thread-unified-model.txt").read_text(encoding="utf-8")
    link = next(w for w in thread.split() if "/doi/" in w)
    assert _import([link], DATA_DIR) == 0  # nothing fetched, nothing written
    out = capsys.readouterr().out
    assert "is the paper “A unified model of ketamine’s dissociative and psychedelic properties”" in out
    assert "a-unified-model-of-ketamines-dissociative-and-psychedelic-properties.txt" in out

"""The main text and metadata of a document: HTML (trafilatura), Markdown (markdown-it-py) or text.

Whatever the format, what comes out is the title, site, author, date (and a paper's journal, year,
DOI and topics when the page has them) plus the main text as blocks (paragraphs, list items,
quotes). Navigation, cookie banners, share buttons, comments, sidebars and footers stay out: in
HTML trafilatura's boilerplate removal drops them; in Markdown link lists and site furniture are
dropped; in text, lines before the title and everything from a comments heading on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from markdown_it import MarkdownIt

from bot.facts.source_page import SourceMetadata
from bot.importing.errors import ImportFailure
from bot.importing.sentences import BOILERPLATE, Block, squash, strip_bullet


@dataclass
class Extracted(SourceMetadata):
    """A document's metadata and its text blocks, before they become a source page."""

    title: str = ""
    blocks: list[Block] = field(default_factory=list)


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_CREDENTIAL = re.compile(r"^(?:MD|PhD|DO|RN|NP|PA|LCSW|LMFT|LPC|MSW|MA|MS|MSc|BSc|PsyD|FRCPC|MBBS|Jr\.?|Sr\.?)$")


def display_date(value: str) -> str:
    """`Mar 14, 2024` (the concept-page form) from an ISO date or a written one; '' when it has no year."""
    value = value.strip()
    iso = re.match(r"^(\d{4})-(\d{2})-(\d{2})", value)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
        return f"{_MONTHS[month - 1]} {day}, {year}" if 1 <= month <= 12 else ""
    for form in ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y"):
        try:
            parsed = datetime.strptime(value, form)
        except ValueError:
            continue
        return f"{_MONTHS[parsed.month - 1]} {parsed.day}, {parsed.year}"
    return ""


def split_authors(value: str) -> list[str]:
    """trafilatura's `A; B` authors, with credentials kept on their name (`Dana Whitfield, MD`)."""
    out: list[str] = []
    for part in (p.strip() for p in re.split(r";|\band\b", value) if p.strip()):
        if out and _CREDENTIAL.match(part):
            out[-1] = f"{out[-1]}, {part}"
        else:
            out.append(part)
    return out


def host_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


# --- HTML ---------------------------------------------------------------------------------------


def from_html(raw: bytes, url: str = "") -> Extracted:
    import trafilatura
    from lxml import html as lxml_html
    from trafilatura.settings import Document

    try:
        tree = lxml_html.document_fromstring(raw)
    except Exception as exc:  # lxml raises a handful of types for unparseable input
        raise ImportFailure(f"the page is not readable HTML ({exc})") from None
    doc = trafilatura.bare_extraction(
        tree,
        url=url or None,
        include_comments=False,
        include_tables=False,
        include_links=False,
        favor_precision=True,
        with_metadata=True,
        deduplicate=False,
    )
    if not isinstance(doc, Document) or doc.body is None:
        raise ImportFailure("no main text found in the page (is it a page of links, or built by JavaScript?)")
    meta = _citation_meta(tree)
    out = Extracted(
        title=meta.get("citation_title", [""])[0] or squash(doc.title or ""),
        site=host_of(url) if url else (doc.hostname or ""),
        url=url,
        publisher=squash(doc.sitename or ""),
        authors=meta.get("citation_author") or split_authors(doc.author or ""),
        date=display_date(doc.date or ""),
        journal=meta.get("citation_journal_title", [""])[0],
        doi=meta.get("citation_doi", [""])[0].removeprefix("doi:").strip(),
        topics=[t.strip() for k in meta.get("citation_keywords", []) for t in k.split(";") if t.strip()],
    )
    published = meta.get("citation_publication_date") or meta.get("citation_date") or [""]
    found_year = re.search(r"\b(1[89]|20)\d{2}\b", published[0])
    out.year = found_year[0] if found_year else ""
    abstract = meta.get("citation_abstract", [""])[0]
    if abstract:
        out.blocks.append(Block(abstract, "Abstract"))
    for element in doc.body.iter("p", "item", "quote"):
        if element.tag == "p" and element.getparent() is not None and element.getparent().tag in ("item", "quote"):
            continue
        text = squash("".join(element.itertext()))
        if text:
            out.blocks.append(Block(text, "Text"))
    return out


def _citation_meta(tree: object) -> dict[str, list[str]]:
    """Highwire Press `citation_*` tags (what journals publish for Google Scholar), multi-valued."""
    found: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):  # type: ignore[attr-defined]
        name = (meta.get("name") or "").strip().lower()
        content = squash(meta.get("content") or "")
        if name.startswith("citation_") and content:
            found.setdefault(name, []).append(content)
    return found


# --- Markdown -----------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
LINK_DENSITY = 0.5  # a block whose text is mostly links is navigation


def from_markdown(text: str) -> Extracted:
    out = Extracted()
    front = _FRONT_MATTER.match(text)
    if front:
        text = text[front.end() :]
        for line in front[1].splitlines():
            key, _, value = line.partition(":")
            value = value.strip().strip("\"'")
            if key.strip() == "title":
                out.title = value
            elif key.strip() in ("author", "authors"):
                out.authors = split_authors(value.strip("[]").replace(",", ";"))
            elif key.strip() == "date":
                out.date = display_date(value)
    tokens = MarkdownIt("commonmark").parse(text)
    heading = False
    for token in tokens:
        if token.type == "heading_open":
            heading = True
        elif token.type == "heading_close":
            heading = False
        elif token.type == "inline":
            plain, linked = _inline_text(token)
            if not plain:
                continue
            if heading:
                out.title = out.title or plain
            elif len(linked) <= LINK_DENSITY * len(plain):
                out.blocks.append(Block(plain))
    return out


def _inline_text(token: object) -> tuple[str, str]:
    """(all the text, the part of it inside links) of an inline token."""
    plain: list[str] = []
    linked: list[str] = []
    depth = 0
    for child in token.children or []:  # type: ignore[attr-defined]
        if child.type == "link_open":
            depth += 1
        elif child.type == "link_close":
            depth -= 1
        elif child.type in ("text", "code_inline"):
            plain.append(child.content)
            if depth:
                linked.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            plain.append(" ")
    return squash("".join(plain)), squash("".join(linked))


# --- plain text ---------------------------------------------------------------------------------

#: A line from which the rest of a text capture is comments or page furniture.
_TAIL = re.compile(
    r"^(?:comments?|\d+\s*comments?|leave a (?:comment|reply)|\d+ views?\s*\d*\s*comments?|share this page"
    r"|related (?:posts|articles)|you may also like|bottom of page|cited by(?: \(\d+\))?)$",
    re.IGNORECASE,
)
_FURNITURE = re.compile(
    r"^(?:top of page|search|menu|home|skip to (?:main )?content|dismiss notice|log ?in|sign up|share|print"
    r"|updated:?.*|published:?.*|posted:?.*)$",
    re.IGNORECASE,
)
_AUTHOR_LINE = re.compile(r"^(?:[•·*-]\s*)?(?:Writer's picture|Written by|By|Author:)\s*(?P<who>.+)$")
_DATE_LINE = re.compile(r"^(?:Updated|Published|Posted|Date)(?: on)?:?\s*(?P<date>.+)$", re.IGNORECASE)


def from_text(text: str) -> Extracted:
    out = Extracted()
    lines = [squash(line) for line in text.replace("\r\n", "\n").split("\n")]
    end = next((i for i, line in enumerate(lines) if _TAIL.match(line)), len(lines))
    body: list[str] = []
    for line in lines[:end]:
        if not line:
            body.append("")
            continue
        author = _AUTHOR_LINE.match(line)
        dated = _DATE_LINE.match(line)
        if author and not out.authors and len(line.split()) <= 8:
            out.authors = split_authors(author["who"].replace(",", ";"))
        elif dated and not out.date:
            out.date = display_date(dated["date"])
        elif _FURNITURE.match(line):
            continue
        elif not out.title:
            if _is_heading(line):
                out.title = line
            # anything before the title is the site's header and navigation
        else:
            body.append(line)
    for paragraph in _paragraphs(body):
        if paragraph != out.title:
            out.blocks.append(Block(paragraph))
    return out


def _is_heading(line: str) -> bool:
    words = line.split()
    return 2 <= len(words) <= 20 and not line.endswith(".") and not BOILERPLATE.search(line)


def _paragraphs(lines: list[str]) -> list[str]:
    """Lines as paragraphs: a hard-wrapped line is joined to the next when that one goes on in lower case."""
    out: list[str] = []
    for line in lines:
        if not line:
            out.append("")
            continue
        line = strip_bullet(line)
        if out and out[-1] and not re.search(r"[.!?:;\"”’)]$", out[-1]) and line[:1].islower():
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return [p for p in out if p]

"""Fetching a page for import: httpx with a timeout, a size limit, a bounded number of redirects and
an error that says what went wrong. Only HTML, Markdown and text are accepted; a PDF, an image or a
page larger than the limit is refused before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bot import __version__
from bot.importing.errors import ImportFailure

TIMEOUT_SECONDS = 15.0
MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = f"factbot-import/{__version__} (self-hosted Discord bot; imports pages moderators chose)"
KINDS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
}


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    kind: str  # html | markdown | text
    body: bytes
    encoding: str | None


def fetch(url: str, *, timeout: float | None = None, max_bytes: int | None = None) -> Fetched:
    timeout = TIMEOUT_SECONDS if timeout is None else timeout
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    if not url.lower().startswith(("http://", "https://")):
        raise ImportFailure(f"{url}: only http:// and https:// addresses can be fetched")
    try:
        with (
            httpx.Client(
                timeout=timeout,
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": USER_AGENT, "Accept": "text/html, text/markdown;q=0.9, text/plain;q=0.8"},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise ImportFailure(f"{url}: the server answered {response.status_code} {response.reason_phrase}")
            media = response.headers.get("content-type", "").split(";")[0].strip().lower()
            kind = KINDS.get(media)
            if kind is None:
                raise ImportFailure(
                    f"{url}: not an HTML, Markdown or text page (content type {media or 'not given'}); "
                    "save the text of a PDF or document as a .txt file and import that"
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ImportFailure(f"{url}: the page is {int(declared):,} bytes, over the {max_bytes:,}-byte limit")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ImportFailure(f"{url}: the page is over the {max_bytes:,}-byte limit")
                chunks.append(chunk)
            return Fetched(str(response.url), kind, b"".join(chunks), response.charset_encoding)
    except httpx.TooManyRedirects:
        raise ImportFailure(f"{url}: more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException:
        raise ImportFailure(f"{url}: no answer within {timeout:g} s") from None
    except httpx.InvalidURL as exc:
        raise ImportFailure(f"{url}: not a valid address ({exc})") from None
    except httpx.HTTPError as exc:
        raise ImportFailure(f"{url}: could not fetch it ({type(exc).__name__}: {exc})") from None

"""Text primitives every search step shares: normalising, words, stems and quoted FTS5 phrases.

Porter stems match FTS5's `porter` tokenizer, so what the planner counts is what the index holds.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

MAX_QUERY_CHARS = 300

_WORD = re.compile(r"[a-z0-9]+(?:(?:[-'’.,/][a-z0-9]+)(?<![.,]\d{4}))*")
SLASHED_WORD = 3  # "xanax/klonopin" is two words; "mg/kg" and "w/o" are one
_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|@(?:everyone|here)\b")
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "aren't",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "can't",
        "could",
        "did",
        "didn't",
        "do",
        "does",
        "doesn't",
        "doing",
        "don't",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "i'd",
        "i'm",
        "if",
        "in",
        "into",
        "is",
        "isn't",
        "it",
        "it's",
        "its",
        "itself",
        "just",
        "know",
        "let's",
        "like",
        "me",
        "more",
        "most",
        "much",
        "my",
        "myself",
        "yourself",
        "yourselves",
        "himself",
        "herself",
        "ourselves",
        "themselves",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "tell",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "what's",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "anyone",
        "anybody",
        "someone",
        "something",
        "thing",
        "things",
        "really",
        "actually",
        "info",
        "information",
        "stuff",
        "lot",
        "lots",
        "ok",
        "okay",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "pls",
        "plz",
        "anything",
        "everything",
        "everyone",
        "here",
        "say",
        "says",
        "said",
        "good",
        "great",
        "nice",
        "guys",
        # prepositions the list above lacks ("a version that lifts you up minus the trippy part")
        "minus",
        "plus",
        "via",
        "despite",
        "upon",
        "among",
        "amongst",
        "beside",
        "besides",
        "beyond",
        "except",
        "onto",
        "unlike",
        "toward",
        "towards",
        # chat: conjunctions and fillers a member types ("how long till it kicks in", "is it safe tbh")
        "till",
        "til",
        "whilst",
        "unless",
        "since",
        "though",
        "although",
        "cuz",
        "cos",
        "coz",
        "gonna",
        "wanna",
        "gotta",
        "ur",
        "u",
        "ive",
        "dont",
        "cant",
        "wont",
        "isnt",
        "doesnt",
        "didnt",
        "yeah",
        "yep",
        "nah",
        "lol",
        "tbh",
        "ngl",
        "idk",
        "w",  # "w/": the tokenizer drops the trailing slash
        "w/o",
        "and/or",
        "n",
        "wut",
        "wat",
        "thru",
        "abt",
        "bc",
        "b/c",
        "smth",
        "sth",
        "imo",
        "btw",
    ]
)

_stemmer = snowballstemmer.stemmer("porter")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Porter stem, the same algorithm as FTS5's `porter` tokenizer, so plans and reranks agree."""
    return str(_stemmer.stemWord(word))


SHORT_KEY = 4


def phrase_key(phrase: str) -> str:
    """A phrase with every word stemmed, so aliases match whatever the inflection."""
    return " ".join(stem(w) for w in tokenize(phrase))


def normalize(text: str, limit: int = MAX_QUERY_CHARS) -> str:
    """NFKC (full-width letters become ASCII), no control or format characters, no mentions, bounded."""
    text = unicodedata.normalize("NFKC", text[: limit * 4])
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    text = _MENTION.sub(" ", text)
    return " ".join(text.split())[:limit]


def tokenize(text: str) -> list[str]:
    """Lower-case words; keeps `k-hole`, `0.5`, `2r,6r-hnk`, `mg/kg`, `w/o` whole (trailing punctuation
    dropped), but words joined by a slash are words ("xanax/klonopin")."""
    out: list[str] = []
    for token in _WORD.findall(text.lower().replace("’", "'")):
        parts = token.split("/")
        if len(parts) > 1 and all(len(p) >= SLASHED_WORD and p.isalpha() for p in parts):
            out.extend(parts)
        else:
            out.append(token)
    return out


def fts_tokens(term: str) -> list[str]:
    """How FTS5's unicode61 tokenizer splits a term: alphanumeric runs."""
    return re.findall(r"[^\W_]+", term.lower())


def fts_phrase(term: str) -> str | None:
    """A term as an FTS5 phrase, quoted so no user text is ever read as FTS5 syntax."""
    tokens = fts_tokens(term)
    return '"' + " ".join(tokens).replace('"', '""') + '"' if tokens else None



_FTS_TOKEN = re.compile(r"[^\W_]+")


def stems_of(text: str) -> list[str]:
    """Porter stems of a text as FTS5 tokenises it (one regex pass; `stem` is cached per word)."""
    return list(map(stem, _FTS_TOKEN.findall(text.lower())))

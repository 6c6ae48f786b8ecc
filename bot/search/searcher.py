"""Search: the one module every command uses to find facts for what a person typed.

Pipeline: normalise the text (NFKC, no control characters, bounded length) → words → phrases from
`data/aliases.toml` (longest first) and question intents ("how long" → hours, duration …) → typo
correction of unknown words against the store's vocabulary (rapidfuzz, conservative) → an FTS5
query in which every term is a quoted phrase → BM25 candidates (bounded) → a rerank that rewards
covering the query's distinct ideas, weighted by rarity, and exact phrases.

On a large store the candidate fetch is driven only by the rare terms of the query (a word found in
most facts adds nothing to recall but makes FTS5 walk a huge posting list); common words still
count in the rerank. A query that names a concept ("ketamine", "k", "psilocybin for depression")
is looked up inside that concept's rowid range first, and its facts get a bonus; without ranked
candidates the pool is ordered by a BM25 computed over the pool itself. The rerank reads light
rows; full records are built only for the results returned. Nothing here scans every fact in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.facts.store import FactStore, RowidRange
from bot.search.answer_type import expected_answer
from bot.search.dense import DenseIndex, Semantic, widened
from bot.search.focus import SCAN_CHARS, focus, head_and_tail
from bot.search.lexicon import relatives_used
from bot.search.ranking import Group, Plan, known_share, match, pool_bm25, quiet_words
from bot.search.result import Hit, SearchResult
from bot.search.scoring import NEAREST_BELOW_COVERAGE, keep_nearest, prior, reward_answer_type, tier_factor
from bot.search.spelling import english_rarity, everyday_abbreviation, is_english
from bot.search.text import SHORT_KEY, STOPWORDS, fts_tokens, normalize, phrase_key, stem, stems_of, tokenize
from bot.search.verdict import OBJECTS, dose_numbers, judge, phrasal_verbs
from bot.search.vocabulary import Vocabulary

MAX_QUERY_WORDS = 48
# A pasted post is read up to this many characters before it is reduced to its question.
LONG_TEXT_CHARS = 2 * SCAN_CHARS + 1
CONTEXT_WEIGHT = 0.3
SEPARATED = 3  # "put people under": an alias of two words with an object between them
SEMANTIC_CANDIDATES = 40
SEMANTIC_WEIGHT = 1.5
SEMANTIC_WEIGHT_UNCOVERED = 8.0
SEMANTIC_ONLY_MIN = 0.25  # similarity a fact needs when no word of the query is in the store
SOFT_KINDS = frozenset({"intent", "context"})
CANDIDATES = 200
# Below this many facts every query is a plain OR over all its terms: exact BM25 is cheap there.
SMALL_STORE = 50_000
# On larger stores a term found in more than this share of facts does not drive the candidate fetch
# (bm25 would count all its documents first: at 2 % that was up to 20 000 per word at 1M facts)...
COMMON_SHARE = 0.005
MIN_COMMON_DOCS = 2000  # never call a term common below this many facts
# ... and fewer candidates are reranked: ranked ones are the rare-term best, unranked ones a sample.
LARGE_CANDIDATES = 100
# A large-store fact from a concept the query names ("ketamine bladder" → the ketamine page) gets
# this much on top of its coverage (0..1). Equal to the bm25 weight in the score, so at equal
# coverage the named concept's page always wins over a bm25 difference (a generated page's shorter
# copy of a sentence, say), while a fact covering clearly more of the query still wins.
CONCEPT_BONUS = 0.15
MAX_SCOPES = 3
INTENT_WEIGHT = 0.35
RELATIVES = 3  # WordNet relatives per typed word, those the store uses, best sense first
RELATED_CREDIT = 0.85  # a fact with a relative of a word the store never uses ("shuteye" → sleep)
KNOWN_RELATED_CREDIT = 0.3  # ... of a word it does use ("mood" → temper): a hint, not the idea
# Common words ("real", "baby", "hard": -log10 English share below this) get no relatives: they have
# many senses, and the sentence-embedding model knows them anyway.
RELATED_RARITY = 4.0


class Searcher:
    """Search over one open `FactStore`; cheap to build, holds only derived lookup structures."""

    def __init__(self, store: FactStore) -> None:
        self.store = store
        self._phrases = {
            **{k: ("intent", v) for k, v in store.intents.items()},
            **{k: ("alias", v) for k, v in store.aliases.items()},
            **{k: ("related", v) for k, v in store.related.items()},
        }
        # Inflections of a phrase find it too ("wearing off", "eating disorders"); short keys such as
        # abbreviations ("act", "pet", "iv") match only as typed, and so does a key whose stem is a stopword.
        stemmed = ((phrase_key(k), k) for k in self._phrases if len(k) > SHORT_KEY or " " in k)
        self._stemmed_phrases = {key: k for key, k in stemmed if key not in STOPWORDS}
        self._max_phrase = max((len(tokenize(k)) for k in self._phrases), default=1)
        # Alias keys that are everyday words standing for an abbreviation ("act" → ACT), known once.
        self._cased = {k: c for k, entry in self._phrases.items() if (c := everyday_abbreviation(k, entry))}
        self.words = Vocabulary(store.vocabulary, store.aliases)
        self._concepts = {phrase_key(name.lower()): span for name, span in store.concept_ranges.items()}
        self._max_concept_words = max((len(tokenize(name)) for name in store.concept_ranges), default=1)
        self.dense = DenseIndex(store)

    # --- query analysis -------------------------------------------------------------------------

    def analyse(
        self, query: str, names: frozenset[str] = frozenset(), capitals: frozenset[str] = frozenset()
    ) -> tuple[list[Group], SearchResult]:
        """The query's ideas: aliases and intents matched as phrases, typos corrected (never English
        words, the store's own words or `names`). `capitals`: the words written in capitals, which
        alone make an everyday word an abbreviation ("ACT", not "act")."""
        text = normalize(query)
        result = SearchResult(query=text)
        words = tokenize(text)[:MAX_QUERY_WORDS]
        groups: list[Group] = []
        i = 0
        while i < len(words):
            matched = False
            for size in range(min(self._max_phrase, len(words) - i), 0, -1):
                typed = " ".join(words[i : i + size])
                phrase = self._phrase(typed)
                if not phrase and size == SEPARATED and words[i + 1] in OBJECTS:
                    # "putting people under", "turn me away": a phrasal verb with its object inside
                    phrase = self._phrase(f"{words[i]} {words[i + 2]}")
                    if phrase and self._phrases[phrase][0] != "alias":
                        phrase = ""
                cased = self._cased.get(phrase) if size == 1 else None
                if cased and phrase not in capitals:
                    phrase = ""  # "act", "pet": the everyday word, not the abbreviation
                if phrase:
                    kind, terms = self._phrases[phrase]
                    if kind == "related":
                        # "insurance" → cost: facts on the neighbouring topic rank, as WordNet relatives
                        # do, but the verdict looks for the typed words ("insurance" is not in them)
                        group = Group(typed, [typed, *terms], 1.0, "related", related=len(terms))
                        group.related_credit = RELATED_CREDIT
                        groups.append(group)
                        result.display.append(f"{typed} ({', '.join(terms)})")
                    elif kind == "intent" and all(w in STOPWORDS for w in phrase.split()):
                        # "how long", "is it safe": a soft hint of what the answer contains.
                        groups.append(Group(typed, list(terms), INTENT_WEIGHT, "intent", literal=0))
                        result.display.append(typed)
                    else:
                        groups.append(Group(typed, [typed, *terms], 1.0, "alias", cased=cased))
                        if kind == "alias":
                            result.expanded[typed] = list(terms)
                            result.display.append(f"{typed} ({', '.join(terms)})")
                        else:
                            result.display.append(typed)
                    i += size
                    matched = True
                    break
            if matched:
                continue
            word = words[i]
            i += 1
            if word in STOPWORDS or len(fts_tokens(word)) == 0:
                result.display.append(word)
                continue
            if (
                word in self.store.vocabulary
                or not word.isalpha()
                or len(word) < 5
                or stem(word) in self.words.known_stems
                or word in names
                or is_english(word)
            ):
                groups.append(self.word_group(word, words[i - 2] if i >= 2 else None, names))
                result.display.append(word)
                continue
            correction = self.correct(word)
            if correction is None:
                groups.append(self.word_group(word, words[i - 2] if i >= 2 else None, names))
                result.display.append(word)
                continue
            result.corrected[word] = correction
            alias_terms = self.store.aliases.get(correction, [])
            result.display.append(f"{correction} ({', '.join(alias_terms)})" if alias_terms else correction)
            if alias_terms:
                result.expanded[correction] = list(alias_terms)
            groups.append(Group(word, [correction, *alias_terms], 1.0, "corrected"))
        return groups, result

    def _phrase(self, typed: str) -> str:
        """The alias or intent key `typed` is, as written or in another inflection ("" if none)."""
        return typed if typed in self._phrases else self._stemmed_phrases.get(phrase_key(typed), "")

    def word_group(self, word: str, before: str | None, names: frozenset[str] = frozenset()) -> Group:
        """A typed word's idea, with up to `RELATIVES` of its WordNet relatives that the store uses
        (of the word, or of the two-word phrase it ends: "street drugs" → drug of abuse). A word the
        store never uses leans on them (`RELATED_CREDIT`); a word it does, barely (`KNOWN_RELATED_CREDIT`)."""
        if word in names or not word.replace("-", "").isalpha() or english_rarity(word) < RELATED_RARITY:
            return Group(word, [word])
        own = stem(word) in self.words.known_stems
        pair = before if before and before not in STOPWORDS else None
        terms = relatives_used(word, pair, self.words.known_stems)[:RELATIVES]
        credit = KNOWN_RELATED_CREDIT if own else RELATED_CREDIT
        return Group(word, [word, *terms], related=len(terms), related_credit=credit)

    def correct(self, word: str) -> str | None:
        """A typo's fix, or the word a clipped spelling stands for ("antidep"); English words are never clipped."""
        return self.words.correct(word) or (None if is_english(word) else self.words.expand_truncation(word))

    def suggest(self, words: Sequence[str], limit: int = 5) -> list[str]:
        return self.words.suggest(words, limit)

    def complete_word(self, prefix: str) -> str | None:
        return self.words.complete_word(prefix)

    # --- retrieval ------------------------------------------------------------------------------

    async def search(self, query: str, limit: int = 25, *, semantic: bool = True, subject: str = "") -> SearchResult:
        """The best facts for what someone wrote: lexical and semantic evidence in one score.

        `semantic=False` (autocomplete, on every keystroke) skips the query embedding: words only.
        `subject`: a forum post's title, part of what it asks (`bot.search.focus`)."""
        focused = focus(normalize(head_and_tail(query), limit=LONG_TEXT_CHARS), normalize(subject))
        groups, result = self.analyse(focused.query, focused.names, focused.abbreviations)
        typed = tokenize(result.query)
        verbs = phrasal_verbs(typed)
        quiet_words(groups, verbs)
        if focused.reduced:
            result.focus = result.query
        context = self.context_groups(focused.context, focused.names, focused.abbreviations)
        total = max(self.store.fact_count, 1)
        every = [*groups, *context]
        sequences = {id(g): g.stem_sequences() for g in every}
        docs = await self.store.term_docs({s for seqs in sequences.values() for seq in seqs for s in seq})
        for group in every:
            group.docs = min(total, sum(min((docs.get(s, 0) for s in seq), default=0) for seq in sequences[id(group)]))
            own = group.stem_sequences(own=True) if group.related else sequences[id(group)]
            group.own_docs = min(total, sum(min((docs.get(s, 0) for s in seq), default=0) for seq in own))
        found = [g for g in every if g.docs > 0]
        result.unknown = [g.typed for g in groups if g.docs == 0 and g.kind != "intent"]
        sims = await self.dense.query(result.query, SEMANTIC_CANDIDATES) if semantic and typed else None
        if not any(g.kind not in SOFT_KINDS for g in found) and sims is None:
            result.suggestions = self.suggest([g.typed for g in groups if g.kind != "intent"])
            return result
        scored, own_coverage = await self._lexical(found, total, typed, limit) if found else ({}, 0.0)
        if sims is not None:
            scored = await self._fuse(scored, sims, found, total, typed, own_coverage * known_share(groups, total))
        else:  # words only: apply the tier factor here (the third slot held it until now)
            scored = {r: (score * factor, coverage, 0.0) for r, (score, coverage, factor) in scored.items()}
        if not any(g.kind not in SOFT_KINDS for g in found):
            # Nothing the store's words know: only a clear match in meaning counts ("xyzzy" finds nothing).
            scored = {r: v for r, v in scored.items() if v[2] >= SEMANTIC_ONLY_MIN}
        asked = expected_answer(" ".join(typed))
        scored = await reward_answer_type(self.store, scored, asked)
        best = sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]
        if sims is not None and own_coverage < NEAREST_BELOW_COVERAGE:
            best = keep_nearest(best, scored, sims)
        facts = await self.store.facts_by_rowid([rowid for rowid, _ in best])
        result.hits = [
            Hit(facts[rowid], round(score, 4), round(coverage, 4), round(similarity, 4))
            for rowid, (score, coverage, similarity) in best
            if rowid in facts
        ]
        question_similarity = sims.asked.get(result.hits[0].fact.rowid, 0.0) if sims and result.hits else 0.0
        doses = dose_numbers(typed)
        known = await self.store.term_docs({d for digits in doses.values() for d in digits}) if doses else {}
        unstated = [dose for dose, digits in doses.items() if not all(known.get(d) for d in digits)]
        result.answered, result.not_covered = judge(
            result.hits, groups, focused.abbreviations, verbs, typed, asked, question_similarity, unstated
        )
        if not result.hits:
            result.suggestions = self.suggest([g.typed for g in groups])
        return result

    def context_groups(self, context: str, names: frozenset[str], capitals: frozenset[str]) -> list[Group]:
        """The story around a question, as ideas that count for little (`CONTEXT_WEIGHT`)."""
        if not context:
            return []
        groups = [g for g in self.analyse(context, names, capitals)[0] if g.kind != "intent"]
        for group in groups:
            group.weight *= CONTEXT_WEIGHT
            group.kind = "context"
        return groups

    async def _lexical(
        self, found: list[Group], total: int, typed: list[str], limit: int
    ) -> tuple[dict[int, tuple[float, float, float]], float]:
        """rowid → (lexical score, coverage, tier factor) for the FTS5 candidates of the query's ideas,
        and the best coverage by the query's own words (WordNet relatives not counted)."""
        large = total > SMALL_STORE
        scopes = self.named_concepts(found) if large else []
        candidates, ranked = await self._candidates(found, total, scopes, limit)
        plan = Plan.of(found, total, typed)
        rows = await self.store.fact_texts([rowid for rowid, _ in candidates])
        matches = [(row, match(stems_of(row.text), row.title, plan, count=not ranked, text=row.text)) for row in rows]
        # FTS5's bm25 (global statistics) when rare words drove a ranked fetch; otherwise the pool is
        # in rowid order and gets a relevance order from the same formula over the pool itself.
        ranks = dict(candidates) if ranked else pool_bm25([(row.rowid, m) for row, m in matches], plan)
        bonus = {r.rowid: CONCEPT_BONUS for r in rows if any(lo <= r.rowid <= hi for lo, hi in scopes)}
        top_bm25 = max((abs(v) for v in ranks.values()), default=1.0) or 1.0
        scored: dict[int, tuple[float, float, float]] = {}
        own_best = max((m.own_coverage for _, m in matches), default=0.0)
        for row, (coverage, phrase_bonus, *_) in matches:
            if coverage <= 0:
                continue
            score = coverage + 0.15 * (ranks.get(row.rowid, 0.0) / top_bm25) + 0.1 * phrase_bonus
            score += bonus.get(row.rowid, 0.0)
            score -= prior(row)
            scored[row.rowid] = (score, coverage, tier_factor(row))
        return scored, own_best

    async def _fuse(
        self,
        scored: dict[int, tuple[float, float, float]],
        sims: Semantic,
        found: list[Group],
        total: int,
        typed: list[str],
        own_coverage: float,
    ) -> dict[int, tuple[float, float, float]]:
        """Add semantic evidence: the nearest facts join the pool, every fact gains `SEMANTIC_WEIGHT` × its
        similarity (its cosine, `widened` by its questions)."""
        extra = [rowid for rowid, _ in sims.near if rowid not in scored]
        fused = dict(scored)
        if extra:
            plan = Plan.of(found, total, typed) if found else None
            for row in await self.store.fact_texts(extra):
                coverage = match(stems_of(row.text), row.title, plan, text=row.text).coverage if plan else 0.0
                fused[row.rowid] = (coverage - prior(row), coverage, tier_factor(row))
        # The less of the query the words of the store cover (lay paraphrase: "waterworks"; words it never
        # saw count as uncovered: `known_share`), the more the meaning decides; a query the facts' own
        # words answer keeps its lexical order. WordNet relatives are guesses: the question's own words count.
        weight = SEMANTIC_WEIGHT + (SEMANTIC_WEIGHT_UNCOVERED - SEMANTIC_WEIGHT) * (1.0 - own_coverage)
        similarities = await self.dense.similarities(sims, list(fused))
        for rowid, (score, coverage, factor) in fused.items():
            similarity = widened(similarities.get(rowid, 0.0), sims.asked.get(rowid), 1.0 - own_coverage)
            fused[rowid] = ((score + weight * similarity) * factor, coverage, similarity)
        return fused

    def concept_range(self, name: str) -> RowidRange | None:
        """The rowid range of the concept called `name` (any case or inflection), if it has one."""
        return self._concepts.get(phrase_key(name))

    def named_concepts(self, groups: Sequence[Group]) -> list[RowidRange]:
        """Rowid ranges of the concepts the query names, most specific first (at most `MAX_SCOPES`).

        A name counts when consecutive query words spell it ("psilocybin for depression" names the
        concept "psilocybin depression" when the store has one, else "psilocybin"), or when a word's
        alias or spelling correction does ("k", "shrooms", "ketmaine"), or a word of an alias phrase
        does ("ketamine bladder"). Stopwords are not in groups, so they never break a name.
        """
        words = [g for g in groups if g.kind != "intent"]
        out: list[RowidRange] = []
        i = 0
        while i < len(words) and len(out) < MAX_SCOPES:
            span, size = None, 1
            for size in range(min(self._max_concept_words, len(words) - i), 0, -1):
                span = self._concepts.get(phrase_key(" ".join(g.typed for g in words[i : i + size])))
                if span:
                    break
            if span is None:
                names = [*words[i].terms, *words[i].typed.split()]
                span = next((self._concepts[k] for k in map(phrase_key, names) if k in self._concepts), None)
                size = 1
            if span and span not in out:
                out.append(span)
            i += size
        return out

    async def _candidates(
        self, groups: list[Group], total: int, scopes: Sequence[RowidRange], wanted: int
    ) -> tuple[list[tuple[int, float]], bool]:
        """(rowid, bm25) to rerank, and whether FTS5 ranked them (else every bm25 is 0). Small stores:
        exact BM25 over every term. Large stores look first inside the concepts the query names (one
        rowid range each: "ketamine" wants the ketamine page, not the first of the 400 000 facts that
        mention the word), and search the whole store too when that finds fewer than `wanted` facts."""
        if total <= SMALL_STORE:
            expressions = [e for e in (g.expression() for g in groups) if e]
            return await self.store.ranked_candidates(" OR ".join(expressions), CANDIDATES), True
        required = [g for g in groups if g.kind not in SOFT_KINDS]
        common = max(MIN_COMMON_DOCS, int(total * COMMON_SHARE))
        driving = [e for e in (g.expression() for g in required if g.docs <= common) if e]
        found: dict[int, float] = {}
        for span in [*scopes, None]:
            if span is None and scopes and len(found) >= wanted:
                break
            for rowid, rank in await self._fetch(required, driving, span):
                found.setdefault(rowid, rank)
        return list(found.items()), bool(driving)

    async def _fetch(
        self, required: list[Group], driving: list[str], within: RowidRange | None
    ) -> list[tuple[int, float]]:
        """One large-store fetch: the rare terms (`driving`) ranked by FTS5, or, when every term is
        common, an unranked AND of them all.

        A term in more than `COMMON_SHARE` of facts never drives a ranked fetch: FTS5's bm25 counts
        all of its documents first, which costs tens of milliseconds at a million facts.
        """
        if driving:
            return await self.store.ranked_candidates(" OR ".join(driving), LARGE_CANDIDATES, within)
        expressions = [e for e in (g.expression() for g in required) if e]
        rowids = await self.store.unranked_candidates(" AND ".join(expressions), LARGE_CANDIDATES * 2, within)
        if not rowids:
            rarest = min(required, key=lambda g: g.docs).expression() or ""
            rowids = await self.store.unranked_candidates(rarest, LARGE_CANDIDATES * 2, within)
        return [(rowid, 0.0) for rowid in rowids]

-- The fact database: rebuilt from data/ into a new file and swapped in atomically.
-- Moderator state (reports, settings, audit, stats) lives in a separate database (state.sql),
-- so a rebuild can never delete it.

PRAGMA foreign_keys = ON;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE concepts (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    path      TEXT NOT NULL,
    overview  TEXT NOT NULL            -- JSON list of raw paragraphs, citations kept verbatim
);

CREATE TABLE sources (
    id             INTEGER PRIMARY KEY,
    concept_id     INTEGER NOT NULL REFERENCES concepts(id),
    title          TEXT NOT NULL,
    domain         TEXT NOT NULL,
    publisher      TEXT NOT NULL,
    authors        TEXT NOT NULL,      -- JSON list
    date           TEXT,
    declared_count INTEGER NOT NULL,
    tier           TEXT NOT NULL REFERENCES tiers(key),  -- data/tiers.toml
    url            TEXT,               -- the page's own address (imported sources only)
    path           TEXT                -- the data/sources/ file it came from (imported sources only)
);

-- Source tiers (data/tiers.toml): rank orders them, higher is stronger evidence.
CREATE TABLE tiers (
    key     TEXT PRIMARY KEY,
    rank    INTEGER NOT NULL,
    badge   TEXT NOT NULL,
    label   TEXT NOT NULL,
    short   TEXT NOT NULL,
    meaning TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE facts (
    rowid      INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,   -- stable, derived from content: k-3f9a2c
    concept_id INTEGER NOT NULL REFERENCES concepts(id),
    source_id  INTEGER NOT NULL REFERENCES sources(id),
    type       TEXT NOT NULL CHECK (type IN ('claim','measurement','procedure','reference','account','perspective')),
    text       TEXT NOT NULL,
    position   INTEGER NOT NULL,       -- order within its source, as in the file
    section    TEXT NOT NULL DEFAULT '' -- an imported source's section (Summary, Abstract, Text)
);
CREATE INDEX facts_source ON facts(source_id, position);

CREATE TABLE citations (
    concept_id  INTEGER NOT NULL REFERENCES concepts(id),
    section     TEXT NOT NULL CHECK (section IN ('overview','perspective')),
    paragraph   INTEGER NOT NULL,
    start       INTEGER NOT NULL,
    end         INTEGER NOT NULL,
    label       TEXT NOT NULL,
    fact_id     TEXT NOT NULL REFERENCES facts(id),
    exporter_id INTEGER             -- N of [fact:N|label]; NULL for a glued label
);
CREATE INDEX citations_fact ON citations(fact_id);

CREATE TABLE perspectives (
    concept_id INTEGER NOT NULL REFERENCES concepts(id),
    position   INTEGER NOT NULL,
    model      TEXT NOT NULL,
    confidence INTEGER NOT NULL,
    definitive INTEGER NOT NULL,
    text       TEXT NOT NULL,
    machine_written INTEGER NOT NULL DEFAULT 1 CHECK (machine_written = 1)
);

CREATE TABLE aliases (
    alias     TEXT NOT NULL,           -- what people type, lower case
    canonical TEXT NOT NULL,           -- a term the fact store uses
    kind      TEXT NOT NULL DEFAULT 'alias'  -- alias | intent | related
);
CREATE INDEX aliases_alias ON aliases(alias);

-- Surface words with document frequency: typo correction, did-you-mean, autocomplete.
CREATE TABLE words (
    word TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
) WITHOUT ROWID;

-- Porter stems with document frequency, copied from fts5vocab: lets search plan a query
-- (which words are rare enough to drive the candidate fetch) without touching posting lists.
CREATE TABLE term_stats (
    term TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
) WITHOUT ROWID;

CREATE VIRTUAL TABLE facts_fts USING fts5(
    text, source_title,
    content = 'fact_documents', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE VIEW fact_documents AS
    SELECT facts.rowid AS rowid, facts.text AS text, sources.title AS source_title
    FROM facts JOIN sources ON sources.id = facts.source_id;

CREATE VIRTUAL TABLE sources_fts USING fts5(
    title, publisher, domain, authors,
    content = 'sources', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE VIRTUAL TABLE facts_vocab USING fts5vocab(facts_fts, 'row');

-- Paper metadata shipped as data (data/papers.toml): authors, journal, year, DOI, tags.
CREATE TABLE papers (
    id       INTEGER PRIMARY KEY,
    title    TEXT NOT NULL,
    authors  TEXT NOT NULL,            -- JSON list
    journal  TEXT NOT NULL,
    year     INTEGER,
    doi      TEXT,
    tags     TEXT NOT NULL,            -- JSON list
    summary  TEXT NOT NULL DEFAULT '',
    match    TEXT NOT NULL,            -- JSON list of phrases that identify it in facts/sources
    source_id INTEGER REFERENCES sources(id)  -- its imported card in data/sources/, if any
);

-- Treatment protocols as the literature describes them (data/protocols.toml).
CREATE TABLE protocols (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    aliases     TEXT NOT NULL,         -- JSON list
    description TEXT NOT NULL,
    definition  TEXT NOT NULL          -- JSON: stages → fact selectors
);

-- One sentence-embedding vector per fact (float32 × 768: two models side by side, L2-normalised; model in meta 'embedding_model').
CREATE TABLE fact_vectors (
    rowid  INTEGER PRIMARY KEY,
    vector BLOB NOT NULL
);

-- Questions members ask that a fact answers (data/questions.toml): search data only, never shown.
CREATE TABLE fact_questions (
    rowid      INTEGER PRIMARY KEY,
    fact_rowid INTEGER NOT NULL REFERENCES facts(rowid),
    text       TEXT NOT NULL
);

-- One vector per question, made like a fact's (search widens a fact's similarity by its best question's).
CREATE TABLE question_vectors (
    rowid  INTEGER PRIMARY KEY REFERENCES fact_questions(rowid),
    vector BLOB NOT NULL
);

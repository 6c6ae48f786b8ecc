-- Moderator state, migration 1: the tables as first shipped (before they were scoped per guild).
-- Never dropped: the fact database is rebuilt, this is not. `IF NOT EXISTS` because databases made
-- before versioned migrations (user_version 0) already hold these tables.

CREATE TABLE IF NOT EXISTS settings (
    guild_id INTEGER NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (guild_id, key)
);

CREATE TABLE IF NOT EXISTS reports (
    id               INTEGER PRIMARY KEY,
    fact_id          TEXT NOT NULL,
    reporter_id      INTEGER NOT NULL,
    guild_id         INTEGER,
    reason           TEXT NOT NULL,
    suggested_source TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    created_at       REAL NOT NULL,
    resolved_by      INTEGER,
    resolved_at      REAL,
    resolution       TEXT
);
CREATE INDEX IF NOT EXISTS reports_status ON reports(status, id);

CREATE TABLE IF NOT EXISTS audit (
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    guild_id INTEGER,
    actor_id INTEGER NOT NULL,
    action   TEXT NOT NULL,
    detail   TEXT NOT NULL
);

-- Query text only, never who asked.
CREATE TABLE IF NOT EXISTS query_stats (
    query   TEXT PRIMARY KEY,
    asked   INTEGER NOT NULL,
    missed  INTEGER NOT NULL,
    last_at REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS autoreplied_threads (
    thread_id INTEGER PRIMARY KEY,
    at        REAL NOT NULL
);

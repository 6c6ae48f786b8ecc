-- Moderator state, migration 2: every piece of moderator state belongs to one guild, and query
-- statistics count distinct askers without storing who asked.
--
-- Rows that have no guild (reports filed in DMs, audit entries from before this step) keep a NULL
-- guild_id: no guild's moderators see them, only the operator's command line does.

-- Reports are numbered per guild (#1, #2, … in each), so a number says nothing about other guilds.
ALTER TABLE reports ADD COLUMN number INTEGER;
UPDATE reports SET number = (
    SELECT count(*) FROM reports AS earlier WHERE earlier.guild_id IS reports.guild_id AND earlier.id <= reports.id
);
DROP INDEX IF EXISTS reports_status;
CREATE UNIQUE INDEX reports_guild_number ON reports(guild_id, number);
CREATE INDEX reports_guild_status ON reports(guild_id, status, number);
CREATE INDEX reports_reporter ON reports(reporter_id, created_at);

CREATE INDEX audit_guild ON audit(guild_id, id);
CREATE INDEX audit_actor ON audit(actor_id);

ALTER TABLE autoreplied_threads ADD COLUMN guild_id INTEGER;

-- The old counts had no guild and may hold questions asked with private:true: they are dropped,
-- not migrated (no private question text may stay stored).
DROP TABLE query_stats;

-- Per guild, per query, per UTC day (days since 1970-01-01), so retention deletes whole days.
CREATE TABLE query_stats (
    guild_id INTEGER NOT NULL,
    query    TEXT NOT NULL,
    day      INTEGER NOT NULL,
    asked    INTEGER NOT NULL,
    missed   INTEGER NOT NULL,
    PRIMARY KEY (guild_id, query, day)
);
CREATE INDEX query_stats_day ON query_stats(day);

-- Who asked, only as a keyed hash (HMAC-SHA256 of guild and user under the asker key of
-- `state_keys`, whose generation is `key_generation`), never a user id; `day` is the last day that
-- asker asked it. Used only to count distinct askers: a query is shown in /stats once 3 of them,
-- hashed under the same key, asked it.
CREATE TABLE query_askers (
    guild_id       INTEGER NOT NULL,
    query          TEXT NOT NULL,
    key_generation INTEGER NOT NULL,
    asker          TEXT NOT NULL,
    day            INTEGER NOT NULL,
    PRIMARY KEY (guild_id, query, key_generation, asker)
);
CREATE INDEX query_askers_day ON query_askers(day);

-- Secret keys kept in the state database; the asker key is replaced every few days, and an old key
-- is overwritten, so old hashes can no longer be linked to anyone.
CREATE TABLE state_keys (
    name       TEXT PRIMARY KEY,
    generation INTEGER NOT NULL,
    secret     BLOB NOT NULL,
    created_at REAL NOT NULL
);

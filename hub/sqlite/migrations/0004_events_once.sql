-- Each event's JSON lives once, in the event log. The state keeps what
-- the fold decided about each event, in compact columns, and the JSON of
-- the recent events only (recent): until the log has surely written them
-- to disk, they are what can repair a log that lost its end.

DROP TABLE events;
CREATE TABLE events (
	seq       INTEGER PRIMARY KEY,
	id        BLOB UNIQUE,          -- the id's 16 bytes; NULL only when the header cannot be read
	type      TEXT NOT NULL,
	member_id BLOB,                 -- 16 bytes; NULL for none
	hlc       INTEGER NOT NULL,     -- Unix ms × 10000 + logical counter; 0 when unknown
	v         INTEGER NOT NULL,
	status    TEXT NOT NULL,        -- applied, unsupported, ignored
	reason    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX events_member ON events (member_id) WHERE member_id IS NOT NULL;
CREATE INDEX events_type ON events (type);

-- The JSON of the events applied lately (at_ms: when, by the hub's
-- clock), pruned once they are older than the log's flush to disk.
CREATE TABLE recent (
	seq   INTEGER PRIMARY KEY,
	at_ms INTEGER NOT NULL,
	raw   BLOB NOT NULL
) STRICT;

-- Reads by member and start go through facts_counting; few facts are
-- corrections.
DROP INDEX IF EXISTS facts_member;
DROP INDEX IF EXISTS facts_supersedes;
CREATE INDEX facts_supersedes ON facts (supersedes) WHERE supersedes IS NOT NULL;

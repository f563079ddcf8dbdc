-- The hub's state: a projection of the JetStream event log. It can always
-- be rebuilt from the log, so a schema change rebuilds rather than migrates
-- data in place when that is simpler.

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

-- Every event in the log, in log order, as received.
CREATE TABLE events (
	seq       INTEGER PRIMARY KEY,
	id        TEXT UNIQUE,          -- NULL only when the header cannot be read
	type      TEXT NOT NULL,
	member_id TEXT,
	hlc       TEXT NOT NULL,
	v         INTEGER NOT NULL,
	status    TEXT NOT NULL,        -- applied, unsupported, ignored
	reason    TEXT NOT NULL DEFAULT '',
	raw       BLOB NOT NULL
) STRICT;
CREATE INDEX events_member ON events (member_id, seq);
CREATE INDEX events_type ON events (type, seq);

CREATE TABLE family (
	id       TEXT PRIMARY KEY,
	name     TEXT NOT NULL,
	home_tz  TEXT NOT NULL,
	hlc      TEXT NOT NULL,
	event_id TEXT NOT NULL
) STRICT;

-- Members and trips are last-writer-wins by (hlc, event_id); a removal
-- keeps the row as a tombstone.
CREATE TABLE members (
	id       TEXT PRIMARY KEY,
	data     TEXT,                  -- the last upsert's payload as JSON
	hlc      TEXT NOT NULL,
	event_id TEXT NOT NULL,
	removed  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE trips (
	id       TEXT PRIMARY KEY,
	data     TEXT,
	hlc      TEXT NOT NULL,
	event_id TEXT NOT NULL,
	removed  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE trip_travellers (
	trip_id   TEXT NOT NULL,
	member_id TEXT NOT NULL,
	PRIMARY KEY (trip_id, member_id)
) STRICT;
CREATE INDEX trip_travellers_member ON trip_travellers (member_id);

CREATE TABLE flight_updates (
	event_id TEXT PRIMARY KEY,
	trip_id  TEXT NOT NULL,
	hlc      TEXT NOT NULL,
	data     TEXT NOT NULL
) STRICT;
CREATE INDEX flight_updates_trip ON flight_updates (trip_id, hlc);

-- Logged sleep, meals and light, as the planner reads them.
CREATE TABLE facts (
	id         TEXT PRIMARY KEY,
	member_id  TEXT NOT NULL,
	type       TEXT NOT NULL,
	kind       TEXT NOT NULL,
	start_ms   INTEGER NOT NULL,
	end_ms     INTEGER,             -- NULL while a sleep is still going on
	lux        REAL NOT NULL DEFAULT 0,
	supersedes TEXT
) STRICT;
CREATE INDEX facts_member ON facts (member_id, start_ms);
CREATE INDEX facts_supersedes ON facts (supersedes);

CREATE TABLE retractions (
	event_id  TEXT PRIMARY KEY,
	member_id TEXT NOT NULL,
	target    TEXT NOT NULL
) STRICT;
CREATE INDEX retractions_target ON retractions (target);

CREATE TABLE plans (
	trip_id     TEXT NOT NULL,
	member_id   TEXT NOT NULL,
	computed_at TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	plan        TEXT,
	error       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (trip_id, member_id)
) STRICT;
CREATE INDEX plans_member ON plans (member_id);

-- The state records what the family fold decided, so that reads are
-- plain lookups: whether each logged fact counts, who made each flight
-- update, and each member's newest advice from the cloud.

ALTER TABLE facts ADD COLUMN hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE facts ADD COLUMN tz TEXT NOT NULL DEFAULT '';
ALTER TABLE facts ADD COLUMN counts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX facts_counting ON facts (member_id, counts, start_ms);

ALTER TABLE flight_updates ADD COLUMN origin TEXT NOT NULL DEFAULT '';

-- A member's newest recommendation.updated.
CREATE TABLE advice (
	member_id TEXT PRIMARY KEY,
	hlc       TEXT NOT NULL,
	event_id  TEXT NOT NULL,
	trip_id   TEXT NOT NULL DEFAULT '',
	based_on  TEXT NOT NULL,
	start_ms  INTEGER NOT NULL,       -- when the cloud computed it
	tz        TEXT NOT NULL,
	data      TEXT NOT NULL
) STRICT;

-- The warehouse: every event as ingested, and the metrics made from them.
-- Instants are TEXT in UTC with nine fractional digits
-- ("2026-11-26T01:11:00.123000000Z"), fixed width so they sort and compare
-- as strings; dates are 'YYYY-MM-DD'; ids are lower-case UUID text, and a
-- nil UUID is stored as NULL.

CREATE TABLE RAW_EVENTS (
	id              TEXT PRIMARY KEY,
	family          TEXT NOT NULL,
	member          TEXT,              -- NULL for family-level events
	type            TEXT NOT NULL,
	start_ts        TEXT NOT NULL,
	end_ts          TEXT,              -- NULL when the event has no end
	tz              TEXT NOT NULL,
	hlc             TEXT NOT NULL,
	payload         TEXT NOT NULL,     -- the envelope as it came, JSON
	topic           TEXT NOT NULL,
	kafka_partition INTEGER NOT NULL,
	kafka_offset    INTEGER NOT NULL,
	ingested_at     TEXT NOT NULL
) STRICT;
-- Events of a family in order; also serves COUNT(DISTINCT family).
CREATE INDEX raw_events_family_hlc ON RAW_EVENTS (family, hlc, id);
-- FamiliesWithFlight reads only the trip.upserted rows.
CREATE INDEX raw_events_type ON RAW_EVENTS (type, family);

CREATE TABLE MEMBER_DAILY_METRICS (
	family             TEXT NOT NULL,
	member             TEXT NOT NULL,
	day                TEXT NOT NULL,
	age_band           TEXT NOT NULL,
	trip               TEXT,           -- NULL when the day is not in a trip
	trip_day           INTEGER NOT NULL,
	sleep_min          INTEGER NOT NULL,
	nap_min            INTEGER NOT NULL,
	habitual_sleep_min INTEGER NOT NULL,
	bright_light_min   INTEGER NOT NULL,
	light_planned      INTEGER NOT NULL,
	light_kept         INTEGER NOT NULL,
	light_missed       INTEGER NOT NULL,
	meals              INTEGER NOT NULL,
	misalignment_h     REAL,
	bed_error_min      INTEGER,
	updated_at         TEXT NOT NULL,
	PRIMARY KEY (member, day)
) STRICT;
-- Daily: one family's days, by member and day.
CREATE INDEX member_daily_family ON MEMBER_DAILY_METRICS (family, member, day);

CREATE TABLE TRIP_OUTCOMES (
	family         TEXT NOT NULL,
	trip           TEXT NOT NULL,
	member         TEXT NOT NULL,
	direction      TEXT NOT NULL,
	zones          REAL NOT NULL,
	age_band       TEXT NOT NULL,
	arrived        TEXT,               -- NULL when not known
	days_to_adapt  INTEGER,
	predicted_days INTEGER,
	updated_at     TEXT NOT NULL,
	PRIMARY KEY (trip, member)
) STRICT;

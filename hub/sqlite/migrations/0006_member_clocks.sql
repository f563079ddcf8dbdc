-- What calibration learned of each member's body clock from their logs
-- (circadian.PersonalClock as JSON). Derived, like plans: a state database
-- rebuilt from the log has none until the hub calibrates again.
CREATE TABLE IF NOT EXISTS member_clocks (
	member_id   TEXT PRIMARY KEY,
	clock       TEXT NOT NULL,
	computed_at TEXT NOT NULL
) STRICT;

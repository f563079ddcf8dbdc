-- Calibration of the body clock: each member-night's sleep-onset errors
-- (on the questionnaire's clock and on the calibrated one), and each
-- member's latest calibrated period, pooled into the hubs' priors.

ALTER TABLE MEMBER_DAILY_METRICS ADD COLUMN onset_error_prior_min INTEGER;    -- NULL when not computable
ALTER TABLE MEMBER_DAILY_METRICS ADD COLUMN onset_error_personal_min INTEGER; -- NULL when not computable

CREATE TABLE MEMBER_CLOCKS (
	family       TEXT NOT NULL,
	member       TEXT PRIMARY KEY,
	age_band     TEXT NOT NULL,
	chronotype   TEXT NOT NULL,
	tau_hours    REAL NOT NULL,
	tau_sd_hours REAL NOT NULL,
	nights       INTEGER NOT NULL,
	through      TEXT NOT NULL,
	updated      TEXT NOT NULL
) STRICT;

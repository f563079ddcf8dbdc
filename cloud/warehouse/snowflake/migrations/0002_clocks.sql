-- Calibration of the body clock: each member-night's sleep-onset errors
-- (on the questionnaire's clock and on the calibrated one; NULL when not
-- computable), and each member's latest calibrated period, pooled into the
-- hubs' priors. Idempotent, as 0001.

ALTER TABLE MEMBER_DAILY_METRICS ADD COLUMN IF NOT EXISTS ONSET_ERROR_PRIOR_MIN NUMBER(10, 0);

ALTER TABLE MEMBER_DAILY_METRICS ADD COLUMN IF NOT EXISTS ONSET_ERROR_PERSONAL_MIN NUMBER(10, 0);

CREATE TABLE IF NOT EXISTS MEMBER_CLOCKS (
	FAMILY       VARCHAR(36) NOT NULL,
	MEMBER       VARCHAR(36) NOT NULL PRIMARY KEY,
	AGE_BAND     VARCHAR NOT NULL,
	CHRONOTYPE   VARCHAR NOT NULL,
	TAU_HOURS    FLOAT NOT NULL,
	TAU_SD_HOURS FLOAT NOT NULL,
	NIGHTS       NUMBER(10, 0) NOT NULL,
	THROUGH      TIMESTAMP_NTZ(9) NOT NULL,
	UPDATED      TIMESTAMP_NTZ(9) NOT NULL
);

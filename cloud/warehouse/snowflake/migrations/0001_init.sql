-- The warehouse: every event as ingested, and the metrics made from them.
-- Instants are TIMESTAMP_NTZ holding UTC; dates are DATE; ids are
-- lower-case UUID text, and a nil UUID is stored as NULL. Keys are declared
-- for readers and tools: Snowflake does not enforce them (MERGE keeps them
-- true), fakesnow's DuckDB does.
--
-- Statements end with a semicolon at the end of a line: Open runs them one
-- at a time, and each is idempotent, so a migration cut short runs again.

CREATE TABLE IF NOT EXISTS RAW_EVENTS (
	ID              VARCHAR(36) NOT NULL PRIMARY KEY,
	FAMILY          VARCHAR(36) NOT NULL,
	MEMBER          VARCHAR(36),           -- NULL for family-level events
	TYPE            VARCHAR NOT NULL,
	START_TS        TIMESTAMP_NTZ(9) NOT NULL,
	END_TS          TIMESTAMP_NTZ(9),      -- NULL when the event has no end
	TZ              VARCHAR NOT NULL,
	HLC             VARCHAR NOT NULL,
	PAYLOAD         VARIANT NOT NULL,      -- the envelope, parsed, for queries
	PAYLOAD_TEXT    VARCHAR NOT NULL,      -- the envelope's bytes as they came
	TOPIC           VARCHAR NOT NULL,
	KAFKA_PARTITION NUMBER(10, 0) NOT NULL,
	KAFKA_OFFSET    NUMBER(19, 0) NOT NULL,
	INGESTED_AT     TIMESTAMP_NTZ(9) NOT NULL
);

CREATE TABLE IF NOT EXISTS MEMBER_DAILY_METRICS (
	FAMILY             VARCHAR(36) NOT NULL,
	MEMBER             VARCHAR(36) NOT NULL,
	DAY                DATE NOT NULL,
	AGE_BAND           VARCHAR NOT NULL,
	TRIP               VARCHAR(36),         -- NULL for none
	TRIP_DAY           NUMBER(10, 0) NOT NULL,
	SLEEP_MIN          NUMBER(10, 0) NOT NULL,
	NAP_MIN            NUMBER(10, 0) NOT NULL,
	HABITUAL_SLEEP_MIN NUMBER(10, 0) NOT NULL,
	BRIGHT_LIGHT_MIN   NUMBER(10, 0) NOT NULL,
	LIGHT_PLANNED      NUMBER(10, 0) NOT NULL,
	LIGHT_KEPT         NUMBER(10, 0) NOT NULL,
	LIGHT_MISSED       NUMBER(10, 0) NOT NULL,
	MEALS              NUMBER(10, 0) NOT NULL,
	MISALIGNMENT       FLOAT,               -- hours; NULL when none
	BED_ERROR_MIN      NUMBER(10, 0),       -- NULL when none
	UPDATED_AT         TIMESTAMP_NTZ(9) NOT NULL,
	PRIMARY KEY (MEMBER, DAY)
);

CREATE TABLE IF NOT EXISTS TRIP_OUTCOMES (
	FAMILY         VARCHAR(36) NOT NULL,
	TRIP           VARCHAR(36) NOT NULL,
	MEMBER         VARCHAR(36) NOT NULL,
	DIRECTION      VARCHAR NOT NULL,
	ZONES          FLOAT NOT NULL,
	AGE_BAND       VARCHAR NOT NULL,
	ARRIVED        DATE,                    -- NULL when unknown
	DAYS_TO_ADAPT  NUMBER(10, 0),           -- NULL while not adapted
	PREDICTED_DAYS NUMBER(10, 0),           -- NULL when the plan had none
	UPDATED_AT     TIMESTAMP_NTZ(9) NOT NULL,
	PRIMARY KEY (TRIP, MEMBER)
);

-- Least privilege, part 2: table grants, masking of personal fields,
-- pseudonymous views for analysts, Time Travel.
--
-- Run by `zoner-cloud migrate -admin` as ZONER_ADMIN after the schema's
-- migrations (migrations/), in the warehouse's schema, so the tables
-- exist. Idempotent, as 0001; statements end with a semicolon at the end
-- of a line.
--
-- Personal fields (docs/events.md) and where they land:
--   member.upserted  data.display_name, data.birth_date
--   family.upserted  data.name (a household's name)
--   trip.upserted    data.name (free text)
--   every event      origin (a device's name, often a person's: web:ada-phone)
-- They are stored in RAW_EVENTS only, in PAYLOAD (VARIANT) and
-- PAYLOAD_TEXT (the bytes as they came); the metrics tables hold an age
-- band, never a birth date or a name. Ids (FAMILY, MEMBER, TRIP) are
-- pseudonymised for analysts by the views below.
--
-- Who sees what of a payload (the masking policies):
--   ZONER_ADMIN        everything
--   ZONER_API          everything: it serves a family's own devices, which
--                      show names and ages
--   ZONER_RECOMMENDER  everything: the advice it writes for the family's
--                      devices names the member and the trip, its push
--                      reminders name the member, and the plan needs ages
--   ZONER_INGEST       names and origin replaced by "redacted", a trip's
--                      name removed; the birth date kept (age bands)
--   every other role   as ingest, and no birth date either

-- The pseudonymisation key: 256 bits from two random UUIDs, made once.
-- Only ZONER_ADMIN (the owner) may read it; the analyst views, owned by
-- ZONER_ADMIN, use it on the analysts' behalf.
CREATE TABLE IF NOT EXISTS PSEUDONYM_KEY (
	SECRET  VARCHAR NOT NULL,
	CREATED TIMESTAMP_NTZ(9) NOT NULL
);

INSERT INTO PSEUDONYM_KEY (SECRET, CREATED)
	SELECT SHA2(UUID_STRING() || UUID_STRING(), 256), SYSDATE()
	WHERE NOT EXISTS (SELECT 1 FROM PSEUDONYM_KEY);

-- An event's payload without its personal fields: names and the device
-- replaced by the word "redacted" (the fields stay valid, so ingest still
-- decodes the event), a trip's optional name
-- removed, and the birth date removed unless KEEP_BIRTH_DATE. NULL for
-- anything that is not an object.
CREATE OR REPLACE FUNCTION ZONER_REDACT_EVENT(E VARIANT, KEEP_BIRTH_DATE BOOLEAN)
RETURNS VARIANT
COMMENT = 'an event payload without display names, household and trip names, device names and (unless kept) birth dates'
AS
$$
CASE
	WHEN NOT IS_OBJECT(E) OR NOT IS_OBJECT(E:data) THEN NULL
	ELSE OBJECT_INSERT(
		OBJECT_INSERT(E::OBJECT, 'origin', 'redacted'::VARIANT, TRUE),
		'data',
		CASE E:type::VARCHAR
			WHEN 'member.upserted' THEN
				IFF(KEEP_BIRTH_DATE,
					OBJECT_INSERT(E:data::OBJECT, 'display_name', 'redacted'::VARIANT, TRUE),
					OBJECT_DELETE(OBJECT_INSERT(E:data::OBJECT, 'display_name', 'redacted'::VARIANT, TRUE), 'birth_date'))
			WHEN 'family.upserted' THEN OBJECT_INSERT(E:data::OBJECT, 'name', 'redacted'::VARIANT, TRUE)
			WHEN 'trip.upserted' THEN OBJECT_DELETE(E:data::OBJECT, 'name')
			ELSE E:data::OBJECT
		END::VARIANT,
		TRUE)::VARIANT
END
$$;

-- The masking policies are made masking everything, then given their
-- body: a policy attached to a column cannot be replaced, only altered,
-- and a failed ALTER leaves it closed rather than open.
CREATE MASKING POLICY IF NOT EXISTS ZONER_EVENT_PAYLOAD_MASK AS (VAL VARIANT) RETURNS VARIANT -> NULL::VARIANT
COMMENT = 'RAW_EVENTS.PAYLOAD without personal fields for the roles that do not need them';

ALTER MASKING POLICY ZONER_EVENT_PAYLOAD_MASK SET BODY ->
	CASE
		WHEN IS_ROLE_IN_SESSION('ZONER_ADMIN') OR IS_ROLE_IN_SESSION('ZONER_API') OR IS_ROLE_IN_SESSION('ZONER_RECOMMENDER') THEN VAL
		WHEN IS_ROLE_IN_SESSION('ZONER_INGEST') THEN ZONER_REDACT_EVENT(VAL, TRUE)
		ELSE ZONER_REDACT_EVENT(VAL, FALSE)
	END;

CREATE MASKING POLICY IF NOT EXISTS ZONER_EVENT_TEXT_MASK AS (VAL VARCHAR) RETURNS VARCHAR -> NULL::VARCHAR
COMMENT = 'RAW_EVENTS.PAYLOAD_TEXT without personal fields for the roles that do not need them';

ALTER MASKING POLICY ZONER_EVENT_TEXT_MASK SET BODY ->
	CASE
		WHEN IS_ROLE_IN_SESSION('ZONER_ADMIN') OR IS_ROLE_IN_SESSION('ZONER_API') OR IS_ROLE_IN_SESSION('ZONER_RECOMMENDER') THEN VAL
		WHEN IS_ROLE_IN_SESSION('ZONER_INGEST') THEN TO_JSON(ZONER_REDACT_EVENT(TRY_PARSE_JSON(VAL), TRUE))
		ELSE TO_JSON(ZONER_REDACT_EVENT(TRY_PARSE_JSON(VAL), FALSE))
	END;

-- FORCE replaces whatever policy the column had, so this runs again.
ALTER TABLE RAW_EVENTS MODIFY COLUMN PAYLOAD SET MASKING POLICY ZONER_EVENT_PAYLOAD_MASK FORCE;

ALTER TABLE RAW_EVENTS MODIFY COLUMN PAYLOAD_TEXT SET MASKING POLICY ZONER_EVENT_TEXT_MASK FORCE;

-- The analysts' views: the metrics with a keyed hash (SHA-256 of the key
-- and the id) in place of each member and trip id, no family id, age
-- bands only. SECURE: an analyst sees neither their text nor, through
-- the optimiser, the rows they leave out. COPY GRANTS keeps the SELECT
-- grants when a view is made again.
CREATE OR REPLACE SECURE VIEW ANALYST_DAILY_METRICS COPY GRANTS
COMMENT = 'MEMBER_DAILY_METRICS, pseudonymous: no family, member and trip as keyed hashes'
AS
SELECT
	SHA2(K.SECRET || '|' || M.MEMBER, 256) AS MEMBER_PSEUDONYM,
	IFF(M.TRIP IS NULL, NULL, SHA2(K.SECRET || '|' || M.TRIP, 256)) AS TRIP_PSEUDONYM,
	M.DAY, M.AGE_BAND, M.TRIP_DAY, M.SLEEP_MIN, M.NAP_MIN, M.HABITUAL_SLEEP_MIN,
	M.BRIGHT_LIGHT_MIN, M.LIGHT_PLANNED, M.LIGHT_KEPT, M.LIGHT_MISSED, M.MEALS,
	M.MISALIGNMENT, M.BED_ERROR_MIN, M.ONSET_ERROR_PRIOR_MIN, M.ONSET_ERROR_PERSONAL_MIN
FROM MEMBER_DAILY_METRICS M CROSS JOIN PSEUDONYM_KEY K;

CREATE OR REPLACE SECURE VIEW ANALYST_TRIP_OUTCOMES COPY GRANTS
COMMENT = 'TRIP_OUTCOMES, pseudonymous: no family, member and trip as keyed hashes'
AS
SELECT
	SHA2(K.SECRET || '|' || O.TRIP, 256) AS TRIP_PSEUDONYM,
	SHA2(K.SECRET || '|' || O.MEMBER, 256) AS MEMBER_PSEUDONYM,
	O.DIRECTION, O.ZONES, O.AGE_BAND, O.ARRIVED, O.DAYS_TO_ADAPT, O.PREDICTED_DAYS
FROM TRIP_OUTCOMES O CROSS JOIN PSEUDONYM_KEY K;

CREATE OR REPLACE SECURE VIEW ANALYST_MEMBER_CLOCKS COPY GRANTS
COMMENT = 'MEMBER_CLOCKS, pseudonymous: no family, member as a keyed hash'
AS
SELECT
	SHA2(K.SECRET || '|' || C.MEMBER, 256) AS MEMBER_PSEUDONYM,
	C.AGE_BAND, C.CHRONOTYPE, C.TAU_HOURS, C.TAU_SD_HOURS, C.NIGHTS
FROM MEMBER_CLOCKS C CROSS JOIN PSEUDONYM_KEY K;

-- Every service checks the schema's version when it opens the warehouse.
GRANT SELECT ON TABLE SCHEMA_MIGRATIONS TO ROLE ZONER_INGEST;

GRANT SELECT ON TABLE SCHEMA_MIGRATIONS TO ROLE ZONER_RECOMMENDER;

GRANT SELECT ON TABLE SCHEMA_MIGRATIONS TO ROLE ZONER_API;

-- Ingest MERGEs each batch of events (insert when new; the MERGE reads the
-- table's ids) and reads the affected families' events back to fold them.
GRANT SELECT, INSERT ON TABLE RAW_EVENTS TO ROLE ZONER_INGEST;

-- Ingest MERGEs the metrics it recomputes: update or insert, never delete.
GRANT SELECT, INSERT, UPDATE ON TABLE MEMBER_DAILY_METRICS TO ROLE ZONER_INGEST;

GRANT SELECT, INSERT, UPDATE ON TABLE TRIP_OUTCOMES TO ROLE ZONER_INGEST;

GRANT SELECT, INSERT, UPDATE ON TABLE MEMBER_CLOCKS TO ROLE ZONER_INGEST;

-- The recommender folds each family's history to plan: the events,
-- nothing else.
GRANT SELECT ON TABLE RAW_EVENTS TO ROLE ZONER_RECOMMENDER;

-- The API folds a family's events for its own devices (state, today, log,
-- the intake's checks), finds the families with a flight, and counts
-- events for the analytics.
GRANT SELECT ON TABLE RAW_EVENTS TO ROLE ZONER_API;

-- The API's family summary and analytics read the daily metrics.
GRANT SELECT ON TABLE MEMBER_DAILY_METRICS TO ROLE ZONER_API;

-- The API's analytics read the trips' outcomes (days to adapt).
GRANT SELECT ON TABLE TRIP_OUTCOMES TO ROLE ZONER_API;

-- The API answers the hubs' priors and the calibration analytics.
GRANT SELECT ON TABLE MEMBER_CLOCKS TO ROLE ZONER_API;

-- Analysts read the pseudonymous views and no table.
GRANT SELECT ON VIEW ANALYST_DAILY_METRICS TO ROLE ZONER_ANALYST;

GRANT SELECT ON VIEW ANALYST_TRIP_OUTCOMES TO ROLE ZONER_ANALYST;

GRANT SELECT ON VIEW ANALYST_MEMBER_CLOCKS TO ROLE ZONER_ANALYST;

-- Time Travel, said per table: one day (as the schema's default in 0001).
ALTER TABLE RAW_EVENTS SET DATA_RETENTION_TIME_IN_DAYS = 1;

ALTER TABLE MEMBER_DAILY_METRICS SET DATA_RETENTION_TIME_IN_DAYS = 1;

ALTER TABLE TRIP_OUTCOMES SET DATA_RETENTION_TIME_IN_DAYS = 1;

ALTER TABLE MEMBER_CLOCKS SET DATA_RETENTION_TIME_IN_DAYS = 1;

ALTER TABLE PSEUDONYM_KEY SET DATA_RETENTION_TIME_IN_DAYS = 1;

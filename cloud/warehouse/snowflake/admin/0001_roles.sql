-- Least privilege, part 1: the roles, the service users, the database, the
-- schema and the virtual warehouse, and what each role may use of them.
--
-- Run by `zoner-cloud migrate -admin` as ZONER_ADMIN, before the schema's
-- migrations; then 0002_privacy.sql runs. {{DATABASE}}, {{SCHEMA}} and
-- {{WAREHOUSE}} are the -snowflake-database, -snowflake-schema and
-- -snowflake-warehouse identifiers. ZONER_ADMIN itself is made once by an
-- account administrator (docs/privacy.md, "Setting up the roles"), with
-- CREATE ROLE, CREATE USER, CREATE DATABASE and CREATE WAREHOUSE on the
-- account: it then owns every object below, and so holds every privilege
-- on them without a GRANT.
--
-- Every statement is idempotent: the file runs whole at every
-- `migrate -admin`. Statements end with a semicolon at the end of a line.
--
-- The roles:
--   ZONER_INGEST       zoner-cloud ingest: writes the events and the metrics
--   ZONER_RECOMMENDER  zoner-cloud recommender: reads the events
--   ZONER_API          zoner-cloud api: serves families their own data
--   ZONER_ANALYST      people: the analyst views only (0002)
--   ZONER_ADMIN        owner of everything, the only role with the
--                      pseudonymisation key (0002)

CREATE ROLE IF NOT EXISTS ZONER_INGEST COMMENT = 'zoner-cloud ingest: Kafka into the warehouse';

CREATE ROLE IF NOT EXISTS ZONER_RECOMMENDER COMMENT = 'zoner-cloud recommender: reads families'' events';

CREATE ROLE IF NOT EXISTS ZONER_API COMMENT = 'zoner-cloud api: families'' own data, aggregates, priors';

CREATE ROLE IF NOT EXISTS ZONER_ANALYST COMMENT = 'people: pseudonymous analyst views only';

-- One virtual warehouse, small and quick to suspend: the services' queries
-- are short merges and reads.
CREATE WAREHOUSE IF NOT EXISTS {{WAREHOUSE}} WAREHOUSE_SIZE = 'XSMALL' AUTO_SUSPEND = 60 AUTO_RESUME = TRUE INITIALLY_SUSPENDED = TRUE;

CREATE DATABASE IF NOT EXISTS {{DATABASE}};

CREATE SCHEMA IF NOT EXISTS {{DATABASE}}.{{SCHEMA}};

-- Time Travel: one day on every table of the schema (the tables say it
-- again in 0002). Erased data is gone from queries and clones a day later,
-- then Snowflake's Fail-safe keeps it 7 more days, readable by Snowflake
-- support only (docs/privacy.md).
ALTER SCHEMA {{DATABASE}}.{{SCHEMA}} SET DATA_RETENTION_TIME_IN_DAYS = 1;

-- One service user a service, key-pair authentication only (TYPE =
-- SERVICE: no password, no browser login). The public key is set by the
-- administrator: ALTER USER … SET RSA_PUBLIC_KEY (deploy/k8s/README.md).
CREATE USER IF NOT EXISTS ZONER_INGEST_SVC TYPE = SERVICE DEFAULT_ROLE = ZONER_INGEST DEFAULT_WAREHOUSE = {{WAREHOUSE}} DEFAULT_NAMESPACE = {{DATABASE}}.{{SCHEMA}} COMMENT = 'zoner-cloud ingest';

CREATE USER IF NOT EXISTS ZONER_RECOMMENDER_SVC TYPE = SERVICE DEFAULT_ROLE = ZONER_RECOMMENDER DEFAULT_WAREHOUSE = {{WAREHOUSE}} DEFAULT_NAMESPACE = {{DATABASE}}.{{SCHEMA}} COMMENT = 'zoner-cloud recommender';

CREATE USER IF NOT EXISTS ZONER_API_SVC TYPE = SERVICE DEFAULT_ROLE = ZONER_API DEFAULT_WAREHOUSE = {{WAREHOUSE}} DEFAULT_NAMESPACE = {{DATABASE}}.{{SCHEMA}} COMMENT = 'zoner-cloud api';

-- Each service user has its own role and no other.
GRANT ROLE ZONER_INGEST TO USER ZONER_INGEST_SVC;

GRANT ROLE ZONER_RECOMMENDER TO USER ZONER_RECOMMENDER_SVC;

GRANT ROLE ZONER_API TO USER ZONER_API_SVC;

-- Every role runs its queries on the warehouse and names the database and
-- schema: USAGE, nothing more (no MODIFY, no OPERATE, no MONITOR).
GRANT USAGE ON WAREHOUSE {{WAREHOUSE}} TO ROLE ZONER_INGEST;

GRANT USAGE ON WAREHOUSE {{WAREHOUSE}} TO ROLE ZONER_RECOMMENDER;

GRANT USAGE ON WAREHOUSE {{WAREHOUSE}} TO ROLE ZONER_API;

GRANT USAGE ON WAREHOUSE {{WAREHOUSE}} TO ROLE ZONER_ANALYST;

GRANT USAGE ON DATABASE {{DATABASE}} TO ROLE ZONER_INGEST;

GRANT USAGE ON DATABASE {{DATABASE}} TO ROLE ZONER_RECOMMENDER;

GRANT USAGE ON DATABASE {{DATABASE}} TO ROLE ZONER_API;

GRANT USAGE ON DATABASE {{DATABASE}} TO ROLE ZONER_ANALYST;

GRANT USAGE ON SCHEMA {{DATABASE}}.{{SCHEMA}} TO ROLE ZONER_INGEST;

GRANT USAGE ON SCHEMA {{DATABASE}}.{{SCHEMA}} TO ROLE ZONER_RECOMMENDER;

GRANT USAGE ON SCHEMA {{DATABASE}}.{{SCHEMA}} TO ROLE ZONER_API;

GRANT USAGE ON SCHEMA {{DATABASE}}.{{SCHEMA}} TO ROLE ZONER_ANALYST;

-- Ingest stages each batch in a session's TEMPORARY table before its
-- MERGE: Snowflake asks CREATE TABLE on the schema for a temporary table.
-- (It would let ingest make a permanent table too; such a table would be
-- ingest's own and hold nothing of the others'.)
GRANT CREATE TABLE ON SCHEMA {{DATABASE}}.{{SCHEMA}} TO ROLE ZONER_INGEST;

-- gosnowflake uploads an array binding of more than 65,280 values through
-- a temporary stage of the session (a staging INSERT binds up to 16,384
-- rows, so a large batch of metrics does).
GRANT CREATE STAGE ON SCHEMA {{DATABASE}}.{{SCHEMA}} TO ROLE ZONER_INGEST;

-- The application's own database, next to Temporal's `temporal` and `temporal_visibility` (those two are
-- created by temporal-sql-tool in the temporal-admin-tools job).
--
-- Mounted into /docker-entrypoint-initdb.d/: the postgres image runs it with psql as POSTGRES_USER, and only
-- when the data volume is initialised for the first time. On an older volume, create the database by hand
-- (same statement). The schema itself comes from `networkcore setup` (alembic migrations).
SELECT 'CREATE DATABASE networkcore'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'networkcore')\gexec

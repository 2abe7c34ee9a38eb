-- The server's own database role for PostgreSQL: it reads and writes the data but owns no
-- table, so it can neither drop the triggers that keep the audit log and the access log
-- append-only nor rewrite, delete or truncate those logs, nor rewrite a session note.
--
-- Run as the owner of the database (the role that runs `bodywork migrate`), once after the
-- first migration and again after each upgrade's migration (the GRANT ... ON ALL TABLES lines
-- cover tables that migrations add; the REVOKE lines must follow them):
--
--   psql -v app=bodywork_app -d bodywork -f deploy/postgres-roles.sql
--
-- `app` is the server's role, made beforehand by a superuser: CREATE ROLE bodywork_app LOGIN;
GRANT USAGE ON SCHEMA public TO :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
-- Evidence: written once, never changed or removed.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, screening_access_log FROM :"app";
-- Session notes are append-only too; a client's erasure deletes theirs, so DELETE stays.
REVOKE UPDATE, TRUNCATE ON session_notes FROM :"app";
-- The migrations' bookkeeping is the owner's.
REVOKE INSERT, UPDATE, DELETE ON __diesel_schema_migrations FROM :"app";

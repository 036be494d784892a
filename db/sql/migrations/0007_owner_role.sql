-- 0007_owner_role: one NOLOGIN role owns every Huntsman table, view, sequence, type and function.
--
-- Why: a SECURITY DEFINER function, and a view, runs with the rights of its owner. Until now the
-- owner was whoever ran the migrations: in the embedded server, in the Compose stack and in most
-- installs that is a superuser, so every crossing function (plan_call, start_call, the CDR and
-- billing writers, ...) ran as a superuser. Now they run as huntsman_owner: NOLOGIN, not a
-- superuser, no CREATEROLE/CREATEDB/BYPASSRLS, and no rights outside the Huntsman schemas beyond
-- what PUBLIC has. A flaw in one of those functions can then reach Huntsman's own data and
-- nothing else on the server (no pg_authid, no COPY TO PROGRAM, no other database).
--
-- The schemas themselves stay the migrating role's: the owner role gets USAGE on them, and
-- CREATE only while the runner hands objects over (so it can create nothing itself). The
-- hand-over is not done here but by the migration runner after every run (huntsman/migrations.py,
-- _ADOPT), because routines re-applied later may create new functions, which the migrating role
-- then owns until they are handed over in the same transaction.
-- DBAs who want to act as the owner: SET ROLE huntsman_owner (the migrating role is a member).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'huntsman_owner') THEN
        BEGIN
            CREATE ROLE huntsman_owner NOLOGIN;
            -- only its creator may comment on it (a role is cluster-wide: another database's
            -- migration, or a DBA, may have created it already)
            COMMENT ON ROLE huntsman_owner IS
                'Owns every Huntsman object (NOLOGIN, not a superuser): SECURITY DEFINER functions and views run with its rights.';
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a migration of another database
        END;
    END IF;
END
$$;


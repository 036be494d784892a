-- routing.plan_refresh(p_compiler text DEFAULT NULL) -> integer
--
-- Contract: compiles every domain whose compiled plans are missing, stale (edited in this
-- transaction), failed, or made by another compiler version than p_compiler (when given, it
-- becomes the current version in routing.plan_compiler). `huntsman db migrate` calls it with the
-- checksum of db/sql/routines after re-applying them, so a changed compiler recompiles
-- everything; tests and DBAs call it without argument to compile pending edits now instead of
-- at commit. Returns the number of domains compiled.
CREATE OR REPLACE FUNCTION routing.plan_refresh(p_compiler text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = routing, pg_temp
AS $$
DECLARE
    v_version text;
    v_id      bigint;
    v_count   integer := 0;
BEGIN
    IF p_compiler IS NOT NULL THEN
        UPDATE routing.plan_compiler SET version = p_compiler WHERE version IS DISTINCT FROM p_compiler;
    END IF;
    v_version := (SELECT c.version FROM routing.plan_compiler c);
    FOR v_id IN
        SELECT d.id FROM cfg.domain d
          LEFT JOIN routing.plan_domain p ON p.domain_id = d.id
         WHERE p.domain_id IS NULL OR p.state <> 'fresh' OR p.compiler IS DISTINCT FROM v_version
         ORDER BY d.id
    LOOP
        PERFORM routing.plan_compile(v_id);
        v_count := v_count + 1;
    END LOOP;
    RETURN v_count;
END
$$;

REVOKE ALL ON FUNCTION routing.plan_refresh(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing.plan_refresh(text) TO huntsman_console;
COMMENT ON FUNCTION routing.plan_refresh(text) IS
    'Compile every domain whose compiled plans are missing, stale, failed or from another compiler version; returns how many.';

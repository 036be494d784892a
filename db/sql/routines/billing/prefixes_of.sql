-- billing.prefixes_of(p_number text) -> text[]
--
-- Every leading substring of p_number, longest first, then '' (the "any" prefix): the candidate
-- keys of a longest-prefix match (`prefix = ANY(...) ORDER BY length(prefix) DESC LIMIT 1`, one
-- index probe per candidate). NULL or '' gives ARRAY['']. PL/pgSQL on purpose: a plain loop of
-- simple expressions costs a few microseconds, where a SQL-language body is planned per call.
-- Internal helper: not SECURITY DEFINER, EXECUTE granted to nobody; it runs inside the billing
-- entry points (SECURITY DEFINER, search_path pinned), whose path it inherits (every name in it
-- is schema-qualified); no SET clause, which costs a path switch per call on the CDR hot path.
CREATE OR REPLACE FUNCTION billing.prefixes_of(p_number text)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    v_prefixes text[] := ARRAY[]::text[];
    v_length   integer;
BEGIN
    FOR v_length IN REVERSE coalesce(length(p_number), 0)..1 LOOP
        v_prefixes := v_prefixes || left(p_number, v_length);
    END LOOP;
    RETURN v_prefixes || ''::text;
END
$$;

REVOKE ALL ON FUNCTION billing.prefixes_of(text) FROM PUBLIC;
COMMENT ON FUNCTION billing.prefixes_of(text) IS
    'Leading substrings of a number, longest first, then '''': the keys of a longest-prefix match.';

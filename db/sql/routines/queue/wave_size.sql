-- queue.wave_size(p_idle, p_fraction, p_min, p_max) -> integer
--
-- Contract: how many agents one wave rings when p_idle agents are idle:
--   0 when nobody is idle; otherwise ceil(p_idle * p_fraction) bounded by p_min..p_max,
--   never more than the idle agents and never more than 128 (FreeSWITCH MAX_PEERS per bridge).
-- Pure (IMMUTABLE); next_wave uses it, and tests drive it with a table.
CREATE OR REPLACE FUNCTION queue.wave_size(
    p_idle integer,
    p_fraction numeric,
    p_min integer,
    p_max integer
) RETURNS integer
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = queue, pg_temp
AS $$
    SELECT CASE
        WHEN coalesce(p_idle, 0) <= 0 THEN 0
        ELSE least(
            p_idle,
            128,
            greatest(greatest(p_min, 1), least(p_max, ceil(p_idle * p_fraction)::integer)))
    END
$$;

COMMENT ON FUNCTION queue.wave_size(integer, numeric, integer, integer) IS
    'Agents in one wave: ceil(idle * fraction) bounded by min..max, never above idle or 128; 0 when none idle.';
REVOKE ALL ON FUNCTION queue.wave_size(integer, numeric, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.wave_size(integer, numeric, integer, integer)
    TO huntsman_controller, huntsman_console, huntsman_report;

-- cfg.check_overflow_cycle(p_domain_id bigint, p_group_id bigint) -> void
--
-- Contract: follows the overflow links starting at hunt group p_group_id (overflow_kind 'group',
-- or 'number' when that number belongs to the domain and targets a group) and raises SQLSTATE
-- HM002 when they lead back to p_group_id, naming the cycle:
--   overflow cycle: group 'Sales' -> group 'Support' -> group 'Sales'
-- (a hop through a number reads: group 'Sales' -> number +4930123 -> group 'Support').
-- A transaction-level advisory lock per domain serialises concurrent checks, so two sessions
-- cannot each save one half of a cycle. Called by the constraint triggers on cfg.hunt_group and
-- cfg.number; the console may call it before saving.
CREATE OR REPLACE FUNCTION cfg.check_overflow_cycle(p_domain_id bigint, p_group_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_current bigint := p_group_id;
    v_next    bigint;
    v_kind    cfg.overflow_kind;
    v_number  text;
    v_name    text;
    v_path    text;
    v_seen    bigint[] := ARRAY[p_group_id];
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(1213484333, (p_domain_id % 2147483647)::integer);
    SELECT g.name INTO v_name FROM cfg.hunt_group g WHERE g.id = p_group_id;
    v_path := format('group %L', v_name);
    LOOP
        SELECT g.overflow_kind, g.overflow_group_id, g.overflow_number
          INTO v_kind, v_next, v_number
          FROM cfg.hunt_group g
         WHERE g.id = v_current;
        IF v_kind = 'number' THEN
            SELECT n.target_group_id INTO v_next
              FROM cfg.number n
             WHERE n.e164 = v_number AND n.domain_id = p_domain_id AND n.target_kind = 'group';
            IF NOT FOUND THEN
                RETURN;
            END IF;
            v_path := v_path || format(' -> number %s', v_number);
        ELSIF v_kind IS DISTINCT FROM 'group' THEN
            RETURN;
        END IF;
        SELECT g.name INTO v_name FROM cfg.hunt_group g WHERE g.id = v_next;
        v_path := v_path || format(' -> group %L', v_name);
        IF v_next = p_group_id THEN
            RAISE EXCEPTION USING
                MESSAGE = 'overflow cycle: ' || v_path,
                ERRCODE = 'HM002',
                SCHEMA = 'cfg',
                TABLE = 'hunt_group',
                COLUMN = 'overflow_group_id',
                CONSTRAINT = 'hunt_group_overflow_acyclic',
                HINT = 'Point one of these groups'' overflow somewhere else (voicemail, hangup or another group).';
        END IF;
        IF v_next = ANY (v_seen) THEN
            RETURN;  -- a loop not through p_group_id: it was refused when it was saved
        END IF;
        v_seen := v_seen || v_next;
        v_current := v_next;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION cfg.check_overflow_cycle(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cfg.check_overflow_cycle(bigint, bigint) TO huntsman_console;
COMMENT ON FUNCTION cfg.check_overflow_cycle(bigint, bigint) IS
    'Raise HM002 naming the cycle when the overflow links starting at the group lead back to it.';

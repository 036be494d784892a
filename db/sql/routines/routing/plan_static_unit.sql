-- routing.plan_static_unit(p_domain_id bigint, p_step jsonb) -> bigint
--
-- Contract (internal to routing.plan_compile): the id of the domain's compiled unit for the fixed
-- step p_step (voicemail, hangup, transfer to the fallback, a queue, a bridge to an external
-- number), created on first use; one unit per distinct step.
CREATE OR REPLACE FUNCTION routing.plan_static_unit(p_domain_id bigint, p_step jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = routing, pg_temp
AS $$
DECLARE
    v_key text := 's:' || md5(p_step::text);
    v_id  bigint;
BEGIN
    SELECT u.id INTO v_id FROM routing.plan_unit u WHERE u.domain_id = p_domain_id AND u.key = v_key;
    IF v_id IS NULL THEN
        INSERT INTO routing.plan_unit (domain_id, key, static_step) VALUES (p_domain_id, v_key, p_step::text)
        RETURNING id INTO v_id;
    END IF;
    RETURN v_id;
END
$$;

REVOKE ALL ON FUNCTION routing.plan_static_unit(bigint, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION routing.plan_static_unit(bigint, jsonb) IS
    'Internal to routing.plan_compile: the compiled unit of a fixed step (created on first use).';

-- routing.gateway_step(p_label text, p_gateway text, p_number text, p_timeout integer) -> jsonb
--
-- Contract: the plan step (docs/contracts.md section 3) that rings one E.164 number through a
-- domain's outbound gateway: {"type":"bridge", "group_id":null, "label":p_label,
-- "strategy":"simultaneous", "timeout":p_timeout, "variables":{}, "legs":[{"target":
-- "sofia/gateway/<p_gateway>/<p_number>", "delay":0, "timeout":p_timeout, "member_id":null,
-- "device_id":null, "label":p_number, "variables":{}}]}. Used for outbound calls and for the
-- overflow to an external number, by routing.build_plan and by the compiled plans alike.
CREATE OR REPLACE FUNCTION routing.gateway_step(p_label text, p_gateway text, p_number text, p_timeout integer)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object(
        'type', 'bridge', 'group_id', NULL, 'label', p_label, 'strategy', 'simultaneous',
        'timeout', p_timeout, 'variables', '{}'::jsonb,
        'legs', jsonb_build_array(jsonb_build_object(
            'target', 'sofia/gateway/' || p_gateway || '/' || p_number,
            'delay', 0, 'timeout', p_timeout, 'member_id', NULL, 'device_id', NULL,
            'label', p_number, 'variables', '{}'::jsonb)));
$$;

REVOKE ALL ON FUNCTION routing.gateway_step(text, text, text, integer) FROM PUBLIC;
COMMENT ON FUNCTION routing.gateway_step(text, text, text, integer) IS
    'The plan step ringing one number through the domain gateway (outbound calls, overflow to an external number).';

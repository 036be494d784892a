-- routing.leg_json(p_target text, p_delay integer, p_timeout integer, p_member_id bigint,
--                  p_device_id bigint, p_label text, p_alert_mode cfg.alert_mode) -> jsonb
--
-- Contract: one leg of a plan's bridge step (docs/contracts.md section 3): {"target", "delay",
-- "timeout", "member_id", "device_id", "label", "variables"}; variables carry
-- huntsman_alert_mode = visual for a visual-only device, else {}. Used by
-- routing.plan_target_step and by the compiled plans (routing.plan_compile_units) alike.
CREATE OR REPLACE FUNCTION routing.leg_json(
    p_target text,
    p_delay integer,
    p_timeout integer,
    p_member_id bigint,
    p_device_id bigint,
    p_label text,
    p_alert_mode cfg.alert_mode
) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_build_object(
        'target', p_target, 'delay', p_delay, 'timeout', p_timeout,
        'member_id', p_member_id, 'device_id', p_device_id, 'label', p_label,
        'variables', CASE WHEN p_alert_mode = 'visual' THEN '{"huntsman_alert_mode": "visual"}'::jsonb
                          ELSE '{}'::jsonb END);
$$;

REVOKE ALL ON FUNCTION routing.leg_json(text, integer, integer, bigint, bigint, text, cfg.alert_mode) FROM PUBLIC;
COMMENT ON FUNCTION routing.leg_json(text, integer, integer, bigint, bigint, text, cfg.alert_mode) IS
    'One leg of a bridge step in a plan (target, delay, timeout, member, device, label, variables).';

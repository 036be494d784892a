-- queue.feature_code(p_domain, p_user, p_code, p_now) -> jsonb
--
-- Contract: an agent dialled a queue feature code from its phone.
--   *71 log in, *72 log out, *73 break on/off (toggle).
-- The phone is the device of domain p_domain whose endpoint is user/<p_user>@<p_domain> or
-- whose extension is p_user; the agent is that device's agent, else its user's agent.
-- Returns {"ok": true, "code", "action": "login|logout|break|unbreak", "agent_id", "state",
--          "changed"} or {"ok": false, "code", "reason": "unknown_code|unknown_device|not_an_agent"}.
-- The controller plays a confirmation (ok) or an error tone, then hangs up.
CREATE OR REPLACE FUNCTION queue.feature_code(
    p_domain text,
    p_user text,
    p_code text,
    p_now timestamptz
) RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = queue, pg_temp
AS $$
DECLARE
    v_device  record;
    v_agent   record;
    v_action  text;
    v_result  jsonb;
BEGIN
    IF p_code NOT IN ('*71', '*72', '*73') OR p_code IS NULL THEN
        RETURN jsonb_build_object('ok', false, 'code', p_code, 'reason', 'unknown_code');
    END IF;
    SELECT d.id, d.user_id INTO v_device
      FROM cfg.device d JOIN cfg.domain dm ON dm.id = d.domain_id
     WHERE dm.name = lower(p_domain)
       AND (d.endpoint = 'user/' || p_user || '@' || dm.name OR d.extension = p_user)
     ORDER BY (d.endpoint = 'user/' || p_user || '@' || dm.name) DESC, d.id
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('ok', false, 'code', p_code, 'reason', 'unknown_device');
    END IF;
    SELECT a.id, a.state INTO v_agent
      FROM queue.agent a
     WHERE a.device_id = v_device.id OR (v_device.user_id IS NOT NULL AND a.user_id = v_device.user_id)
     ORDER BY (a.device_id = v_device.id) DESC NULLS LAST, a.id
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('ok', false, 'code', p_code, 'reason', 'not_an_agent');
    END IF;

    IF p_code = '*71' THEN
        v_action := 'login';
        v_result := queue.login_agent(v_agent.id, p_now);
    ELSIF p_code = '*72' THEN
        v_action := 'logout';
        v_result := queue.logout_agent(v_agent.id, p_now);
    ELSIF v_agent.state = 'on_break' THEN
        v_action := 'unbreak';
        v_result := queue.set_break(v_agent.id, false, NULL, p_now);
    ELSE
        v_action := 'break';
        v_result := queue.set_break(v_agent.id, true, 'feature code', p_now);
    END IF;
    RETURN jsonb_build_object('ok', true, 'code', p_code, 'action', v_action) || v_result;
END
$$;

COMMENT ON FUNCTION queue.feature_code(text, text, text, timestamptz) IS
    'Agent feature codes dialled from a phone: *71 login, *72 logout, *73 break toggle.';
REVOKE ALL ON FUNCTION queue.feature_code(text, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.feature_code(text, text, text, timestamptz) TO huntsman_controller;

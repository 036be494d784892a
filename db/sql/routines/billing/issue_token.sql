-- billing.issue_token(p_kind text, p_subject_id bigint, p_label text DEFAULT NULL) -> text
--
-- Creates an API bearer token and returns it (the only time it is visible): "hmt_<id>_<secret>"
-- where <secret> is 64 hex digits from two gen_random_uuid() (pg_strong_random; 244 random
-- bits). Only sha256(token) is stored. p_kind 'device' (p_subject_id = cfg.device.id: may POST
-- /api/v1/usage for that device and act on its own queue agent), 'account' (billing.account.id:
-- may GET that account's reports) or 'domain_admin' (cfg.domain.id: may act on every queue agent
-- and queue of that domain). Raises HMB02 for an unknown kind or subject.
CREATE OR REPLACE FUNCTION billing.issue_token(p_kind text, p_subject_id bigint, p_label text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
DECLARE
    v_domain_id bigint;
    v_id        bigint;
    v_token     text;
BEGIN
    IF p_kind = 'device' THEN
        SELECT d.domain_id INTO v_domain_id FROM cfg.device d WHERE d.id = p_subject_id;
    ELSIF p_kind = 'account' THEN
        SELECT a.domain_id INTO v_domain_id FROM billing.account a WHERE a.id = p_subject_id;
    ELSIF p_kind = 'domain_admin' THEN
        SELECT d.id INTO v_domain_id FROM cfg.domain d WHERE d.id = p_subject_id;
    ELSE
        RAISE EXCEPTION 'token kind must be device, account or domain_admin, got %', p_kind
            USING ERRCODE = 'HMB02';
    END IF;
    IF v_domain_id IS NULL THEN
        RAISE EXCEPTION '% % does not exist', p_kind, p_subject_id USING ERRCODE = 'HMB02';
    END IF;
    v_id := nextval(pg_get_serial_sequence('billing.api_token', 'id'));
    v_token := format('hmt_%s_%s', v_id,
        replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
    INSERT INTO billing.api_token (id, domain_id, kind, device_id, account_id, label, token_sha256)
    VALUES (v_id, v_domain_id, p_kind,
            CASE WHEN p_kind = 'device' THEN p_subject_id END,
            CASE WHEN p_kind = 'account' THEN p_subject_id END,
            p_label, sha256(convert_to(v_token, 'UTF8')));
    RETURN v_token;
END
$$;

REVOKE ALL ON FUNCTION billing.issue_token(text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing.issue_token(text, bigint, text) TO huntsman_console;
COMMENT ON FUNCTION billing.issue_token(text, bigint, text) IS
    'New API token (device: posts usage, acts on its queue agent; account: reads its reports; domain_admin: acts on the domain''s queues and agents); returned once, stored as sha256.';

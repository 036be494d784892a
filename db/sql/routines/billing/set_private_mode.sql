-- billing.set_private_mode(p_phone_id bigint, p_on boolean, p_until timestamptz DEFAULT NULL) -> void
--
-- Switches a phone's private mode on (optionally until p_until) or off. The switch is audited by
-- the billing.audit_change trigger (actor = setting huntsman.actor, else session_user).
-- Raises HMB02 for an unknown phone.
CREATE OR REPLACE FUNCTION billing.set_private_mode(p_phone_id bigint, p_on boolean, p_until timestamptz DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
BEGIN
    UPDATE billing.phone
       SET private_mode = p_on, private_until = CASE WHEN p_on THEN p_until END
     WHERE id = p_phone_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'billing phone % does not exist', p_phone_id USING ERRCODE = 'HMB02';
    END IF;
END
$$;

REVOKE ALL ON FUNCTION billing.set_private_mode(bigint, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing.set_private_mode(bigint, boolean, timestamptz) TO huntsman_console;
COMMENT ON FUNCTION billing.set_private_mode(bigint, boolean, timestamptz) IS
    'Switches a phone''s private mode on (optionally until a time) or off; audited.';

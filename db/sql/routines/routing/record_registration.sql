-- routing.record_registration(p_domain text, p_user text, p_contact text, p_registered boolean,
--                             p_at timestamptz) -> integer
--
-- Contract: the controller reports a SIP registration change of user p_user in domain p_domain
-- at instant p_at. Every device whose endpoint is user/<p_user>@<lower(p_domain)> gets
-- registered = p_registered, registered_contact = p_contact (NULL when unregistered) and
-- last_seen = p_at, unless it already holds a newer report (last_seen > p_at: late, reordered
-- events are ignored). Unknown users are ignored. Returns the number of devices updated.
CREATE OR REPLACE FUNCTION routing.record_registration(
    p_domain text,
    p_user text,
    p_contact text,
    p_registered boolean,
    p_at timestamptz
) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = routing, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE cfg.device d
       SET registered = p_registered,
           registered_contact = CASE WHEN p_registered THEN left(p_contact, 1024) END,
           last_seen = p_at
     WHERE d.endpoint = 'user/' || p_user || '@' || lower(p_domain)
       AND (d.last_seen IS NULL OR d.last_seen <= p_at);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;

REVOKE ALL ON FUNCTION routing.record_registration(text, text, text, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing.record_registration(text, text, text, boolean, timestamptz) TO huntsman_controller;
COMMENT ON FUNCTION routing.record_registration(text, text, text, boolean, timestamptz) IS
    'Record a registration change for the devices with endpoint user/<user>@<domain>; older reports are ignored. Returns rows updated.';

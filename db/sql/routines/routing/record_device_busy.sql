-- routing.record_device_busy(p_domain text, p_user text, p_busy boolean, p_at timestamptz) -> integer
--
-- Contract: the controller reports that user p_user in domain p_domain went busy (p_busy) or
-- idle (NOT p_busy) at instant p_at. Every device whose endpoint is user/<p_user>@<lower(p_domain)>
-- gets busy = p_busy and busy_changed_at = p_at; going idle also sets last_call_ended = p_at
-- (longest_idle orders by it). A report older than the device's busy_changed_at is ignored.
-- Unknown users are ignored. Returns the number of devices updated.
CREATE OR REPLACE FUNCTION routing.record_device_busy(
    p_domain text,
    p_user text,
    p_busy boolean,
    p_at timestamptz
) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = routing, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE cfg.device d
       SET busy = p_busy,
           busy_changed_at = p_at,
           last_call_ended = CASE WHEN p_busy THEN d.last_call_ended ELSE p_at END
     WHERE d.endpoint = 'user/' || p_user || '@' || lower(p_domain)
       AND (d.busy_changed_at IS NULL OR d.busy_changed_at <= p_at);
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;

REVOKE ALL ON FUNCTION routing.record_device_busy(text, text, boolean, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing.record_device_busy(text, text, boolean, timestamptz) TO huntsman_controller;
COMMENT ON FUNCTION routing.record_device_busy(text, text, boolean, timestamptz) IS
    'Record a device going busy/idle (idle also sets last_call_ended) for endpoint user/<user>@<domain>; older reports are ignored.';

-- routing.resync_device_state(p_node text, p_busy jsonb, p_registered jsonb, p_at timestamptz) -> jsonb
--
-- Contract: the controller reports the complete live state of its FreeSWITCH node(s) at instant
-- p_at, read with `show channels as json` and `show registrations as json` after it (re)connects
-- or after a database outage, when events may have been lost. p_busy is a JSON array of
-- {"domain", "user"} (the devices with a channel), p_registered a JSON array of
-- {"domain", "user", "contact"} (the devices with a registration). In one transaction, over the
-- devices whose endpoint is user/<user>@<lower(domain)>:
--   - listed in p_busy and idle           -> busy, busy_changed_at = p_at;
--   - busy and not listed in p_busy       -> idle, busy_changed_at = last_call_ended = p_at;
--   - listed in p_registered, and unregistered or with another contact
--                                         -> registered, registered_contact, last_seen = p_at;
--   - registered and not in p_registered  -> unregistered, registered_contact NULL, last_seen = p_at.
-- A device holding a report newer than p_at (busy_changed_at / last_seen > p_at) is left alone,
-- as record_device_busy / record_registration do. A device already in the reported state is not
-- written (its timestamps stay): a second identical call changes nothing. Devices with another
-- kind of endpoint (sofia/..., E.164) are never touched; unknown users are ignored.
-- Several nodes: a device absent from the lists is made idle/unregistered, so the lists must be
-- the union of every node's state (the controller merges the state of all the nodes it is
-- connected to, and does not call this while one of them is disconnected). State is not kept
-- per node: p_node only names the reporter in the result.
-- Errors: NULL p_at or a list that is not a JSON array of objects with non-empty string "domain"
-- and "user" raise invalid_parameter_value / null_value_not_allowed naming the bad element.
-- Returns {"node", "busy", "idle", "registered", "unregistered"}: the number of devices changed.
CREATE OR REPLACE FUNCTION routing.resync_device_state(
    p_node text,
    p_busy jsonb,
    p_registered jsonb,
    p_at timestamptz
) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = routing, pg_temp
AS $$
DECLARE
    v_list jsonb;
    v_name text;
    v_item jsonb;
    v_index bigint;
    v_busy text[];
    v_registered text[];
    v_contacts text[];
    v_made_busy integer;
    v_made_idle integer;
    v_made_registered integer;
    v_made_unregistered integer;
BEGIN
    IF p_at IS NULL THEN
        RAISE EXCEPTION 'routing.resync_device_state: p_at must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    FOREACH v_name IN ARRAY ARRAY['p_busy', 'p_registered'] LOOP
        v_list := CASE v_name WHEN 'p_busy' THEN p_busy ELSE p_registered END;
        IF jsonb_typeof(v_list) IS DISTINCT FROM 'array' THEN
            RAISE EXCEPTION 'routing.resync_device_state: % must be a JSON array, got %',
                v_name, coalesce(jsonb_typeof(v_list), 'NULL')
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR v_item, v_index IN SELECT e, n FROM jsonb_array_elements(v_list) WITH ORDINALITY AS t(e, n) LOOP
            IF jsonb_typeof(v_item) IS DISTINCT FROM 'object'
               OR jsonb_typeof(v_item -> 'domain') IS DISTINCT FROM 'string'
               OR jsonb_typeof(v_item -> 'user') IS DISTINCT FROM 'string'
               OR v_item ->> 'domain' = '' OR v_item ->> 'user' = '' THEN
                RAISE EXCEPTION 'routing.resync_device_state: %[%] = % is not {"domain": text, "user": text}',
                    v_name, v_index - 1, left(v_item::text, 200)
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
    END LOOP;

    SELECT coalesce(array_agg(DISTINCT 'user/' || (e ->> 'user') || '@' || lower(e ->> 'domain')), '{}')
      INTO v_busy
      FROM jsonb_array_elements(p_busy) AS e;
    -- Several registrations of one user (multiple-registrations): the first contact is kept.
    SELECT coalesce(array_agg(r.endpoint ORDER BY r.endpoint), '{}'),
           coalesce(array_agg(r.contact ORDER BY r.endpoint), '{}')
      INTO v_registered, v_contacts
      FROM (SELECT DISTINCT ON (1) 'user/' || (e ->> 'user') || '@' || lower(e ->> 'domain') AS endpoint,
                   left(coalesce(e ->> 'contact', ''), 1024) AS contact
              FROM jsonb_array_elements(p_registered) WITH ORDINALITY AS t(e, n)
             ORDER BY 1, n) AS r;

    UPDATE cfg.device d
       SET busy = true,
           busy_changed_at = p_at
     WHERE d.endpoint = ANY (v_busy)
       AND NOT d.busy
       AND (d.busy_changed_at IS NULL OR d.busy_changed_at <= p_at);
    GET DIAGNOSTICS v_made_busy = ROW_COUNT;

    UPDATE cfg.device d
       SET busy = false,
           busy_changed_at = p_at,
           last_call_ended = p_at
     WHERE d.busy
       AND d.endpoint LIKE 'user/%'
       AND NOT EXISTS (SELECT 1 FROM unnest(v_busy) AS b(endpoint) WHERE b.endpoint = d.endpoint)
       AND (d.busy_changed_at IS NULL OR d.busy_changed_at <= p_at);
    GET DIAGNOSTICS v_made_idle = ROW_COUNT;

    UPDATE cfg.device d
       SET registered = true,
           registered_contact = r.contact,
           last_seen = p_at
      FROM unnest(v_registered, v_contacts) AS r(endpoint, contact)
     WHERE d.endpoint = r.endpoint
       AND (NOT d.registered OR d.registered_contact IS DISTINCT FROM r.contact)
       AND (d.last_seen IS NULL OR d.last_seen <= p_at);
    GET DIAGNOSTICS v_made_registered = ROW_COUNT;

    UPDATE cfg.device d
       SET registered = false,
           registered_contact = NULL,
           last_seen = p_at
     WHERE d.registered
       AND d.endpoint LIKE 'user/%'
       AND NOT EXISTS (SELECT 1 FROM unnest(v_registered) AS r(endpoint) WHERE r.endpoint = d.endpoint)
       AND (d.last_seen IS NULL OR d.last_seen <= p_at);
    GET DIAGNOSTICS v_made_unregistered = ROW_COUNT;

    RETURN jsonb_build_object(
        'node', p_node,
        'busy', v_made_busy,
        'idle', v_made_idle,
        'registered', v_made_registered,
        'unregistered', v_made_unregistered
    );
END
$$;

REVOKE ALL ON FUNCTION routing.resync_device_state(text, jsonb, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION routing.resync_device_state(text, jsonb, jsonb, timestamptz) TO huntsman_controller;
COMMENT ON FUNCTION routing.resync_device_state(text, jsonb, jsonb, timestamptz) IS
    'Resync busy and registration state of user/ devices with the complete state read from FreeSWITCH at p_at; older than the stored reports is ignored. Returns counts of changes.';

-- billing.record_usage(p_event jsonb) -> bigint
--
-- Records one non-voice usage event of a device and charges it like a call (same policy, same
-- rating, billing.allocate_charge). Idempotent on (device_id, event_id): the same event again
-- returns the first usage id and changes nothing. Returns billing.usage.id.
-- The event:
--   {"event_id": "sms-123",                  -- required, 1-128 chars, unique per device
--    "device_id": 7,                         -- required (the web API sets it from the token)
--    "type": "sms" | "mms" | "data",         -- required
--    "at": "2026-01-05T10:00:00Z",           -- required, when it happened (timestamptz)
--    "number": "+4930123456",                -- required: the phone's number used (E.164)
--    "destination": "+4415550123",           -- sms/mms: required, E.164 or a short code
--    "messages": 1,                          -- sms/mms: integer >= 1, default 1
--    "bytes": 123456,                        -- data: required, integer >= 0
--    "host_category": "video"}               -- data: optional, [a-z][a-z0-9_-]{0,31}
-- Errors: HMB01 invalid_usage_event with COLUMN = the field at fault (the message names it and
-- the value); HMB02 when the device does not exist.
-- A device with no billing phone: the usage is recorded, no charge is written.
CREATE OR REPLACE FUNCTION billing.record_usage(p_event jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
DECLARE
    v_event_id    text;
    v_device_id   bigint;
    v_domain_id   bigint;
    v_type        text;
    v_at          timestamptz;
    v_number      text;
    v_number_id   bigint;
    v_destination text;
    v_category    text;
    v_quantity    numeric;
    v_phone_id    bigint;
    v_usage_id    bigint;
BEGIN
    IF p_event IS NULL OR jsonb_typeof(p_event) <> 'object' THEN
        RAISE EXCEPTION 'usage event must be a JSON object' USING ERRCODE = 'HMB01', COLUMN = 'event';
    END IF;

    v_event_id := p_event ->> 'event_id';
    IF jsonb_typeof(p_event -> 'event_id') IS DISTINCT FROM 'string'
       OR length(v_event_id) NOT BETWEEN 1 AND 128 OR v_event_id ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'event_id must be a string of 1 to 128 characters, got %', coalesce(p_event ->> 'event_id', 'nothing')
            USING ERRCODE = 'HMB01', COLUMN = 'event_id';
    END IF;

    IF jsonb_typeof(p_event -> 'device_id') IS DISTINCT FROM 'number'
       OR (p_event ->> 'device_id') !~ '^[0-9]{1,18}$' THEN
        RAISE EXCEPTION 'device_id must be a positive integer, got %', coalesce(p_event ->> 'device_id', 'nothing')
            USING ERRCODE = 'HMB01', COLUMN = 'device_id';
    END IF;
    v_device_id := (p_event ->> 'device_id')::bigint;
    SELECT d.domain_id INTO v_domain_id FROM cfg.device d WHERE d.id = v_device_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'device % does not exist', v_device_id USING ERRCODE = 'HMB02', COLUMN = 'device_id';
    END IF;

    v_type := p_event ->> 'type';
    IF jsonb_typeof(p_event -> 'type') IS DISTINCT FROM 'string' OR v_type NOT IN ('sms', 'mms', 'data') THEN
        RAISE EXCEPTION 'type must be one of sms, mms, data, got %', coalesce(p_event ->> 'type', 'nothing')
            USING ERRCODE = 'HMB01', COLUMN = 'type';
    END IF;

    IF jsonb_typeof(p_event -> 'at') IS DISTINCT FROM 'string'
       OR (p_event ->> 'at') !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}' THEN
        RAISE EXCEPTION 'at must be an ISO 8601 timestamp with a time zone, got %', coalesce(p_event ->> 'at', 'nothing')
            USING ERRCODE = 'HMB01', COLUMN = 'at';
    END IF;
    BEGIN
        v_at := (p_event ->> 'at')::timestamptz;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
        RAISE EXCEPTION 'at must be an ISO 8601 timestamp with a time zone, got %', p_event ->> 'at'
            USING ERRCODE = 'HMB01', COLUMN = 'at';
    END;

    v_number := p_event ->> 'number';
    IF jsonb_typeof(p_event -> 'number') IS DISTINCT FROM 'string' OR v_number !~ '^\+[1-9][0-9]{1,14}$' THEN
        RAISE EXCEPTION 'number must be the E.164 number used (e.g. +4930123456), got %', coalesce(p_event ->> 'number', 'nothing')
            USING ERRCODE = 'HMB01', COLUMN = 'number';
    END IF;
    SELECT n.id INTO v_number_id FROM cfg.number n WHERE n.e164 = v_number AND n.domain_id = v_domain_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'number % is not a number of the device''s domain', v_number
            USING ERRCODE = 'HMB01', COLUMN = 'number';
    END IF;

    IF v_type IN ('sms', 'mms') THEN
        v_destination := p_event ->> 'destination';
        IF jsonb_typeof(p_event -> 'destination') IS DISTINCT FROM 'string' OR v_destination !~ '^\+?[0-9]{1,15}$' THEN
            RAISE EXCEPTION 'destination must be an E.164 number or a short code, got %', coalesce(p_event ->> 'destination', 'nothing')
                USING ERRCODE = 'HMB01', COLUMN = 'destination';
        END IF;
        IF p_event ? 'messages' THEN
            IF jsonb_typeof(p_event -> 'messages') IS DISTINCT FROM 'number'
               OR (p_event ->> 'messages') !~ '^[0-9]{1,6}$' OR (p_event ->> 'messages')::integer < 1 THEN
                RAISE EXCEPTION 'messages must be an integer from 1 to 999999, got %', p_event ->> 'messages'
                    USING ERRCODE = 'HMB01', COLUMN = 'messages';
            END IF;
            v_quantity := (p_event ->> 'messages')::numeric;
        ELSE
            v_quantity := 1;
        END IF;
    ELSE
        IF jsonb_typeof(p_event -> 'bytes') IS DISTINCT FROM 'number' OR (p_event ->> 'bytes') !~ '^[0-9]{1,15}$' THEN
            RAISE EXCEPTION 'bytes must be an integer >= 0, got %', coalesce(p_event ->> 'bytes', 'nothing')
                USING ERRCODE = 'HMB01', COLUMN = 'bytes';
        END IF;
        v_quantity := (p_event ->> 'bytes')::numeric;
        IF p_event ? 'host_category' THEN
            v_category := p_event ->> 'host_category';
            IF jsonb_typeof(p_event -> 'host_category') IS DISTINCT FROM 'string'
               OR v_category !~ '^[a-z][a-z0-9_-]{0,31}$' THEN
                RAISE EXCEPTION 'host_category must match [a-z][a-z0-9_-]{0,31}, got %', p_event ->> 'host_category'
                    USING ERRCODE = 'HMB01', COLUMN = 'host_category';
            END IF;
        END IF;
    END IF;

    v_phone_id := billing.phone_of_device(v_device_id);
    IF v_phone_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM billing.phone_number pn WHERE pn.phone_id = v_phone_id AND pn.number_id = v_number_id) THEN
        RAISE EXCEPTION 'number % is not one of the numbers of billing phone %', v_number, v_phone_id
            USING ERRCODE = 'HMB01', COLUMN = 'number';
    END IF;

    INSERT INTO billing.usage (domain_id, device_id, event_id, action, number_id, destination,
                               host_category, quantity, occurred_at, event)
    VALUES (v_domain_id, v_device_id, v_event_id, v_type, v_number_id, v_destination, v_category,
            v_quantity, v_at, p_event)
    ON CONFLICT (device_id, event_id) DO NOTHING
    RETURNING id INTO v_usage_id;
    IF v_usage_id IS NULL THEN
        SELECT u.id INTO STRICT v_usage_id FROM billing.usage u
         WHERE u.device_id = v_device_id AND u.event_id = v_event_id;
        RETURN v_usage_id;
    END IF;

    IF v_phone_id IS NOT NULL THEN
        PERFORM billing.allocate_charge(v_phone_id, NULL, v_usage_id, v_type, v_number_id,
                                        v_destination, v_category, v_at, v_quantity);
    END IF;
    RETURN v_usage_id;
END
$$;

REVOKE ALL ON FUNCTION billing.record_usage(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing.record_usage(jsonb) TO huntsman_console;
COMMENT ON FUNCTION billing.record_usage(jsonb) IS
    'Records a device''s SMS/MMS/data usage event (idempotent on device_id + event_id) and charges it by the phone''s policy. HMB01 names the bad field in COLUMN.';

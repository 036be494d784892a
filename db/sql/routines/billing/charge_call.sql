-- billing.charge_call(p_call_id bigint) -> integer
--
-- Rates a CDR and allocates its charge by the billing policy of each billing phone involved,
-- writing one billing.charge row per (call, phone); returns how many rows this call wrote.
-- Called by cdr.record_call (inside its SECURITY DEFINER context) right after the CDR is stored.
-- Idempotent: a second call for the same CDR writes nothing and returns 0.
-- Who is charged: the CDR's billing context is the `billing` object of the plan that
-- cdr.record_call stores (cdr.call.plan, docs/contracts.md §3):
--   {"direction": "inbound|outbound|internal", "device_id": <calling device>, "number_id": <number>}
-- - the calling side, for direction outbound or internal with a device_id: the device's phone
--   (billing.phone_of_device), action outgoing_call; number used = billing.number_id when it is
--   one of that phone's numbers, else the phone's number equal to the CDR's caller number;
--   other party = the destination;
-- - the called side, action incoming_call, other party = the caller number:
--   direction inbound -> the phone carrying billing.number_id (else cdr.call.route_number_id),
--   the called number; direction internal -> the phone of the device that answered
--   (cdr.call.answered_by_device_id); a phone calling itself is charged once (outgoing).
-- Idempotent: a CDR that already has charges returns 0 at once.
-- Without a plan `billing` object, direction is inferred: route kind outbound -> outbound, a
-- route number -> inbound. The action starts at cdr.call.start_at; the quantity is billsec
-- (0 = not answered: charged 0, still listed). A CDR with no billing phone on either side
-- writes nothing. Raises HMB02 when the CDR does not exist.
CREATE OR REPLACE FUNCTION billing.charge_call(p_call_id bigint)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
DECLARE
    v_call      cdr.call;
    v_billing   jsonb;
    v_direction text;
    v_device_id bigint;
    v_cdr_number bigint;
    v_phone_id  bigint;
    v_caller_phone_id bigint;
    v_number_id bigint;
    v_written   integer := 0;
BEGIN
    SELECT * INTO v_call FROM cdr.call c WHERE c.id = p_call_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'CDR % does not exist', p_call_id USING ERRCODE = 'HMB02';
    END IF;
    IF EXISTS (SELECT 1 FROM billing.charge ch WHERE ch.call_id = p_call_id) THEN
        RETURN 0;  -- already charged: idempotent
    END IF;
    v_billing := CASE WHEN jsonb_typeof(v_call.plan -> 'billing') = 'object'
                      THEN v_call.plan -> 'billing' ELSE '{}'::jsonb END;
    v_direction := coalesce(v_billing ->> 'direction',
                            CASE WHEN v_call.route_kind = 'outbound' THEN 'outbound'
                                 WHEN v_call.route_number_id IS NOT NULL THEN 'inbound' END);
    v_device_id := CASE WHEN jsonb_typeof(v_billing -> 'device_id') = 'number'
                        THEN (v_billing ->> 'device_id')::bigint END;
    v_cdr_number := coalesce(CASE WHEN jsonb_typeof(v_billing -> 'number_id') = 'number'
                                  THEN (v_billing ->> 'number_id')::bigint END,
                             v_call.route_number_id);

    -- The calling side.
    IF v_direction IN ('outbound', 'internal') AND v_device_id IS NOT NULL THEN
        v_phone_id := billing.phone_of_device(v_device_id);
        v_caller_phone_id := v_phone_id;
        IF v_phone_id IS NOT NULL THEN
            SELECT pn.number_id INTO v_number_id
              FROM billing.phone_number pn
              JOIN cfg.number n ON n.id = pn.number_id
             WHERE pn.phone_id = v_phone_id
               AND (pn.number_id = v_cdr_number OR n.e164 = v_call.caller_number)
             ORDER BY pn.number_id = v_cdr_number DESC NULLS LAST
             LIMIT 1;
            PERFORM billing.allocate_charge(v_phone_id, p_call_id, NULL, 'outgoing_call', v_number_id,
                                            v_call.destination, NULL, v_call.start_at, v_call.billsec);
            v_written := v_written + 1;
        END IF;
    END IF;

    -- The called side.
    v_phone_id := NULL;
    v_number_id := NULL;
    IF v_direction = 'inbound' AND v_cdr_number IS NOT NULL THEN
        SELECT pn.phone_id, pn.number_id INTO v_phone_id, v_number_id
          FROM billing.phone_number pn
         WHERE pn.number_id = v_cdr_number;
    ELSIF v_direction = 'internal' AND v_call.answered_by_device_id IS NOT NULL THEN
        v_phone_id := billing.phone_of_device(v_call.answered_by_device_id);
        IF v_phone_id IS NOT NULL THEN
            SELECT pn.number_id INTO v_number_id
              FROM billing.phone_number pn
              JOIN cfg.number n ON n.id = pn.number_id
             WHERE pn.phone_id = v_phone_id AND n.e164 = v_call.destination;
        END IF;
    END IF;
    IF v_phone_id IS NOT NULL AND v_phone_id IS DISTINCT FROM v_caller_phone_id THEN
        PERFORM billing.allocate_charge(v_phone_id, p_call_id, NULL, 'incoming_call', v_number_id,
                                        v_call.caller_number, NULL, v_call.start_at, v_call.billsec);
        v_written := v_written + 1;
    END IF;
    RETURN v_written;
END
$$;

REVOKE ALL ON FUNCTION billing.charge_call(bigint) FROM PUBLIC;
COMMENT ON FUNCTION billing.charge_call(bigint) IS
    'Rates a CDR and writes its charge rows (one per billing phone involved) by the phones'' policies; idempotent. Called by cdr.record_call.';

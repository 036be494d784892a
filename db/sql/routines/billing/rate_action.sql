-- billing.rate_action(p_account_id bigint, p_action text, p_counterpart text, p_quantity numeric)
--   -> jsonb
--
-- Rates one action with the paying account's rate table. The rate is the account's rate for the
-- action with the longest prefix of p_counterpart ('' matches anything; data sessions only use '').
-- Units: calls: p_quantity = billable seconds, increments in seconds, price per minute;
--        sms/mms: messages, increments in messages, price per message;
--        data: bytes, increments in kB (1000 bytes, a started kB counts), price per MB (10^6 bytes).
-- billed units = 0 when the usage is 0; else initial_increment when usage <= initial_increment,
-- else initial + ceil((usage - initial) / subsequent) * subsequent.
-- amount = 0 when the usage is 0 (a zero-second call costs nothing, no connection fee); else
-- greatest(connection_fee + billed units * price / units per priced unit, minimum_charge),
-- rounded to 4 decimals half away from zero.
-- No rate for the action: amount 0 and rate null (the action still appears in reports).
-- Returns {rate_id, prefix, price, connection_fee, increments: [initial, subsequent],
--          minimum_charge, usage_units, billed_units, billed_quantity, minimum_applied, amount, currency}.
-- Internal helper: not SECURITY DEFINER, EXECUTE granted to nobody; it runs inside the billing
-- entry points (SECURITY DEFINER, search_path pinned), whose path it inherits (every name in it
-- is schema-qualified); no SET clause, which costs a path switch per call on the CDR hot path.
CREATE OR REPLACE FUNCTION billing.rate_action(
    p_account_id bigint, p_action text, p_counterpart text, p_quantity numeric)
RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    v_rate     record;
    v_currency text;
    v_units    numeric;
    v_billed   numeric := 0;
    v_per      numeric;
    v_raw      numeric := 0;
    v_amount   numeric := 0;
    v_scale    numeric := 1;
BEGIN
    IF p_action = 'data' THEN
        v_units := ceil(greatest(p_quantity, 0) / 1000);
        v_per := 1000;
        v_scale := 1000;
    ELSIF p_action IN ('outgoing_call', 'incoming_call') THEN
        v_units := ceil(greatest(p_quantity, 0));
        v_per := 60;
    ELSE
        v_units := ceil(greatest(p_quantity, 0));
        v_per := 1;
    END IF;

    -- One statement: the account's currency and its longest-prefix rate (if any).
    SELECT a.currency, r.id, r.prefix, r.price, r.connection_fee, r.initial_increment,
           r.subsequent_increment, r.minimum_charge
      INTO v_rate
      FROM billing.account a
      LEFT JOIN LATERAL (
            SELECT * FROM billing.rate r
             WHERE r.account_id = a.id AND r.action = p_action
               AND r.prefix = ANY (CASE WHEN p_action = 'data' THEN ARRAY['']
                                        ELSE billing.prefixes_of(p_counterpart) END)
             ORDER BY length(r.prefix) DESC
             LIMIT 1) r ON true
     WHERE a.id = p_account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'billing account % does not exist', p_account_id USING ERRCODE = 'HMB02';
    END IF;
    v_currency := v_rate.currency;
    IF v_rate.id IS NULL THEN
        RETURN jsonb_build_object(
            'rate_id', NULL, 'prefix', NULL, 'usage_units', v_units, 'billed_units', 0,
            'billed_quantity', 0, 'minimum_applied', false, 'amount', 0::numeric(18, 4),
            'currency', v_currency, 'note', 'no rate for this action: not charged');
    END IF;

    IF v_units > 0 THEN
        IF v_units <= v_rate.initial_increment THEN
            v_billed := v_rate.initial_increment;
        ELSE
            v_billed := v_rate.initial_increment
                + ceil((v_units - v_rate.initial_increment) / v_rate.subsequent_increment)
                  * v_rate.subsequent_increment;
        END IF;
        v_raw := v_rate.connection_fee + v_billed * v_rate.price / v_per;
        v_amount := round(greatest(v_raw, v_rate.minimum_charge), 4);
    END IF;

    RETURN jsonb_build_object(
        'rate_id', v_rate.id, 'prefix', v_rate.prefix, 'price', v_rate.price,
        'connection_fee', v_rate.connection_fee,
        'increments', jsonb_build_array(v_rate.initial_increment, v_rate.subsequent_increment),
        'minimum_charge', v_rate.minimum_charge, 'usage_units', v_units, 'billed_units', v_billed,
        'billed_quantity', v_billed * v_scale,
        'minimum_applied', v_units > 0 AND v_rate.minimum_charge > v_raw,
        'amount', v_amount::numeric(18, 4), 'currency', v_currency);
END
$$;

REVOKE ALL ON FUNCTION billing.rate_action(bigint, text, text, numeric) FROM PUBLIC;
COMMENT ON FUNCTION billing.rate_action(bigint, text, text, numeric) IS
    'Rates an action with the paying account''s rates: longest prefix, increments, connection fee, minimum charge; 4 decimals, half away from zero.';

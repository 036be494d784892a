-- billing.explain_charge(p_call_id bigint) -> jsonb
--
-- Why a CDR was charged the way it was: for each charge row of the call, the paying account, the
-- amount, what decided (a rule, 'default' or 'private_mode'), the rules tried in order and where
-- each one failed, the destination class, and the rating (rate prefix used, price, connection
-- fee, increments applied, minimum charge). The explanation is the one recorded when the charge
-- was written, so it stays true after the policy changes.
-- {"call_id": 1, "charges": [{charge_id, phone_id, account_id, action, number, counterpart,
--   amount, currency, decided_by, rule_id, private, decision: {...}, rating: {...}}],
--  "note": "..."}   -- note only when the call has no charge (no billing phone involved)
-- Raises HMB02 when the CDR does not exist.
CREATE OR REPLACE FUNCTION billing.explain_charge(p_call_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
DECLARE
    v_charges jsonb;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM cdr.call c WHERE c.id = p_call_id) THEN
        RAISE EXCEPTION 'CDR % does not exist', p_call_id USING ERRCODE = 'HMB02';
    END IF;
    SELECT jsonb_agg(jsonb_build_object(
               'charge_id', c.id, 'phone_id', c.phone_id, 'account_id', c.account_id,
               'action', c.action, 'number', c.number, 'counterpart', c.counterpart,
               'started_at', c.started_at, 'quantity', c.quantity, 'unit', c.unit,
               'billed_quantity', c.billed_quantity, 'amount', c.amount, 'currency', c.currency,
               'decided_by', c.decided_by, 'rule_id', c.rule_id, 'private', c.private,
               'decision', c.explanation -> 'decision', 'rating', c.explanation -> 'rating')
               ORDER BY c.id)
      INTO v_charges
      FROM billing.charge c
     WHERE c.call_id = p_call_id;
    IF v_charges IS NULL THEN
        RETURN jsonb_build_object('call_id', p_call_id, 'charges', '[]'::jsonb,
            'note', 'no charge: neither party of the call is a billing phone (or the CDR was not charged yet)');
    END IF;
    RETURN jsonb_build_object('call_id', p_call_id, 'charges', v_charges);
END
$$;

REVOKE ALL ON FUNCTION billing.explain_charge(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing.explain_charge(bigint) TO huntsman_console;
COMMENT ON FUNCTION billing.explain_charge(bigint) IS
    'Why a CDR was charged as it was: the rules tried, which matched, the rate prefix and the increments applied, per charge row.';

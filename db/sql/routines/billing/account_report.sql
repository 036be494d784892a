-- billing.account_report(p_account_id bigint, p_from timestamptz, p_to timestamptz) -> jsonb
--
-- The period report of an account for its holder (e.g. the employer paying a business account):
-- every call and usage charged to the account in [p_from, p_to) (by action start), with totals,
-- read through billing.visible_charge: private-mode actions are absent from a business
-- account's report and the totals are computed without them.
-- Amounts: each line rounded to 2 decimals half away from zero; totals are sums of the lines.
-- {"account": {id, name, kind, owner, currency},
--  "period": {"from", "to"},
--  "lines": [{charge_id, source: call|usage, action, started_at, number, counterpart,
--             destination_class, quantity, unit, billed_quantity, amount, rate_prefix, decided_by}],
--  "totals": {"count", "amount", "currency",
--             "by_action": {"outgoing_call": {"count", "quantity", "amount"}, ...}}}
-- Raises HMB02 (unknown account), HMB03 (missing, empty or reversed period), and
-- program_limit_exceeded (54000) above 200000 lines: a jsonb value is capped at 256 MB, so a
-- larger period goes through billing.account_report_rows (CSV), which has no limit.
CREATE OR REPLACE FUNCTION billing.account_report(p_account_id bigint, p_from timestamptz, p_to timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
DECLARE
    v_account billing.account;
    v_count   bigint;
    v_totals  json;
    v_lines   json;
BEGIN
    SELECT * INTO v_account FROM billing.account a WHERE a.id = p_account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'billing account % does not exist', p_account_id USING ERRCODE = 'HMB02';
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
        RAISE EXCEPTION 'report period [%, %) is missing, empty or reversed', p_from, p_to
            USING ERRCODE = 'HMB03';
    END IF;

    SELECT coalesce(sum(t.n), 0),
           json_build_object(
               'count', coalesce(sum(t.n), 0),
               'amount', coalesce(sum(t.amount), 0)::numeric(18, 2),
               'currency', v_account.currency,
               'by_action', coalesce(json_object_agg(t.action, json_build_object(
                   'count', t.n, 'quantity', t.quantity, 'amount', t.amount)
                   ORDER BY t.action) FILTER (WHERE t.action IS NOT NULL), '{}'::json))
      INTO v_count, v_totals
      FROM (SELECT c.action, count(*) AS n, sum(c.quantity) AS quantity,
                   sum(round(c.amount, 2)) AS amount
              FROM billing.visible_charge c
             WHERE c.account_id = p_account_id AND c.started_at >= p_from AND c.started_at < p_to
             GROUP BY c.action) AS t;
    IF v_count > 200000 THEN
        RAISE EXCEPTION 'account % has % report lines in [%, %): more than 200000 for a JSON report',
            p_account_id, v_count, p_from, p_to
            USING ERRCODE = 'program_limit_exceeded', HINT = 'Use billing.account_report_rows (CSV) or a shorter period.';
    END IF;

    SELECT coalesce(json_agg(json_build_object(
               'charge_id', c.id,
               'source', CASE WHEN c.call_id IS NULL THEN 'usage' ELSE 'call' END,
               'action', c.action, 'started_at', c.started_at, 'number', c.number,
               'counterpart', c.counterpart, 'destination_class', c.destination_class,
               'quantity', c.quantity, 'unit', c.unit, 'billed_quantity', c.billed_quantity,
               'amount', round(c.amount, 2), 'rate_prefix', c.rate_prefix, 'decided_by', c.decided_by)
               ORDER BY c.started_at, c.id), '[]'::json)
      INTO v_lines
      FROM billing.visible_charge c
     WHERE c.account_id = p_account_id AND c.started_at >= p_from AND c.started_at < p_to;

    -- json (not jsonb) while building: several times cheaper for large reports; one conversion.
    RETURN json_build_object(
        'account', json_build_object('id', v_account.id, 'name', v_account.name, 'kind', v_account.kind,
                                     'owner', v_account.owner_name, 'currency', v_account.currency),
        'period', json_build_object('from', p_from, 'to', p_to),
        'lines', v_lines,
        'totals', v_totals)::jsonb;
END
$$;

REVOKE ALL ON FUNCTION billing.account_report(bigint, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing.account_report(bigint, timestamptz, timestamptz) TO huntsman_console, huntsman_report;
COMMENT ON FUNCTION billing.account_report(bigint, timestamptz, timestamptz) IS
    'Period report of an account (calls and usage with charges, totals) as JSON; private-mode actions absent from business accounts.';

-- billing.account_report_rows(p_account_id bigint, p_from timestamptz, p_to timestamptz)
--   -> TABLE (...)
--
-- The same report as billing.account_report, as rows (the CSV export), with no size limit: one
-- row per visible charge (billing.visible_charge) in [p_from, p_to) ordered by start, then one
-- last row with source = 'total' carrying the line count in quantity and the total amount (the
-- sum of the 2-decimal lines). Private-mode actions are absent from a business account's rows
-- and total. Raises HMB02 (unknown account), HMB03 (missing, empty or reversed period).
CREATE OR REPLACE FUNCTION billing.account_report_rows(p_account_id bigint, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (
    charge_id bigint, source text, action text, started_at timestamptz, number text,
    counterpart text, destination_class text, quantity numeric, unit text,
    billed_quantity numeric, amount numeric, currency text, rate_prefix text, decided_by text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
DECLARE
    v_currency text;
BEGIN
    SELECT a.currency INTO v_currency FROM billing.account a WHERE a.id = p_account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'billing account % does not exist', p_account_id USING ERRCODE = 'HMB02';
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_from >= p_to THEN
        RAISE EXCEPTION 'report period [%, %) is missing, empty or reversed', p_from, p_to
            USING ERRCODE = 'HMB03';
    END IF;
    RETURN QUERY
        SELECT c.id, CASE WHEN c.call_id IS NULL THEN 'usage' ELSE 'call' END, c.action,
               c.started_at, c.number, c.counterpart, c.destination_class, c.quantity, c.unit,
               c.billed_quantity, round(c.amount, 2), c.currency, c.rate_prefix, c.decided_by
          FROM billing.visible_charge c
         WHERE c.account_id = p_account_id AND c.started_at >= p_from AND c.started_at < p_to
         ORDER BY c.started_at, c.id;
    RETURN QUERY
        SELECT NULL::bigint, 'total'::text, NULL::text, NULL::timestamptz, NULL::text, NULL::text,
               NULL::text, count(*)::numeric, 'lines'::text, NULL::numeric,
               coalesce(sum(round(c.amount, 2)), 0)::numeric(18, 2), v_currency, NULL::text, NULL::text
          FROM billing.visible_charge c
         WHERE c.account_id = p_account_id AND c.started_at >= p_from AND c.started_at < p_to;
END
$$;

REVOKE ALL ON FUNCTION billing.account_report_rows(bigint, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing.account_report_rows(bigint, timestamptz, timestamptz) TO huntsman_console, huntsman_report;
COMMENT ON FUNCTION billing.account_report_rows(bigint, timestamptz, timestamptz) IS
    'Period report of an account as rows for CSV (no size limit), closed by a total row; private-mode actions absent from business accounts.';

-- billing.webhook_payload(p_account_id bigint, p_from timestamptz, p_to timestamptz) -> jsonb
--
-- The body of an account's period webhook: {"type": "billing.period_report", "account_id",
-- "period": {"from", "to"}, "report": billing.account_report(...)}. Deterministic for the same
-- data (no send time in it), so a receiver can de-duplicate. The sender signs the exact bytes it
-- posts with HMAC-SHA256(account_webhook.secret, body) in the X-Huntsman-Signature header as
-- "sha256=<hex>". Private-mode actions are absent exactly as in the report.
CREATE OR REPLACE FUNCTION billing.webhook_payload(p_account_id bigint, p_from timestamptz, p_to timestamptz)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'type', 'billing.period_report',
        'account_id', p_account_id,
        'period', jsonb_build_object('from', p_from, 'to', p_to),
        'report', billing.account_report(p_account_id, p_from, p_to));
END
$$;

REVOKE ALL ON FUNCTION billing.webhook_payload(bigint, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing.webhook_payload(bigint, timestamptz, timestamptz) TO huntsman_console, huntsman_report;
COMMENT ON FUNCTION billing.webhook_payload(bigint, timestamptz, timestamptz) IS
    'Body of an account''s signed period webhook (the period report); private-mode actions absent as in the report.';

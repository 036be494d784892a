-- billing.webhook_target(p_account_id bigint) -> TABLE (url text, secret text)
--
-- Where an account's period webhook goes and the secret to sign it with (no row: the account
-- has no webhook). Only the console role (the process that sends webhooks) may call it; the
-- table itself is readable by nobody else.
CREATE OR REPLACE FUNCTION billing.webhook_target(p_account_id bigint)
RETURNS TABLE (url text, secret text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
    SELECT w.url, w.secret FROM billing.account_webhook w WHERE w.account_id = p_account_id
$$;

REVOKE ALL ON FUNCTION billing.webhook_target(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing.webhook_target(bigint) TO huntsman_console;
COMMENT ON FUNCTION billing.webhook_target(bigint) IS
    'URL and HMAC secret of an account''s period webhook (no row: none configured).';

-- billing.token_digest(p_token_id bigint) -> TABLE (kind text, subject_id bigint, token_sha256 bytea)
--
-- What the web process needs to check a bearer token "hmt_<id>_<secret>" in constant time: the
-- stored sha256 of token <id> (no row: unknown or revoked). The caller compares
-- sha256(presented token) with it using a constant-time comparison (hmac.compare_digest).
-- subject_id: the device (kind device), the account (kind account) or the domain (kind domain_admin).
CREATE OR REPLACE FUNCTION billing.token_digest(p_token_id bigint)
RETURNS TABLE (kind text, subject_id bigint, token_sha256 bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
    SELECT t.kind,
           CASE WHEN t.kind = 'domain_admin' THEN t.domain_id ELSE coalesce(t.device_id, t.account_id) END,
           t.token_sha256
      FROM billing.api_token t
     WHERE t.id = p_token_id AND t.revoked_at IS NULL
$$;

REVOKE ALL ON FUNCTION billing.token_digest(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION billing.token_digest(bigint) TO huntsman_console;
COMMENT ON FUNCTION billing.token_digest(bigint) IS
    'Kind, subject and stored sha256 of an unrevoked API token, for a constant-time check by the web process.';

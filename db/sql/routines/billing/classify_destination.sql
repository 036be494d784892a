-- billing.classify_destination(p_domain_id bigint, p_number text,
--     OUT destination_class text, OUT country text, OUT prefix text)
--
-- Classifies the other party of an action for billing policies:
-- - an exact short code listed in billing.destination_prefix (112, 911 ...) -> its class (emergency);
-- - not E.164 (an extension), or one of the domain's own numbers (cfg.number) -> 'internal';
-- - otherwise the longest matching billing.destination_prefix gives class and country
--   (no match -> 'standard', country NULL).
-- NULL or '' -> 'standard' with no country. STABLE; never raises.
-- Internal helper: not SECURITY DEFINER, EXECUTE granted to nobody; it runs inside the billing
-- entry points (SECURITY DEFINER, search_path pinned), whose path it inherits (every name in it
-- is schema-qualified); no SET clause, which costs a path switch per call on the CDR hot path.
CREATE OR REPLACE FUNCTION billing.classify_destination(
    p_domain_id bigint, p_number text,
    OUT destination_class text, OUT country text, OUT prefix text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    v_best     billing.destination_prefix;
    v_internal boolean;
BEGIN
    destination_class := 'standard';
    IF coalesce(p_number, '') = '' THEN
        RETURN;
    END IF;
    IF left(p_number, 1) <> '+' THEN
        SELECT * INTO v_best FROM billing.destination_prefix d WHERE d.prefix = p_number;
        IF FOUND THEN
            destination_class := v_best.class;
            country := v_best.country;
            prefix := v_best.prefix;
        ELSE
            destination_class := 'internal';
        END IF;
        RETURN;
    END IF;
    -- One statement: is it one of the domain's numbers, and its longest matching prefix.
    SELECT EXISTS (SELECT 1 FROM cfg.number n WHERE n.e164 = p_number AND n.domain_id = p_domain_id),
           b.class, b.country, b.prefix
      INTO v_internal, destination_class, country, prefix
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (
            SELECT d.class, d.country, d.prefix
              FROM billing.destination_prefix d
             WHERE d.prefix = ANY (billing.prefixes_of(p_number))
             ORDER BY length(d.prefix) DESC
             LIMIT 1) AS b ON true;
    IF v_internal THEN
        destination_class := 'internal';
        country := NULL;
        prefix := NULL;
    ELSIF destination_class IS NULL THEN
        destination_class := 'standard';
    END IF;
END
$$;

REVOKE ALL ON FUNCTION billing.classify_destination(bigint, text) FROM PUBLIC;
COMMENT ON FUNCTION billing.classify_destination(bigint, text) IS
    'Destination class (internal | emergency | premium | standard), country and matched prefix of the other party of an action.';

-- routing.plan_mark_stale(p_domain_ids bigint[], p_parts text[],
--                         p_devices bigint[] DEFAULT NULL, p_groups bigint[] DEFAULT NULL) -> void
--
-- Contract: called by the plan_stale_* triggers (0006, 0008) after a statement that changed what
-- the compiled plans of these domains are made of. p_parts says which parts of the compiled form
-- to rebuild whole ('routing', 'devices'); p_devices the devices whose own compiled rows are
-- redone one by one (inserted, deleted, or a compiled column changed), p_groups the groups whose
-- members changed (0008; routing.plan_compile says what each redoes). Marks each existing domain
-- 'stale' in routing.plan_domain (creating the row) and adds the parts, devices and groups to
-- what it compiles, which (a) makes plan_call use the reference path (routing.build_plan) for
-- these domains inside this transaction, (b) queues the deferred constraint trigger that
-- compiles the domain at commit, and (c) row-locks the domain's compiled form until commit, so
-- two transactions editing one domain compile one after the other (lock order: domain id). A
-- domain never compiled, or whose last compile failed, is compiled whole; so is one with more
-- than 256 devices or groups marked in the transaction (a bulk load compiles faster in one
-- pass). Domains deleted by the statement are skipped.
CREATE OR REPLACE FUNCTION routing.plan_mark_stale(
    p_domain_ids bigint[],
    p_parts text[],
    p_devices bigint[] DEFAULT NULL,
    p_groups bigint[] DEFAULT NULL
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = routing, pg_temp
AS $$
DECLARE
    v_dev bigint[] := ARRAY(SELECT DISTINCT i FROM unnest(p_devices) AS i WHERE i IS NOT NULL ORDER BY i);
    v_grp bigint[] := ARRAY(SELECT DISTINCT i FROM unnest(p_groups) AS i WHERE i IS NOT NULL ORDER BY i);
BEGIN
    INSERT INTO routing.plan_domain AS p (domain_id, state, parts)
    SELECT d.id, 'stale', '{devices,routing}' FROM cfg.domain d WHERE d.id = ANY (p_domain_ids) ORDER BY d.id
    ON CONFLICT (domain_id) DO UPDATE
       SET state = 'stale',
           parts = CASE WHEN p.state = 'failed' THEN '{devices,routing}'
                        ELSE ARRAY(SELECT DISTINCT x
                                     FROM unnest(CASE WHEN p.state = 'stale' THEN p.parts END || p_parts) AS x
                                    ORDER BY x) END,
           devices = CASE WHEN p.state <> 'failed'
                          THEN nullif(ARRAY(SELECT DISTINCT i
                                              FROM unnest(CASE WHEN p.state = 'stale' THEN p.devices END || v_dev) AS i
                                             ORDER BY i), '{}') END,
           groups = CASE WHEN p.state <> 'failed'
                         THEN nullif(ARRAY(SELECT DISTINCT i
                                             FROM unnest(CASE WHEN p.state = 'stale' THEN p.groups END || v_grp) AS i
                                            ORDER BY i), '{}') END
     WHERE NOT (p.state = 'stale'
                AND (p.parts @> '{devices,routing}'
                     OR (p.parts @> p_parts
                         AND (v_dev = '{}' OR coalesce(p.devices @> v_dev, false))
                         AND (v_grp = '{}' OR coalesce(p.groups @> v_grp, false)))));
    IF v_dev <> '{}' OR v_grp <> '{}' THEN
        UPDATE routing.plan_domain p SET parts = '{devices,routing}', devices = NULL, groups = NULL
         WHERE p.domain_id = ANY (p_domain_ids) AND (cardinality(p.devices) > 256 OR cardinality(p.groups) > 256);
    END IF;
END
$$;

REVOKE ALL ON FUNCTION routing.plan_mark_stale(bigint[], text[], bigint[], bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION routing.plan_mark_stale(bigint[], text[], bigint[], bigint[]) IS
    'Internal (plan_stale_* triggers): mark parts, devices and groups of domains'' compiled plans out of date; they are compiled at commit.';

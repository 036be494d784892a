-- routing.plan_mark_stale(p_domain_ids bigint[], p_parts text[]) -> void
--
-- Contract: called by the plan_stale_* triggers (0006) after a statement that changed what the
-- compiled plans of these domains are made of; p_parts says which parts of the compiled form
-- ('routing', 'devices'). Marks each existing domain 'stale' in routing.plan_domain (creating
-- the row) and adds p_parts to the parts to compile, which (a) makes plan_call use the
-- reference path (routing.build_plan) for these domains inside this transaction, (b) queues the
-- deferred constraint trigger that compiles the domain at commit, and (c) row-locks the
-- domain's compiled form until commit, so two transactions editing one domain compile one after
-- the other (lock order: domain id). A domain never compiled, or whose last compile failed, is
-- compiled whole. Domains deleted by the statement are skipped.
CREATE OR REPLACE FUNCTION routing.plan_mark_stale(p_domain_ids bigint[], p_parts text[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = routing, pg_temp
AS $$
    INSERT INTO routing.plan_domain AS p (domain_id, state, parts)
    SELECT d.id, 'stale', '{devices,routing}' FROM cfg.domain d WHERE d.id = ANY (p_domain_ids) ORDER BY d.id
    ON CONFLICT (domain_id) DO UPDATE
       SET state = 'stale',
           parts = CASE WHEN p.state = 'failed' THEN '{devices,routing}'
                        WHEN p.state = 'stale' THEN ARRAY(SELECT DISTINCT x FROM unnest(p.parts || p_parts) AS x ORDER BY x)
                        ELSE ARRAY(SELECT DISTINCT x FROM unnest(p_parts) AS x ORDER BY x) END
     WHERE p.state <> 'stale' OR NOT (p.parts @> p_parts);
$$;

REVOKE ALL ON FUNCTION routing.plan_mark_stale(bigint[], text[]) FROM PUBLIC;
COMMENT ON FUNCTION routing.plan_mark_stale(bigint[], text[]) IS
    'Internal (plan_stale_* triggers): mark parts of domains'' compiled plans out of date; they are compiled at commit.';

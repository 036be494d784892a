-- routing.plan_mark_stale(p_domain_ids bigint[]) -> void
--
-- Contract: called by the plan_stale_* triggers (0006) after a statement that changed what the
-- compiled plans of these domains are made of. Marks each existing domain 'stale' in
-- routing.plan_domain (creating the row), which (a) makes plan_call use the reference path
-- (routing.build_plan) for these domains inside this transaction, (b) queues the deferred
-- constraint trigger that compiles the domain at commit, and (c) row-locks the domain's
-- compiled form until commit, so two transactions editing one domain compile one after the
-- other (lock order: domain id). Domains deleted by the statement are skipped.
CREATE OR REPLACE FUNCTION routing.plan_mark_stale(p_domain_ids bigint[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = routing, pg_temp
AS $$
    INSERT INTO routing.plan_domain AS p (domain_id, state)
    SELECT d.id, 'stale' FROM cfg.domain d WHERE d.id = ANY (p_domain_ids) ORDER BY d.id
    ON CONFLICT (domain_id) DO UPDATE SET state = 'stale' WHERE p.state <> 'stale';
$$;

REVOKE ALL ON FUNCTION routing.plan_mark_stale(bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION routing.plan_mark_stale(bigint[]) IS
    'Internal (plan_stale_* triggers): mark domains whose compiled plans are out of date; they are compiled at commit.';

-- routing.plan_mark_items(p_domain_ids bigint[], p_devices bigint[], p_groups bigint[]) -> void
--
-- Contract: called by the device and group-member triggers (0008) after a statement that
-- inserted, deleted or changed a compiled column of devices (p_devices), or changed the members
-- of groups (p_groups), of these domains (a row moved between domains names both). Like
-- routing.plan_mark_stale it marks each existing domain 'stale' (creating the row; a domain
-- never compiled, or whose last compile failed, is compiled whole), which queues the compile at
-- commit and row-locks the domain's compiled form until then; but instead of whole parts it adds
-- the devices and groups to routing.plan_domain.devices/groups, which routing.plan_compile
-- redoes one by one. Past 256 devices or groups in one transaction the domain is compiled whole
-- instead (a bulk load compiles faster in one pass). Domains deleted by the statement are skipped.
CREATE OR REPLACE FUNCTION routing.plan_mark_items(p_domain_ids bigint[], p_devices bigint[], p_groups bigint[])
RETURNS void
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
                        WHEN p.state = 'stale' THEN p.parts
                        ELSE '{}' END,
           devices = CASE WHEN p.state <> 'failed'
                          THEN ARRAY(SELECT DISTINCT i
                                       FROM unnest(CASE WHEN p.state = 'stale' THEN coalesce(p.devices, '{}') END || v_dev) AS i
                                      ORDER BY i) END,
           groups = CASE WHEN p.state <> 'failed'
                         THEN ARRAY(SELECT DISTINCT i
                                      FROM unnest(CASE WHEN p.state = 'stale' THEN coalesce(p.groups, '{}') END || v_grp) AS i
                                     ORDER BY i) END
     WHERE NOT (p.state = 'stale'
                AND (p.parts @> '{devices,routing}'
                     OR ((v_dev = '{}' OR coalesce(p.devices @> v_dev, false))
                         AND (v_grp = '{}' OR coalesce(p.groups @> v_grp, false)))));
    UPDATE routing.plan_domain p SET parts = '{devices,routing}', devices = NULL, groups = NULL
     WHERE p.domain_id = ANY (p_domain_ids) AND (cardinality(p.devices) > 256 OR cardinality(p.groups) > 256);
END
$$;

REVOKE ALL ON FUNCTION routing.plan_mark_items(bigint[], bigint[], bigint[]) FROM PUBLIC;
COMMENT ON FUNCTION routing.plan_mark_items(bigint[], bigint[], bigint[]) IS
    'Internal (device and member triggers, 0008): mark devices and groups whose compiled rows are redone at commit.';

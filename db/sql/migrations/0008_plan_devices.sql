-- 0008_plan_devices: a device or group-member edit recompiles what it is part of, not the whole
-- domain.
--
-- Why: since 0006 an insert, update or delete of a device marked both parts of its domain's
-- compiled form stale, so the commit recompiled every device extension, every SIP user and
-- every unit of the domain. With 10,000 devices that took 1.4 s per device edit on the CI
-- machine, and provisioning devices one transaction at a time grew quadratically. Now the
-- device triggers record which devices changed (routing.plan_mark_stale); at commit
-- routing.plan_compile redoes, for the parts that are not being compiled whole anyway: the
-- device's own extension unit and the extension alternatives it held or now takes, the
-- caller rows of the SIP users it had or now has, and the legs of every unit that reached it or
-- now reaches it (groups that have it, its user or one of its implicit sets as a member,
-- directly or through nested groups; numbers that target it, its user or its sets). More than
-- 256 devices in one transaction fall back to compiling the domain whole. Group members work the
-- same way (routing.plan_domain.groups): adding, changing or removing members of a group redoes
-- the legs of that group's units and of the groups that nest it, instead of the routing part.
ALTER TABLE routing.plan_domain ADD COLUMN devices bigint[];
-- what a device's compiled rows are found by: the legs that ring it, and the extension
-- alternative of its own unit (the unit itself is found by its key 'x:<device id>')
CREATE INDEX plan_leg_device_idx ON routing.plan_leg (device_id);
CREATE INDEX plan_alt_device_unit_idx ON routing.plan_alt (domain_id, (chain[1])) WHERE part = 'devices';
-- plan_compile_units takes the units to fill, plan_mark_stale devices and groups (the routines
-- re-create them with more arguments)
DROP FUNCTION IF EXISTS routing.plan_compile_units(bigint, text);
DROP FUNCTION IF EXISTS routing.plan_mark_stale(bigint[], text[]);
ALTER TABLE routing.plan_domain ADD COLUMN groups bigint[];
COMMENT ON COLUMN routing.plan_domain.devices IS
    'While stale: the devices whose compiled rows are redone one by one at commit, for the parts not compiled whole (0008).';
COMMENT ON COLUMN routing.plan_domain.groups IS
    'While stale: the groups whose members changed; the legs of their units and of the groups nesting them are redone at commit unless the routing part is compiled whole (0008).';

-- The device triggers name the devices to routing.plan_mark_stale (it takes them, and groups, as
-- two new arguments; the routine re-creates it) instead of whole parts. Inserts and
-- deletes stay statement triggers; updates stay row triggers filtered by the columns the
-- compiled form reads (registration and busy updates must not recompile anything).
DROP TRIGGER plan_stale_ins ON cfg.device;
DROP TRIGGER plan_stale_del ON cfg.device;
DROP TRIGGER plan_stale_upd ON cfg.device;

CREATE FUNCTION routing.tg_plan_stale_devices() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = routing, pg_temp AS $$
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        PERFORM routing.plan_mark_stale(ARRAY[OLD.domain_id, NEW.domain_id], '{}', ARRAY[NEW.id]);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM routing.plan_mark_stale(ARRAY(SELECT DISTINCT n.domain_id FROM new_rows n), '{}',
                                        ARRAY(SELECT n.id FROM new_rows n));
    ELSE
        PERFORM routing.plan_mark_stale(ARRAY(SELECT DISTINCT o.domain_id FROM old_rows o), '{}',
                                        ARRAY(SELECT o.id FROM old_rows o));
    END IF;
    RETURN NULL;
END
$$;
-- Group members: the groups of the rows (an update may move a member to another group).
CREATE FUNCTION routing.tg_plan_stale_members() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = routing, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM routing.plan_mark_stale(ARRAY(SELECT DISTINCT n.domain_id FROM new_rows n), '{}', NULL,
                                        ARRAY(SELECT n.group_id FROM new_rows n));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM routing.plan_mark_stale(ARRAY(SELECT DISTINCT o.domain_id FROM old_rows o), '{}', NULL,
                                        ARRAY(SELECT o.group_id FROM old_rows o));
    ELSE
        PERFORM routing.plan_mark_stale(ARRAY(SELECT n.domain_id FROM new_rows n UNION SELECT o.domain_id FROM old_rows o),
                                        '{}', NULL,
                                        ARRAY(SELECT n.group_id FROM new_rows n UNION SELECT o.group_id FROM old_rows o));
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION routing.tg_plan_stale_devices(), routing.tg_plan_stale_members() FROM PUBLIC;

CREATE TRIGGER plan_stale_ins AFTER INSERT ON cfg.device REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_devices();
CREATE TRIGGER plan_stale_del AFTER DELETE ON cfg.device REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_devices();
CREATE TRIGGER plan_stale_upd AFTER UPDATE ON cfg.device FOR EACH ROW
    WHEN ((OLD.domain_id, OLD.name, OLD.extension, OLD.endpoint, OLD.alert_mode, OLD.user_id, OLD.number_id,
           OLD.presented_number_id)
          IS DISTINCT FROM
          (NEW.domain_id, NEW.name, NEW.extension, NEW.endpoint, NEW.alert_mode, NEW.user_id, NEW.number_id,
           NEW.presented_number_id))
    EXECUTE FUNCTION routing.tg_plan_stale_devices();

DROP TRIGGER plan_stale_ins ON cfg.hunt_group_member;
DROP TRIGGER plan_stale_upd ON cfg.hunt_group_member;
DROP TRIGGER plan_stale_del ON cfg.hunt_group_member;
CREATE TRIGGER plan_stale_ins AFTER INSERT ON cfg.hunt_group_member REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_members();
CREATE TRIGGER plan_stale_upd AFTER UPDATE ON cfg.hunt_group_member REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_members();
CREATE TRIGGER plan_stale_del AFTER DELETE ON cfg.hunt_group_member REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_members();

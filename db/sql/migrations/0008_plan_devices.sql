-- 0008_plan_devices: a device edit recompiles what that device is part of, not its whole domain.
--
-- Why: since 0006 an insert, update or delete of a device marked both parts of its domain's
-- compiled form stale, so the commit recompiled every device extension, every SIP user and
-- every unit of the domain. With 10,000 devices that took 1.4 s per device edit on the CI
-- machine, and provisioning devices one transaction at a time grew quadratically. Now the
-- device triggers record which devices changed (routing.plan_mark_devices); at commit
-- routing.plan_compile redoes, for the parts that are not being compiled whole anyway: the
-- device's own extension unit and the extension alternatives it held or now takes, the
-- caller rows of the SIP users it had or now has, and the legs of every unit that reached it or
-- now reaches it (groups that have it, its user or one of its implicit sets as a member,
-- directly or through nested groups; numbers that target it, its user or its sets). More than
-- 256 devices in one transaction fall back to compiling the domain whole.
ALTER TABLE routing.plan_domain ADD COLUMN devices bigint[];
-- what a device's compiled rows are found by: the legs that ring it, and the extension
-- alternative of its own unit (the unit itself is found by its key 'x:<device id>')
CREATE INDEX plan_leg_device_idx ON routing.plan_leg (device_id);
CREATE INDEX plan_alt_device_unit_idx ON routing.plan_alt (domain_id, (chain[1])) WHERE part = 'devices';
-- plan_compile_units takes the units to fill (the routine re-creates it with a third argument)
DROP FUNCTION IF EXISTS routing.plan_compile_units(bigint, text);
COMMENT ON COLUMN routing.plan_domain.devices IS
    'While stale: the devices whose compiled rows are redone one by one at commit, for the parts not compiled whole (0008).';

-- The device triggers call the new routine instead of routing.plan_mark_stale. Inserts and
-- deletes stay statement triggers; updates stay row triggers filtered by the columns the
-- compiled form reads (registration and busy updates must not recompile anything).
DROP TRIGGER plan_stale_ins ON cfg.device;
DROP TRIGGER plan_stale_del ON cfg.device;
DROP TRIGGER plan_stale_upd ON cfg.device;

CREATE FUNCTION routing.tg_plan_stale_devices() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = routing, pg_temp AS $$
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        PERFORM routing.plan_mark_devices(ARRAY[OLD.domain_id, NEW.domain_id], ARRAY[NEW.id]);
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM routing.plan_mark_devices(ARRAY(SELECT DISTINCT n.domain_id FROM new_rows n),
                                          ARRAY(SELECT n.id FROM new_rows n));
    ELSE
        PERFORM routing.plan_mark_devices(ARRAY(SELECT DISTINCT o.domain_id FROM old_rows o),
                                          ARRAY(SELECT o.id FROM old_rows o));
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION routing.tg_plan_stale_devices() FROM PUBLIC;

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

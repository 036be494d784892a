-- billing.audit_change() -> trigger
--
-- Row trigger on billing.policy_rule, billing.phone_number (insert/update/delete) and
-- billing.phone (update of private_mode, private_until, default_account_id): writes who changed
-- what and when to billing.audit_log. actor = current_setting('huntsman.actor', true) when set
-- (the console sets it to the logged-in user with SET LOCAL), else session_user.
-- The triggers are created here, after the function (CREATE OR REPLACE TRIGGER, PostgreSQL 14+).
CREATE OR REPLACE FUNCTION billing.audit_change()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = billing, pg_temp
AS $$
DECLARE
    v_actor  text := coalesce(nullif(current_setting('huntsman.actor', true), ''), session_user::text);
    v_row    record;
    v_change text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_row := OLD;
    ELSE
        v_row := NEW;
    END IF;
    IF TG_TABLE_NAME = 'phone' THEN
        IF NEW.private_mode IS DISTINCT FROM OLD.private_mode THEN
            v_change := CASE WHEN NEW.private_mode THEN 'private_mode_on' ELSE 'private_mode_off' END;
        ELSIF NEW.private_until IS DISTINCT FROM OLD.private_until THEN
            v_change := 'private_until_change';
        ELSIF NEW.default_account_id IS DISTINCT FROM OLD.default_account_id THEN
            v_change := 'default_account_change';
        ELSE
            RETURN NULL;
        END IF;
        INSERT INTO billing.audit_log (domain_id, actor, change, phone_id, old_row, new_row)
        VALUES (NEW.domain_id, v_actor, v_change, NEW.id,
                jsonb_build_object('private_mode', OLD.private_mode, 'private_until', OLD.private_until,
                                   'default_account_id', OLD.default_account_id),
                jsonb_build_object('private_mode', NEW.private_mode, 'private_until', NEW.private_until,
                                   'default_account_id', NEW.default_account_id));
        RETURN NULL;
    END IF;
    v_change := TG_TABLE_NAME || '_' || lower(TG_OP);
    INSERT INTO billing.audit_log (domain_id, actor, change, phone_id, old_row, new_row)
    VALUES (v_row.domain_id, v_actor, v_change, v_row.phone_id,
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION billing.audit_change() FROM PUBLIC;
COMMENT ON FUNCTION billing.audit_change() IS
    'Audit trigger: policy rule and phone number changes, private mode switches and default account changes go to billing.audit_log with the actor.';

CREATE OR REPLACE TRIGGER policy_rule_audit
    AFTER INSERT OR UPDATE OR DELETE ON billing.policy_rule
    FOR EACH ROW EXECUTE FUNCTION billing.audit_change();
CREATE OR REPLACE TRIGGER phone_number_audit
    AFTER INSERT OR UPDATE OR DELETE ON billing.phone_number
    FOR EACH ROW EXECUTE FUNCTION billing.audit_change();
CREATE OR REPLACE TRIGGER phone_audit
    AFTER UPDATE OF private_mode, private_until, default_account_id ON billing.phone
    FOR EACH ROW EXECUTE FUNCTION billing.audit_change();

-- cfg.validate_row(p_table text, p_row jsonb) -> void
--
-- Contract: called by the BEFORE INSERT/UPDATE row triggers of the cfg tables (cfg.tg_validate_row)
-- with the new row as jsonb. Returns when the row is valid; otherwise raises one error that names
-- the field and the value ("hunt_group_member.ring_timeout = -5 is out of range: must be between 1
-- and 600 seconds"), SQLSTATE 23514 (check_violation) or 23505 (unique_violation), with the
-- SCHEMA/TABLE/COLUMN/CONSTRAINT error fields set; CONSTRAINT is the name of the CHECK constraint
-- (or unique index) that guards the same rule, so the message is the same whether the row comes
-- from the console or from psql. The CHECK constraints stay as the backstop.
CREATE OR REPLACE FUNCTION cfg.validate_row(p_table text, p_row jsonb)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    c_e164       CONSTANT text := '^\+[1-9][0-9]{1,14}$';
    c_e164_text  CONSTANT text := 'an E.164 number: + then 2 to 15 digits, e.g. +4930123456';
    c_name       CONSTANT text := '^[^[:cntrl:]]+$';
    c_name_text  CONSTANT text := '1 to 80 characters without control characters';
    c_ext        CONSTANT text := '^[0-9]{2,15}$';
    c_ext_text   CONSTANT text := 'an extension of 2 to 15 digits';
    v_domain_id  bigint := (p_row->>'domain_id')::bigint;
    v_kind       text;
    v_other      text;
    v_ok         boolean;
BEGIN
    CASE p_table
    WHEN 'domain' THEN
        v_ok := cfg.assert_format(p_table, 'name', p_row->>'name',
            '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$',
            'a lower-case domain name such as example.com');
        v_ok := cfg.assert_format(p_table, 'gateway', p_row->>'gateway', '^[A-Za-z0-9_.-]+$',
            'a gateway name of up to 64 letters, digits, _ . -', 64);
        v_ok := cfg.assert_range(p_table, 'ring_timeout', (p_row->>'ring_timeout')::bigint, 1, 600, 'seconds');
        v_ok := cfg.assert_format(p_table, 'fallback_destination', p_row->>'fallback_destination',
            '^[A-Za-z0-9_+*#.-]+$', 'a dialplan extension of up to 64 letters, digits, _ + * # . -', 64);
        v_ok := cfg.assert_format(p_table, 'fallback_context', p_row->>'fallback_context',
            '^[A-Za-z0-9_.-]+$', 'a dialplan context of up to 64 letters, digits, _ . -', 64);

    WHEN 'app_user' THEN
        v_ok := cfg.assert_format(p_table, 'name', p_row->>'name', c_name, c_name_text, 80);

    WHEN 'number' THEN
        v_ok := cfg.assert_format(p_table, 'e164', p_row->>'e164', c_e164, c_e164_text);
        v_ok := cfg.assert_format(p_table, 'label', p_row->>'label', c_name, c_name_text, 80);
        v_kind := p_row->>'target_kind';
        IF (v_kind IS NULL AND num_nonnulls(p_row->>'target_group_id', p_row->>'target_set_id',
                                            p_row->>'target_device_id', p_row->>'target_user_id') > 0)
           OR (v_kind IS NOT NULL
               AND (num_nonnulls(p_row->>'target_group_id', p_row->>'target_set_id',
                                 p_row->>'target_device_id', p_row->>'target_user_id') <> 1
                    OR p_row->>(CASE v_kind WHEN 'implicit_set' THEN 'target_set_id'
                                            ELSE 'target_' || v_kind || '_id' END) IS NULL)) THEN
            PERFORM cfg.raise_invalid(p_table, 'target_kind', 'number_target_consistent',
                format('number.target_kind = %s needs %s', coalesce(quote_literal(v_kind), 'NULL'),
                       CASE v_kind WHEN 'implicit_set' THEN 'target_set_id and no other target_*_id'
                                   WHEN 'group' THEN 'target_group_id and no other target_*_id'
                                   WHEN 'device' THEN 'target_device_id and no other target_*_id'
                                   WHEN 'user' THEN 'target_user_id and no other target_*_id'
                                   ELSE 'no target_*_id' END));
        END IF;

    WHEN 'device' THEN
        v_ok := cfg.assert_format(p_table, 'name', p_row->>'name', c_name, c_name_text, 80);
        v_ok := cfg.assert_format(p_table, 'extension', p_row->>'extension', c_ext, c_ext_text);
        v_ok := cfg.assert_format(p_table, 'endpoint', p_row->>'endpoint',
            '^(user/[A-Za-z0-9_.+-]+@[a-z0-9.-]+'
            || '|sofia/gateway/[A-Za-z0-9_.-]+/\+?[0-9]+'
            || '|sofia/[A-Za-z0-9.-]+/(sip:)?[A-Za-z0-9.+-]+@[A-Za-z0-9.-]+(:[0-9]+)?'
            || '|\+[1-9][0-9]{1,14})$',
            'user/<ext>@<domain>, sofia/<profile>/<user>@<host>, sofia/gateway/<gateway>/<number> '
            || 'or an E.164 number (at most 300 characters)', 300);
        IF p_row->>'extension' IS NOT NULL THEN
            SELECT g.name INTO v_other FROM cfg.hunt_group g
             WHERE g.domain_id = v_domain_id AND g.extension = p_row->>'extension';
            IF FOUND THEN
                PERFORM cfg.raise_invalid(p_table, 'extension', 'device_domain_extension_key',
                    format('device.extension = %L is already used by hunt group %L', p_row->>'extension', v_other),
                    '23505');
            END IF;
        END IF;

    WHEN 'hunt_group' THEN
        v_ok := cfg.assert_format(p_table, 'name', p_row->>'name', c_name, c_name_text, 80);
        v_ok := cfg.assert_format(p_table, 'extension', p_row->>'extension', c_ext, c_ext_text);
        v_ok := cfg.assert_range(p_table, 'ring_timeout', (p_row->>'ring_timeout')::bigint, 1, 600, 'seconds');
        v_ok := cfg.assert_format(p_table, 'overflow_number', p_row->>'overflow_number', c_e164, c_e164_text);
        v_ok := cfg.assert_format(p_table, 'overflow_mailbox', p_row->>'overflow_mailbox',
            '^[A-Za-z0-9_.-]+$', 'a mailbox id of up to 64 letters, digits, _ . -', 64);
        v_ok := cfg.assert_format(p_table, 'overflow_cause', p_row->>'overflow_cause',
            '^[A-Z][A-Z_][A-Z_]+$', 'a hangup cause name such as NO_ANSWER', 64);
        v_kind := p_row->>'overflow_kind';
        IF num_nonnulls(p_row->>'overflow_group_id', p_row->>'overflow_number', p_row->>'overflow_mailbox',
                        p_row->>'overflow_cause')
               > (CASE WHEN v_kind IS NULL THEN 0 ELSE 1 END)
           OR (v_kind = 'group' AND p_row->>'overflow_group_id' IS NULL)
           OR (v_kind = 'number' AND p_row->>'overflow_number' IS NULL)
           OR (v_kind = 'voicemail' AND p_row->>'overflow_mailbox' IS NULL)
           OR (v_kind IN ('group', 'number', 'voicemail') AND p_row->>'overflow_cause' IS NOT NULL)
           OR (v_kind IN ('hangup') AND num_nonnulls(p_row->>'overflow_group_id', p_row->>'overflow_number',
                                                     p_row->>'overflow_mailbox') > 0) THEN
            PERFORM cfg.raise_invalid(p_table, 'overflow_kind', 'hunt_group_overflow_consistent',
                format('hunt_group.overflow_kind = %L needs %s and no other overflow_* field', v_kind,
                       CASE v_kind WHEN 'group' THEN 'overflow_group_id' WHEN 'number' THEN 'overflow_number'
                                   WHEN 'voicemail' THEN 'overflow_mailbox'
                                   WHEN 'hangup' THEN 'at most overflow_cause' ELSE 'nothing' END));
        END IF;
        IF p_row->>'extension' IS NOT NULL THEN
            SELECT d.name INTO v_other FROM cfg.device d
             WHERE d.domain_id = v_domain_id AND d.extension = p_row->>'extension';
            IF FOUND THEN
                PERFORM cfg.raise_invalid(p_table, 'extension', 'hunt_group_domain_extension_key',
                    format('hunt_group.extension = %L is already used by device %L', p_row->>'extension', v_other),
                    '23505');
            END IF;
        END IF;

    WHEN 'hunt_group_member' THEN
        v_ok := cfg.assert_range(p_table, 'ring_timeout', (p_row->>'ring_timeout')::bigint, 1, 600, 'seconds');
        v_ok := cfg.assert_range(p_table, 'delay', (p_row->>'delay')::bigint, 0, 300, 'seconds');
        v_ok := cfg.assert_range(p_table, 'weight', (p_row->>'weight')::bigint, 1, 1000);
        v_ok := cfg.assert_format(p_table, 'external_number', p_row->>'external_number', c_e164, c_e164_text);
        v_kind := p_row->>'kind';
        IF num_nonnulls(p_row->>'device_id', p_row->>'user_id', p_row->>'set_id', p_row->>'external_number',
                        p_row->>'member_group_id') <> 1
           OR p_row->>(CASE v_kind WHEN 'device' THEN 'device_id' WHEN 'user' THEN 'user_id'
                                   WHEN 'implicit_set' THEN 'set_id' WHEN 'external' THEN 'external_number'
                                   ELSE 'member_group_id' END) IS NULL THEN
            PERFORM cfg.raise_invalid(p_table, 'kind', 'hunt_group_member_target_consistent',
                format('hunt_group_member.kind = %L needs exactly one target: %s', v_kind,
                       CASE v_kind WHEN 'device' THEN 'device_id' WHEN 'user' THEN 'user_id'
                                   WHEN 'implicit_set' THEN 'set_id' WHEN 'external' THEN 'external_number'
                                   ELSE 'member_group_id' END));
        END IF;
        IF p_row->>'member_group_id' = p_row->>'group_id' THEN
            PERFORM cfg.raise_invalid(p_table, 'member_group_id', 'hunt_group_member_not_self',
                format('hunt_group_member.member_group_id = %s: a group cannot be a member of itself',
                       p_row->>'member_group_id'));
        END IF;

    WHEN 'schedule_window' THEN
        IF p_row->>'start_time' = p_row->>'end_time' THEN
            PERFORM cfg.raise_invalid(p_table, 'end_time', 'schedule_window_not_empty',
                format('schedule_window.end_time = %s equals start_time: the window would be empty '
                       '(use end_time 24:00 for "until midnight")', p_row->>'end_time'));
        END IF;

    WHEN 'schedule_exception' THEN
        IF (p_row->>'closed')::boolean AND num_nonnulls(p_row->>'start_time', p_row->>'end_time') > 0
           OR NOT (p_row->>'closed')::boolean
              AND (num_nonnulls(p_row->>'start_time', p_row->>'end_time') < 2
                   OR p_row->>'start_time' = p_row->>'end_time') THEN
            PERFORM cfg.raise_invalid(p_table, 'closed', 'schedule_exception_hours_consistent',
                format('schedule_exception on %s: closed = %s needs %s', p_row->>'on_date', p_row->>'closed',
                       CASE WHEN (p_row->>'closed')::boolean THEN 'no start_time/end_time'
                            ELSE 'start_time and a different end_time' END));
        END IF;
        v_ok := cfg.assert_format(p_table, 'name', p_row->>'name', c_name, c_name_text, 80);

    WHEN 'contact_list_entry' THEN
        v_ok := cfg.assert_format(p_table, 'number', p_row->>'number', '^\+?[0-9]{1,15}$',
            'a caller number: optional + then 1 to 15 digits');

    WHEN 'routing_rule' THEN
        v_ok := cfg.assert_format(p_table, 'name', p_row->>'name', c_name, c_name_text, 80);
        v_kind := p_row->>'caller_match';
        IF v_kind IN ('exact', 'prefix') THEN
            v_ok := cfg.assert_format(p_table, 'caller_value', p_row->>'caller_value', '^\+?[0-9]{1,15}$',
                'a caller number or prefix: optional + then 1 to 15 digits');
        END IF;
        IF v_kind IN ('exact', 'prefix', 'pattern') AND p_row->>'caller_value' IS NULL
           OR v_kind = 'list' AND p_row->>'contact_list_id' IS NULL
           OR v_kind <> 'list' AND p_row->>'contact_list_id' IS NOT NULL
           OR v_kind IN ('any', 'list') AND p_row->>'caller_value' IS NOT NULL THEN
            PERFORM cfg.raise_invalid(p_table, 'caller_match', 'routing_rule_caller_consistent',
                format('routing_rule.caller_match = %L needs %s', v_kind,
                       CASE v_kind WHEN 'any' THEN 'no caller_value and no contact_list_id'
                                   WHEN 'list' THEN 'contact_list_id (and no caller_value)'
                                   ELSE 'caller_value (and no contact_list_id)' END));
        END IF;
        IF v_kind = 'pattern' THEN
            BEGIN
                PERFORM '' ~ (p_row->>'caller_value');
            EXCEPTION WHEN invalid_regular_expression THEN
                PERFORM cfg.raise_invalid(p_table, 'caller_value', 'routing_rule_caller_value_pattern',
                    format('routing_rule.caller_value = %L is not a valid regular expression: %s',
                           p_row->>'caller_value', SQLERRM));
            END;
        END IF;
        IF (p_row->>'action' = 'group') <> (p_row->>'target_group_id' IS NOT NULL) THEN
            PERFORM cfg.raise_invalid(p_table, 'target_group_id', 'routing_rule_action_consistent',
                format('routing_rule.action = %L %s target_group_id', p_row->>'action',
                       CASE WHEN p_row->>'action' = 'group' THEN 'needs' ELSE 'must not have' END));
        END IF;

    ELSE
        NULL;
    END CASE;
END
$$;

REVOKE ALL ON FUNCTION cfg.validate_row(text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION cfg.validate_row(text, jsonb) IS
    'Validate a cfg row (as jsonb) before it is saved; raises an error naming the field and the value.';

-- 0006_plan_cache: a compiled form of each domain's routing configuration.
--
-- Why: routing.build_plan walks the configuration for every call (domain, number, rules, the
-- recursive member expansion of each group of the overflow chain, a JSON document rebuilt at
-- every level). routing.plan_call and routing.start_call now read this compiled form instead:
-- one indexed query picks the route and the matching rule, a second reads the legs of every
-- step with the live device state (dnd, registered, busy, last_call_ended), the round-robin
-- pointers and the member schedules at p_now, and the plan is assembled from pre-rendered JSON
-- text. build_plan stays the reference (explain_call uses it) and the fallback: whenever the
-- compiled form cannot answer exactly (a domain that is being edited in the caller's own
-- transaction, a domain that failed to compile, a step with a device twice or more than 128
-- candidate legs, a trunk call to a domain that is not a tenant), plan_call uses build_plan.
-- tests/sql compare both paths on every plan they make.
--
-- Freshness: statement triggers on every table the compiled form is made of mark the domains
-- they touch 'stale' (routing.plan_mark_stale); a deferred constraint trigger compiles each
-- stale domain once, at commit, in the same transaction (routing.plan_compile). The row lock on
-- routing.plan_domain serialises two transactions that edit the same domain, so the later one
-- compiles with the earlier one's changes (under REPEATABLE READ the later one gets a
-- serialization failure instead, and retries). Live state is never compiled: registration and
-- busy updates do not touch this cache. Schedules and contact lists are read live too.
-- `huntsman db migrate` recompiles every domain compiled by another version of the compiler.

CREATE TABLE routing.plan_domain (
    domain_id    bigint PRIMARY KEY REFERENCES cfg.domain (id) ON DELETE CASCADE,
    state        text NOT NULL CONSTRAINT plan_domain_state_value CHECK (state IN ('stale', 'fresh', 'failed')),
    -- while stale: the parts to compile at commit ('routing': groups, numbers, rules, queues;
    -- 'devices': device extensions and the SIP users of callers); a failed or new domain: both
    parts        text[] NOT NULL DEFAULT '{devices,routing}'
        CONSTRAINT plan_domain_parts_value CHECK (parts <@ '{devices,routing}'),
    domain_name  text,
    gateway      text,
    ring_timeout integer,
    fallback     text,
    compiler     text,
    version      bigint NOT NULL DEFAULT 0,
    compiled_at  timestamptz,
    error        text
);
COMMENT ON TABLE routing.plan_domain IS
    'One row per compiled domain: stale (edited in an open transaction), fresh (plan_call reads the compiled form) or failed (plan_call uses build_plan; error says why).';
CREATE INDEX plan_domain_name_idx ON routing.plan_domain (domain_name);

CREATE TABLE routing.plan_unit (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id    bigint NOT NULL REFERENCES routing.plan_domain (domain_id) ON DELETE CASCADE,
    key          text NOT NULL,
    part         text NOT NULL DEFAULT 'routing' CONSTRAINT plan_unit_part_value CHECK (part IN ('devices', 'routing')),
    target_kind  text,
    target_id    bigint,
    device_filter bigint[],
    member_filter bigint[],
    group_id     bigint,
    strategy     text,
    dial         text,
    ring_timeout integer,
    skip_busy    boolean,
    skip_dnd     boolean,
    skip_unreg   boolean,
    head         text,
    static_step  text,
    tail         bigint[],
    repeats      boolean NOT NULL DEFAULT false,
    exact        boolean NOT NULL DEFAULT true,
    CONSTRAINT plan_unit_domain_key UNIQUE (domain_id, key)
);
COMMENT ON TABLE routing.plan_unit IS
    'A compiled plan step: a bridge step to ring (head = its JSON without timeout and legs; legs in routing.plan_leg) or a fixed step (static_step: voicemail, hangup, transfer, queue, external bridge).';

CREATE TABLE routing.plan_leg (
    domain_id     bigint NOT NULL REFERENCES routing.plan_domain (domain_id) ON DELETE CASCADE,
    -- no foreign key to plan_unit: only routing.plan_compile writes these tables, and it deletes
    -- a domain's legs with one statement (a cascading key would run one delete per unit)
    unit_id       bigint NOT NULL,
    part          text NOT NULL DEFAULT 'routing' CONSTRAINT plan_leg_part_value CHECK (part IN ('devices', 'routing')),
    seq           integer NOT NULL,
    top_id        bigint,
    top_position  integer,
    top_weight    integer,
    device_id     bigint,
    user_endpoint boolean NOT NULL,
    schedule_ids  bigint[],
    has_target    boolean NOT NULL,
    dt            integer NOT NULL,
    leg           text NOT NULL,
    PRIMARY KEY (unit_id, seq)
);
CREATE INDEX plan_leg_domain_idx ON routing.plan_leg (domain_id);
COMMENT ON TABLE routing.plan_leg IS
    'A candidate leg of a compiled step, in configuration order (seq); leg is its JSON. Filtered at plan time by live device state and member schedules.';

CREATE TABLE routing.plan_alt (
    domain_id       bigint NOT NULL REFERENCES routing.plan_domain (domain_id) ON DELETE CASCADE,
    dest            text NOT NULL,
    alt_no          integer NOT NULL,
    part            text NOT NULL DEFAULT 'routing' CONSTRAINT plan_alt_part_value CHECK (part IN ('devices', 'routing')),
    rule_id         bigint,
    caller_match    cfg.caller_match NOT NULL DEFAULT 'any',
    caller_value    text,
    contact_list_id bigint,
    schedule_id     bigint,
    schedule_in     boolean,
    route           text NOT NULL,
    number_id       bigint,
    chain           bigint[] NOT NULL,
    exact           boolean NOT NULL,
    PRIMARY KEY (domain_id, dest, alt_no)
);
COMMENT ON TABLE routing.plan_alt IS
    'A destination of a compiled domain (E.164 number or extension) and its alternatives: one per enabled routing rule in order, then the default; chain = the plan_unit ids of its steps.';

CREATE TABLE routing.plan_caller (
    domain_id    bigint NOT NULL REFERENCES routing.plan_domain (domain_id) ON DELETE CASCADE,
    from_user    text NOT NULL,
    device_id    bigint NOT NULL,
    presented_id bigint,
    presented    text,
    PRIMARY KEY (domain_id, from_user)
);
COMMENT ON TABLE routing.plan_caller IS
    'The devices of a compiled domain by SIP user (endpoint user/<from_user>@<domain>) and the number each presents.';

CREATE TABLE routing.plan_compiler (
    singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT plan_compiler_singleton CHECK (singleton),
    version   text NOT NULL
);
COMMENT ON TABLE routing.plan_compiler IS
    'The version (checksum of db/sql/routines) of the compiler that routing.plan_refresh last ran; domains compiled by another version are recompiled.';
INSERT INTO routing.plan_compiler (version) VALUES ('');

REVOKE ALL ON routing.plan_compiler, routing.plan_domain, routing.plan_unit, routing.plan_leg, routing.plan_alt, routing.plan_caller FROM PUBLIC;
GRANT SELECT ON routing.plan_compiler, routing.plan_domain, routing.plan_unit, routing.plan_leg, routing.plan_alt, routing.plan_caller TO huntsman_report;
-- The console shows each domain's compile state (and the error of a failed compile).
GRANT SELECT ON routing.plan_domain TO huntsman_console;

-- ---------------------------------------------------------------------------------------------
-- Triggers (wiring only; routing.plan_mark_stale and routing.plan_compile are routines)
-- ---------------------------------------------------------------------------------------------
-- Statement triggers: the domains of the rows in the statement's transition tables (an INSERT
-- trigger names only new_rows, a DELETE trigger only old_rows, an UPDATE trigger both).
CREATE FUNCTION routing.tg_plan_stale_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = routing, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM routing.plan_mark_stale(ARRAY(SELECT DISTINCT n.domain_id FROM new_rows n), TG_ARGV::text[]);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM routing.plan_mark_stale(ARRAY(SELECT DISTINCT o.domain_id FROM old_rows o), TG_ARGV::text[]);
    ELSE
        PERFORM routing.plan_mark_stale(ARRAY(SELECT n.domain_id FROM new_rows n UNION SELECT o.domain_id FROM old_rows o),
                                        TG_ARGV::text[]);
    END IF;
    RETURN NULL;
END
$$;
-- cfg.domain's own id is its domain id.
CREATE FUNCTION routing.tg_plan_stale_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = routing, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'domain' THEN
        PERFORM routing.plan_mark_stale(ARRAY[NEW.id], TG_ARGV::text[]);
    ELSE
        PERFORM routing.plan_mark_stale(ARRAY[OLD.domain_id, NEW.domain_id], TG_ARGV::text[]);
    END IF;
    RETURN NULL;
END
$$;
-- TRUNCATE has no transition tables: every domain.
CREATE FUNCTION routing.tg_plan_stale_all() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = routing, pg_temp AS $$
BEGIN
    PERFORM routing.plan_mark_stale(ARRAY(SELECT d.id FROM cfg.domain d), TG_ARGV::text[]);
    RETURN NULL;
END
$$;
CREATE FUNCTION routing.tg_plan_compile() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = routing, pg_temp AS $$
BEGIN
    PERFORM routing.plan_compile(NEW.domain_id, true);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION routing.tg_plan_stale_rows(),
                       routing.tg_plan_stale_row(), routing.tg_plan_stale_all(), routing.tg_plan_compile() FROM PUBLIC;

-- Tables whose every change matters: statement triggers with transition tables. The trigger
-- argument says which parts of the compiled form they feed: numbers and implicit sets also give
-- callers their presented number; groups, members, rules and queues only the routing part.
DO $$
DECLARE
    t text;
    v_parts text;
BEGIN
    FOREACH t IN ARRAY ARRAY['cfg.number', 'cfg.implicit_set', 'cfg.implicit_set_device', 'cfg.hunt_group',
                             'cfg.hunt_group_member', 'cfg.routing_rule', 'cfg.routing_rule_device',
                             'cfg.routing_rule_member', 'queue.queue']
    LOOP
        v_parts := CASE WHEN t IN ('cfg.number', 'cfg.implicit_set', 'cfg.implicit_set_device')
                        THEN '''devices'', ''routing''' ELSE '''routing''' END;
        EXECUTE format('CREATE TRIGGER plan_stale_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_rows(%s)', t, v_parts);
        EXECUTE format('CREATE TRIGGER plan_stale_upd AFTER UPDATE ON %s REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_rows(%s)', t, v_parts);
        EXECUTE format('CREATE TRIGGER plan_stale_del AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_rows(%s)', t, v_parts);
        EXECUTE format('CREATE TRIGGER plan_stale_truncate AFTER TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_all(%s)', t, v_parts);
    END LOOP;
END
$$;

-- Devices: inserts and deletes per statement; updates only when a compiled column changes
-- (registration and busy updates must not recompile anything).
CREATE TRIGGER plan_stale_ins AFTER INSERT ON cfg.device REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_rows('devices', 'routing');
CREATE TRIGGER plan_stale_del AFTER DELETE ON cfg.device REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_rows('devices', 'routing');
CREATE TRIGGER plan_stale_truncate AFTER TRUNCATE ON cfg.device
    FOR EACH STATEMENT EXECUTE FUNCTION routing.tg_plan_stale_all('devices', 'routing');
CREATE TRIGGER plan_stale_upd AFTER UPDATE ON cfg.device FOR EACH ROW
    WHEN ((OLD.domain_id, OLD.name, OLD.extension, OLD.endpoint, OLD.alert_mode, OLD.user_id, OLD.number_id,
           OLD.presented_number_id)
          IS DISTINCT FROM
          (NEW.domain_id, NEW.name, NEW.extension, NEW.endpoint, NEW.alert_mode, NEW.user_id, NEW.number_id,
           NEW.presented_number_id))
    EXECUTE FUNCTION routing.tg_plan_stale_row('devices', 'routing');

-- Domains: a new domain is compiled (empty); an update of what plans use recompiles it.
CREATE TRIGGER plan_stale_ins AFTER INSERT ON cfg.domain FOR EACH ROW
    EXECUTE FUNCTION routing.tg_plan_stale_row('devices', 'routing');
CREATE TRIGGER plan_stale_upd AFTER UPDATE ON cfg.domain FOR EACH ROW
    WHEN ((OLD.name, OLD.gateway, OLD.ring_timeout, OLD.fallback_destination, OLD.fallback_context)
          IS DISTINCT FROM (NEW.name, NEW.gateway, NEW.ring_timeout, NEW.fallback_destination, NEW.fallback_context))
    EXECUTE FUNCTION routing.tg_plan_stale_row('devices', 'routing');

-- Compile each stale domain once, at commit.
CREATE CONSTRAINT TRIGGER plan_compile AFTER INSERT OR UPDATE OF state ON routing.plan_domain
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.state = 'stale')
    EXECUTE FUNCTION routing.tg_plan_compile();

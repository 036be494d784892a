-- 0002_cdr: call detail records written by the controller (schema cdr).
--
-- Contract: docs/contracts.md sections 1 and 4. The controller never writes these tables
-- directly: it calls cdr.record_call(p_cdr jsonb) (db/sql/routines/cdr/record_call.sql), which
-- validates the document, is idempotent on the call uuid, and is the hook point where charges
-- are computed in the same transaction (billing.charge_call, once migration 0004 provides it).
-- All timestamps are timestamptz (UTC on the wire); FreeSWITCH's local-time *_stamp strings are
-- never stored.

CREATE SCHEMA cdr;
COMMENT ON SCHEMA cdr IS 'Call detail records: one cdr.call per A-leg (call uuid), one cdr.call_leg per leg rung.';

INSERT INTO routing.error_code (sqlstate, name, hangup_cause, description) VALUES
    ('HMC01', 'invalid_cdr', 'NORMAL_CLEARING',
     'cdr.record_call was given a document it cannot store (not an object, no valid uuid, unknown disposition, '
     'missing or malformed times); the message names the field and the value. The call itself is already over.')
ON CONFLICT (sqlstate) DO NOTHING;

CREATE TYPE cdr.disposition AS ENUM ('answered', 'no_answer', 'busy', 'failed', 'abandoned');
CREATE TYPE cdr.leg_outcome AS ENUM (
    'answered', 'no_answer', 'busy', 'failed', 'lose_race', 'cancelled', 'unreachable', 'not_started');

CREATE TABLE cdr.call (
    id                     bigserial PRIMARY KEY,
    domain_id              bigint REFERENCES cfg.domain (id) ON DELETE SET NULL,
    call_uuid              uuid NOT NULL CONSTRAINT call_call_uuid_key UNIQUE,
    caller_number          text CONSTRAINT call_caller_number_format CHECK (length(caller_number) <= 32),
    caller_name            text CONSTRAINT call_caller_name_format
        CHECK (length(caller_name) <= 80 AND caller_name !~ '[[:cntrl:]]'),
    destination            text CONSTRAINT call_destination_format CHECK (length(destination) <= 64),
    route_kind             text,
    route_number_id        bigint,
    route_group_id         bigint,
    route_rule_id          bigint,
    answered_by_target     text,
    answered_by_device_id  bigint,
    start_at               timestamptz NOT NULL,
    answer_at              timestamptz,
    end_at                 timestamptz NOT NULL,
    billsec                integer NOT NULL DEFAULT 0 CONSTRAINT call_billsec_not_negative CHECK (billsec >= 0),
    duration               integer NOT NULL CONSTRAINT call_duration_not_negative CHECK (duration >= 0),
    hangup_cause           text CONSTRAINT call_hangup_cause_format CHECK (hangup_cause ~ '^[A-Z][A-Z0-9_]{0,63}$'),
    disposition            cdr.disposition NOT NULL,
    plan                   jsonb,
    created_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT call_billsec_within_duration CHECK (billsec <= duration),
    CONSTRAINT call_times_ordered CHECK (end_at >= start_at AND (answer_at IS NULL OR answer_at >= start_at))
);
COMMENT ON TABLE cdr.call IS 'One row per call handed to the controller (the A-leg), written once by cdr.record_call.';
COMMENT ON COLUMN cdr.call.route_number_id IS 'cfg.number.id the plan used; no foreign key: a CDR outlives configuration.';
COMMENT ON COLUMN cdr.call.billsec IS 'Whole seconds from answer to end (FreeSWITCH billsec).';
COMMENT ON COLUMN cdr.call.plan IS 'The plan JSON the controller executed (routing.start_call output), null when the call got the fallback without one.';

CREATE INDEX call_domain_start_idx ON cdr.call (domain_id, start_at DESC);
CREATE INDEX call_start_idx ON cdr.call (start_at DESC);

CREATE TABLE cdr.call_leg (
    call_id      bigint NOT NULL REFERENCES cdr.call (id) ON DELETE CASCADE,
    seq          integer NOT NULL CONSTRAINT call_leg_seq_positive CHECK (seq >= 1),
    domain_id    bigint,
    step         integer NOT NULL CONSTRAINT call_leg_step_not_negative CHECK (step >= 0),
    target       text NOT NULL CONSTRAINT call_leg_target_format CHECK (length(target) BETWEEN 1 AND 512),
    device_id    bigint,
    outcome      cdr.leg_outcome NOT NULL,
    cause        text CONSTRAINT call_leg_cause_format CHECK (cause ~ '^[A-Z0-9_]{0,64}$'),
    started_at   timestamptz,
    answered_at  timestamptz,
    ended_at     timestamptz,
    PRIMARY KEY (call_id, seq)
);
COMMENT ON TABLE cdr.call_leg IS 'Each leg rung for a call, in ringing order: which plan step, which target, and what happened.';

CREATE INDEX call_leg_device_idx ON cdr.call_leg (device_id) WHERE device_id IS NOT NULL;

REVOKE ALL ON SCHEMA cdr FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA cdr FROM PUBLIC;
GRANT USAGE ON SCHEMA cdr TO huntsman_controller, huntsman_console, huntsman_report;
GRANT SELECT ON ALL TABLES IN SCHEMA cdr TO huntsman_report, huntsman_console;

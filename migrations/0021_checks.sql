-- Active checks: Fireline probes a service itself (HTTP(S), TCP connect, DNS) every
-- interval. A run of failures takes a check down (raising an alert through the intake
-- routing) and proposes a status for its component, which changes on the public page
-- only if the check says so; a run of successes brings it up again.

CREATE TYPE check_kind AS ENUM ('http', 'tcp', 'dns');
CREATE TYPE check_state AS ENUM ('new', 'up', 'down', 'paused');
-- What a check going down does to its component: set the status at once, after a delay
-- unless someone overrides, or only propose it to a person.
CREATE TYPE check_apply AS ENUM ('at_once', 'after_delay', 'propose');

CREATE TABLE checks (
    id                   uuid PRIMARY KEY,
    name                 text NOT NULL,
    kind                 check_kind NOT NULL,
    -- A URL (http), host:port (tcp) or a host name (dns).
    target               text NOT NULL,
    -- The kind's own settings (method, headers, expected status, body must or must not
    -- contain, slowest answer, certificate days; the DNS record type and answer).
    settings             jsonb NOT NULL DEFAULT '{}',
    interval_seconds     integer NOT NULL,
    timeout_ms           integer NOT NULL,
    failures_before_down integer NOT NULL DEFAULT 3,
    successes_before_up  integer NOT NULL DEFAULT 2,
    labels               jsonb NOT NULL DEFAULT '{}',
    component_id         uuid REFERENCES components (id) ON DELETE SET NULL,
    down_status          component_status NOT NULL DEFAULT 'major_outage',
    apply_mode           check_apply NOT NULL DEFAULT 'propose',
    apply_after_minutes  integer NOT NULL DEFAULT 5,
    -- Coming up again restores the component by itself; false: a person confirms.
    auto_recover         boolean NOT NULL DEFAULT true,
    state                check_state NOT NULL DEFAULT 'new',
    failures             integer NOT NULL DEFAULT 0,
    successes            integer NOT NULL DEFAULT 0,
    -- The schedule: the run due next, and the run a process holds (slot and lease) so
    -- that each interval runs once across every process, and a dead process's check is
    -- taken over when its lease ends.
    next_run_at          timestamptz NOT NULL DEFAULT now(),
    running_slot         timestamptz,
    lease_until          timestamptz,
    leased_by            text,
    last_run_at          timestamptz,
    last_ok              boolean,
    last_latency_ms      integer,
    last_error           text,
    state_since          timestamptz,
    alerting             boolean NOT NULL DEFAULT false,
    version              integer NOT NULL DEFAULT 1,
    created_by           uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT checks_name_not_blank CHECK (length(btrim(name)) > 0),
    CONSTRAINT checks_interval_range CHECK (interval_seconds BETWEEN 1 AND 86400),
    CONSTRAINT checks_timeout_range CHECK (timeout_ms BETWEEN 100 AND 60000),
    CONSTRAINT checks_thresholds CHECK (failures_before_down BETWEEN 1 AND 100
        AND successes_before_up BETWEEN 1 AND 100),
    CONSTRAINT checks_apply_after CHECK (apply_after_minutes BETWEEN 1 AND 1440)
);
CREATE UNIQUE INDEX checks_name_key ON checks (lower(name));
CREATE INDEX checks_due_idx ON checks (next_run_at) WHERE state <> 'paused';
CREATE INDEX checks_component_idx ON checks (component_id) WHERE component_id IS NOT NULL;

-- Every run: one per check and slot, whichever process ran it.
CREATE TABLE check_results (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id    uuid NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    slot        timestamptz NOT NULL,
    at          timestamptz NOT NULL,
    ok          boolean NOT NULL,
    latency_ms  integer,
    error       text,
    ran_by      text NOT NULL,
    CONSTRAINT check_results_once UNIQUE (check_id, slot)
);
CREATE INDEX check_results_recent_idx ON check_results (check_id, at DESC);

-- Hour by hour, for the 7- and 90-day charts and uptime (raw results are kept a week).
CREATE TABLE check_hours (
    check_id        uuid NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    hour            timestamptz NOT NULL,
    runs            integer NOT NULL DEFAULT 0,
    failures        integer NOT NULL DEFAULT 0,
    latency_ms_sum  bigint NOT NULL DEFAULT 0,
    latency_ms_max  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (check_id, hour)
);

CREATE TYPE proposal_state AS ENUM ('open', 'applied', 'dismissed', 'withdrawn');

-- A component status a check proposes: applied at once, at `apply_at` unless someone
-- dismisses it first, or when a person applies it.
CREATE TABLE component_proposals (
    id            uuid PRIMARY KEY,
    component_id  uuid NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    check_id      uuid REFERENCES checks (id) ON DELETE SET NULL,
    status        component_status NOT NULL,
    reason        text NOT NULL,
    state         proposal_state NOT NULL DEFAULT 'open',
    apply_at      timestamptz,
    proposed_at   timestamptz NOT NULL DEFAULT now(),
    decided_at    timestamptz,
    decided_by    uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX component_proposals_open_idx ON component_proposals (component_id)
    WHERE state = 'open';
CREATE UNIQUE INDEX component_proposals_one_open ON component_proposals (check_id)
    WHERE state = 'open';

-- Who set a component's status: a check (by its proposal) beside incidents and
-- maintenance.
ALTER TABLE component_status_changes ADD COLUMN check_id uuid REFERENCES checks (id) ON DELETE SET NULL;

-- Pages: the run of an escalation policy for one critical alert group. A page walks the
-- policy's steps (a copy taken when it starts, so editing the policy does not change a
-- running page); each step that waits is a job at its due time (`paging.step`), so a
-- crash loses nothing and two processes never run a step twice (the job and the page
-- row are locked, and a step runs only while the page still expects it).

CREATE TYPE page_state AS ENUM (
    'counting_down',  -- a countdown runs: anyone may acknowledge before a person is paged
    'paging',         -- someone was paged; waiting for an acknowledgement
    'acknowledged',   -- a person acknowledged: nothing more happens
    'resolved',       -- the alert resolved (or was silenced) before anyone acknowledged
    'exhausted',      -- every step (and repeat) ran and nobody acknowledged
    'muted'           -- the team was in acked mode: announced and listed, nobody paged
);

CREATE SEQUENCE page_number_seq;

CREATE TABLE pages (
    id              uuid PRIMARY KEY,
    -- PAGE-12
    number          bigint NOT NULL DEFAULT nextval('page_number_seq'),
    alert_group_id  uuid NOT NULL REFERENCES alert_groups (id) ON DELETE CASCADE,
    team_id         uuid REFERENCES teams (id) ON DELETE SET NULL,
    policy_id       uuid REFERENCES escalation_policies (id) ON DELETE SET NULL,
    -- The policy's steps and repeat when the page started.
    steps           jsonb NOT NULL,
    repeat          integer NOT NULL,
    state           page_state NOT NULL,
    -- The step to run next (0-based) in round `round` (0: the first run of the steps).
    step_index      integer NOT NULL DEFAULT 0,
    round           integer NOT NULL DEFAULT 0,
    -- When the next step runs; NULL once the page has ended.
    due_at          timestamptz,
    -- Who the running countdown will page, for the "paging Ada in 25 s" line.
    countdown_target text,
    started_at      timestamptz NOT NULL,
    acknowledged_by uuid REFERENCES users (id) ON DELETE SET NULL,
    acknowledged_at timestamptz,
    -- web | api | cli | link | source
    acknowledged_via text,
    ended_at        timestamptz,
    -- For a muted page: the acknowledgement that put the team in acked mode.
    muted_by_page_id uuid REFERENCES pages (id) ON DELETE SET NULL,
    CONSTRAINT pages_number_key UNIQUE (number)
);
-- One running page per group.
CREATE UNIQUE INDEX pages_running_group_key ON pages (alert_group_id)
    WHERE state IN ('counting_down', 'paging');
CREATE INDEX pages_group_idx ON pages (alert_group_id, started_at DESC);
CREATE INDEX pages_team_idx ON pages (team_id, started_at DESC);
CREATE INDEX pages_started_idx ON pages (started_at DESC, id DESC);

-- What the page did, step by step, with times: announced, counted down, paged, waited,
-- acknowledged, resolved, exhausted.
CREATE TABLE page_events (
    id      bigserial PRIMARY KEY,
    page_id uuid NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL,
    kind    text NOT NULL,
    body    text NOT NULL,
    user_id uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX page_events_page_idx ON page_events (page_id, id);

-- Who a page reached, and when: pages received, acknowledged or missed (the on-call
-- report counts these).
CREATE TABLE page_recipients (
    page_id    uuid NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    paged_at   timestamptz NOT NULL,
    -- Why they were paged: on_duty | named | team | everyone
    reason     text NOT NULL,
    PRIMARY KEY (page_id, user_id)
);
CREATE INDEX page_recipients_user_idx ON page_recipients (user_id, paged_at);

-- Acked mode: after an acknowledgement, further critical alerts for the team are
-- announced and listed but page nobody, until `acked_until` (or the acknowledger ends it).
ALTER TABLE teams ADD COLUMN acked_until timestamptz;
ALTER TABLE teams ADD COLUMN acked_by uuid REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE teams ADD COLUMN acked_page_id uuid REFERENCES pages (id) ON DELETE SET NULL;

-- The paging consumer starts, acknowledges and ends pages from the alert groups' events.
INSERT INTO event_consumers (name) VALUES ('paging');

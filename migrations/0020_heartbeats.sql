-- Heartbeat monitors (dead man's switches): a job pings its URL when it runs; no ping in
-- time makes the heartbeat late, then down, and down raises an alert through the intake
-- routing like any monitoring tool's. The ping API is Healthchecks'.

CREATE TYPE heartbeat_state AS ENUM ('new', 'up', 'late', 'down', 'paused');
CREATE TYPE heartbeat_ping_kind AS ENUM ('success', 'start', 'fail', 'log');

CREATE TABLE heartbeats (
    id              uuid PRIMARY KEY,
    -- The `{uuid}` of `/ping/{uuid}`: whoever knows it can ping.
    ping_key        uuid NOT NULL UNIQUE,
    name            text NOT NULL,
    -- Either a period or a cron expression with its time zone; a grace time always.
    period_seconds  integer,
    cron            text,
    time_zone       text,
    grace_seconds   integer NOT NULL,
    labels          jsonb NOT NULL DEFAULT '{}',
    state           heartbeat_state NOT NULL DEFAULT 'new',
    last_ping_at    timestamptz,
    -- A `start` ping with no finish yet: the run must finish within the grace time.
    started_at      timestamptz,
    last_duration_ms bigint,
    -- When it turns late, and down, unless a ping comes first (NULL: never, as when new
    -- or paused).
    late_at         timestamptz,
    down_at         timestamptz,
    -- The alert it raised is firing (resolved by its next success).
    alerting        boolean NOT NULL DEFAULT false,
    version         integer NOT NULL DEFAULT 1,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT heartbeats_name_not_blank CHECK (length(btrim(name)) > 0),
    CONSTRAINT heartbeats_one_schedule CHECK ((period_seconds IS NULL) <> (cron IS NULL)),
    CONSTRAINT heartbeats_period_range CHECK (period_seconds BETWEEN 60 AND 31536000),
    CONSTRAINT heartbeats_grace_range CHECK (grace_seconds BETWEEN 60 AND 31536000),
    CONSTRAINT heartbeats_cron_zone CHECK ((cron IS NULL) = (time_zone IS NULL))
);
CREATE UNIQUE INDEX heartbeats_name_key ON heartbeats (lower(name));
CREATE INDEX heartbeats_due_idx ON heartbeats (least(late_at, down_at))
    WHERE state IN ('up', 'late', 'new');

-- Every ping, with what it carried (the POST body, capped, as its log).
CREATE TABLE heartbeat_pings (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    heartbeat_id  uuid NOT NULL REFERENCES heartbeats (id) ON DELETE CASCADE,
    kind          heartbeat_ping_kind NOT NULL,
    exit_status   integer,
    -- `?rid=`: pairs a start with its finish.
    rid           uuid,
    duration_ms   bigint,
    method        text NOT NULL,
    remote_addr   text,
    user_agent    text,
    body          text NOT NULL DEFAULT '',
    received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX heartbeat_pings_idx ON heartbeat_pings (heartbeat_id, id DESC);

-- The integration heartbeats raise their alerts through (made when first needed), so
-- routing rules can pick them out.
ALTER TABLE integrations ADD COLUMN builtin text UNIQUE;

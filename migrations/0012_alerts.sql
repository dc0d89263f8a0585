-- Alert intake: integrations and their keys, alert groups and their alerts, the groups'
-- history, silences and routing rules (tables only; their commands come later), and the
-- intake queue the front doors write and the processor applies.
--
-- Issue 13 adds `team_id` / `escalation_policy_id` to `routing_rules` and `alert_groups`
-- (FKs to its own tables) and its `paging` row in `event_consumers`; the urgency is
-- already stored per group.

CREATE TYPE integration_kind  AS ENUM ('alertmanager', 'grafana', 'pagerduty', 'generic');
CREATE TYPE alert_format      AS ENUM ('alertmanager', 'grafana', 'pagerduty_v2', 'pagerduty_v1', 'generic');
CREATE TYPE alert_status      AS ENUM ('firing', 'resolved');
CREATE TYPE alert_severity    AS ENUM ('critical', 'error', 'warning', 'info');
CREATE TYPE alert_urgency     AS ENUM ('critical', 'high', 'low');
CREATE TYPE alert_group_state AS ENUM ('firing', 'acknowledged', 'silenced', 'resolved');
CREATE TYPE alert_group_event_kind AS ENUM ('opened', 'alert_fired', 'alert_refired', 'alert_resolved',
    'acknowledged', 'silenced', 'unsilenced', 'resolved', 'escalated', 'declared', 'attached',
    'component_proposed', 'action_failed');
CREATE TYPE intake_state AS ENUM ('pending', 'failed');

CREATE TABLE integrations (
    id               uuid PRIMARY KEY,
    name             text NOT NULL,
    kind             integration_kind NOT NULL,
    -- The default route: the urgency of a group no routing rule matches.
    default_urgency  alert_urgency NOT NULL DEFAULT 'high',
    -- The severity of an alert whose payload names none.
    default_severity alert_severity NOT NULL DEFAULT 'error',
    -- Grafana's HMAC signature (readable, like subscriber secrets; never shown).
    signing_secret   text,
    timestamp_header text,
    created_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    last_received_at timestamptz,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT integrations_name_not_blank CHECK (length(btrim(name)) > 0)
);
CREATE UNIQUE INDEX integrations_name_key ON integrations (lower(name));

-- sha256 of the key (platform::secret::hash_token), looked up by primary key: a URL or
-- Bearer key, a PagerDuty routing_key or service_key. A rotated-out key keeps its row
-- with an expiry for its grace period.
CREATE TABLE integration_keys (
    key_hash       bytea PRIMARY KEY,
    integration_id uuid NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    -- The first characters, to tell keys apart.
    prefix         text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- NULL: the current key.
    expires_at     timestamptz
);
CREATE INDEX integration_keys_integration_idx ON integration_keys (integration_id);

CREATE TABLE routing_rules (
    id               uuid PRIMARY KEY,
    name             text NOT NULL,
    position         integer NOT NULL,
    enabled          boolean NOT NULL DEFAULT true,
    -- [{"label","op","value"}]
    matchers         jsonb NOT NULL DEFAULT '[]',
    -- Empty: any.
    integration_ids  uuid[] NOT NULL DEFAULT '{}',
    severities       alert_severity[] NOT NULL DEFAULT '{}',
    urgency          alert_urgency NOT NULL,
    -- null | {"severity","component_ids","component_label","title_template"}
    declare          jsonb,
    -- null | {"component_ids","component_label","status","apply"}
    component_status jsonb,
    created_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT routing_rules_name_not_blank CHECK (length(btrim(name)) > 0)
);
CREATE INDEX routing_rules_order_idx ON routing_rules (position, created_at) WHERE enabled;

CREATE SEQUENCE alert_group_number_seq;
CREATE TABLE alert_groups (
    id               uuid PRIMARY KEY,
    -- ALR-17
    number           bigint NOT NULL DEFAULT nextval('alert_group_number_seq'),
    integration_id   uuid NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    -- The identity within the integration (Alertmanager: sha256 of groupKey; PagerDuty
    -- and generic: dedup_key).
    group_key        text NOT NULL,
    -- Alertmanager's or Grafana's groupKey as sent, for people.
    source_key       text,
    title            text NOT NULL,
    state            alert_group_state NOT NULL,
    -- The worst firing alert's.
    severity         alert_severity NOT NULL,
    -- Only rises.
    urgency          alert_urgency NOT NULL,
    routing_rule_id  uuid REFERENCES routing_rules (id) ON DELETE SET NULL,
    labels           jsonb NOT NULL DEFAULT '{}',
    annotations      jsonb NOT NULL DEFAULT '{}',
    source_url       text,
    runbook_url      text,
    alerts_firing    integer NOT NULL,
    alerts_total     integer NOT NULL,
    truncated_alerts integer NOT NULL DEFAULT 0,
    -- The earliest start of its alerts, by the source's clock.
    first_alert_at   timestamptz NOT NULL,
    -- When Fireline first received it.
    opened_at        timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    times_received   integer NOT NULL DEFAULT 1,
    -- Delivery::digest of the last delivery applied: an equal one is a mere repeat.
    content_hash     bytea NOT NULL,
    acknowledged_at  timestamptz,
    -- NULL with a time: acknowledged by the source.
    acknowledged_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    silence_id       uuid,
    resolved_at      timestamptz,
    -- NULL with a time: resolved by the source.
    resolved_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    incident_id      uuid REFERENCES incidents (id) ON DELETE SET NULL,
    -- [{"component_id","status"}] awaiting a person.
    proposals        jsonb NOT NULL DEFAULT '[]',
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_groups_resolved_has_time CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
ALTER SEQUENCE alert_group_number_seq OWNED BY alert_groups.number;
CREATE UNIQUE INDEX alert_groups_number_key ON alert_groups (number);
-- At most one open group per identity, however many processes apply deliveries.
CREATE UNIQUE INDEX alert_groups_open_key ON alert_groups (integration_id, group_key)
    WHERE state <> 'resolved';
CREATE INDEX alert_groups_open_idx ON alert_groups (urgency, opened_at DESC) WHERE state <> 'resolved';
CREATE INDEX alert_groups_recent_idx ON alert_groups (opened_at DESC, id DESC);
CREATE INDEX alert_groups_incident_idx ON alert_groups (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX alert_groups_labels_idx ON alert_groups USING gin (labels jsonb_path_ops);

CREATE TABLE alerts (
    id             uuid PRIMARY KEY,
    group_id       uuid NOT NULL REFERENCES alert_groups (id) ON DELETE CASCADE,
    -- Alertmanager/Grafana fingerprint; PagerDuty and generic: the dedup_key.
    fingerprint    text NOT NULL,
    -- The door it came through: absence from a complete payload is judged per format.
    format         alert_format NOT NULL,
    status         alert_status NOT NULL,
    severity       alert_severity NOT NULL,
    summary        text NOT NULL,
    description    text,
    labels         jsonb NOT NULL,
    annotations    jsonb NOT NULL,
    -- [{"href","text"}]
    links          jsonb NOT NULL DEFAULT '[]',
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz,
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    times_received integer NOT NULL DEFAULT 1,
    silence_id     uuid,
    -- The alert's own object as last received, at most 16 KiB.
    payload        jsonb NOT NULL,
    CONSTRAINT alerts_group_fingerprint_key UNIQUE (group_id, fingerprint)
);
CREATE INDEX alerts_recent_idx ON alerts (last_seen_at DESC, id DESC);

-- A group's history, append-only like incident_events.
CREATE TABLE alert_group_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id    uuid NOT NULL REFERENCES alert_groups (id) ON DELETE CASCADE,
    alert_id    uuid REFERENCES alerts (id) ON DELETE CASCADE,
    kind        alert_group_event_kind NOT NULL,
    -- NULL: the source or a rule.
    actor_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    body        text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}',
    -- The source's own time (startsAt, endsAt, the time it was received).
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_group_events_group_idx ON alert_group_events (group_id, occurred_at, id);

CREATE TABLE silences (
    id         uuid PRIMARY KEY,
    -- One group, or the groups whose labels match.
    group_id   uuid REFERENCES alert_groups (id) ON DELETE CASCADE,
    matchers   jsonb,
    reason     text NOT NULL,
    created_by uuid NOT NULL REFERENCES users (id),
    starts_at  timestamptz NOT NULL DEFAULT now(),
    ends_at    timestamptz NOT NULL,
    -- Ended early.
    ended_at   timestamptz,
    ended_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT silences_one_target CHECK ((group_id IS NULL) <> (matchers IS NULL)),
    CONSTRAINT silences_reason_not_blank CHECK (length(btrim(reason)) > 0),
    CONSTRAINT silences_ends_after_start CHECK (ends_at > starts_at)
);
CREATE INDEX silences_active_idx ON silences (ends_at) WHERE ended_at IS NULL;
ALTER TABLE alert_groups ADD CONSTRAINT alert_groups_silence_fk
    FOREIGN KEY (silence_id) REFERENCES silences (id) ON DELETE SET NULL;
ALTER TABLE alerts ADD CONSTRAINT alerts_silence_fk
    FOREIGN KEY (silence_id) REFERENCES silences (id) ON DELETE SET NULL;

-- Deliveries read and normalised at the door, applied later by the processor. The
-- stored delivery is Fireline's own shape, never the raw body: a PagerDuty body carries
-- its routing key.
CREATE TABLE alert_intake (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    integration_id  uuid NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    format          alert_format NOT NULL,
    group_key       text NOT NULL,
    -- alerts::queue::StoredDelivery as JSON text ({"v":1,...}).
    delivery        text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    state           intake_state NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);
CREATE INDEX alert_intake_pending_idx ON alert_intake (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX alert_intake_group_idx ON alert_intake (integration_id, group_key, id) WHERE state = 'pending';

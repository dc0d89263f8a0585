-- Components, incidents, workstreams, the event log and public updates.

CREATE TYPE component_status AS ENUM (
    'operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'
);

CREATE TABLE component_groups (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    description text,
    position    integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT component_groups_name_not_blank CHECK (length(btrim(name)) > 0)
);
CREATE UNIQUE INDEX component_groups_name_key ON component_groups (lower(name));

CREATE TABLE components (
    id                    uuid PRIMARY KEY,
    group_id              uuid REFERENCES component_groups (id) ON DELETE SET NULL,
    name                  text NOT NULL,
    description           text,
    position              integer NOT NULL,
    status                component_status NOT NULL DEFAULT 'operational',
    showcase              boolean NOT NULL DEFAULT true,
    only_show_if_degraded boolean NOT NULL DEFAULT false,
    start_date            date,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT components_name_not_blank CHECK (length(btrim(name)) > 0)
);
CREATE UNIQUE INDEX components_name_key ON components (lower(name));
CREATE INDEX components_group_idx ON components (group_id, position);

CREATE TYPE severity AS ENUM ('sev1', 'sev2', 'sev3', 'sev4');
CREATE TYPE incident_status AS ENUM ('investigating', 'identified', 'monitoring', 'resolved');
CREATE TYPE incident_impact AS ENUM ('none', 'minor', 'major', 'critical');
CREATE TYPE visibility AS ENUM ('public', 'internal');

CREATE SEQUENCE incident_number_seq;

CREATE TABLE incidents (
    id                    uuid PRIMARY KEY,
    number                bigint NOT NULL DEFAULT nextval('incident_number_seq'),
    title                 text NOT NULL,
    summary               text NOT NULL DEFAULT '',
    severity              severity NOT NULL,
    status                incident_status NOT NULL DEFAULT 'investigating',
    impact                incident_impact NOT NULL,
    impact_overridden     boolean NOT NULL DEFAULT false,
    visibility            visibility NOT NULL DEFAULT 'public',
    leader_id             uuid NOT NULL REFERENCES users (id),
    created_by            uuid NOT NULL REFERENCES users (id),
    started_at            timestamptz NOT NULL,
    detected_at           timestamptz,
    declared_at           timestamptz NOT NULL DEFAULT now(),
    acknowledged_at       timestamptz,
    mitigated_at          timestamptz,
    resolved_at           timestamptz,
    last_public_update_at timestamptz,
    version               integer NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incidents_title_not_blank CHECK (length(btrim(title)) > 0),
    CONSTRAINT incidents_resolved_has_time CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);
ALTER SEQUENCE incident_number_seq OWNED BY incidents.number;
CREATE UNIQUE INDEX incidents_number_key ON incidents (number);
CREATE INDEX incidents_open_idx ON incidents (severity, declared_at) WHERE status <> 'resolved';
CREATE INDEX incidents_declared_idx ON incidents (declared_at DESC, id DESC);
CREATE INDEX incidents_title_trgm_idx ON incidents (lower(title));

-- The components an incident affects (the status each was set to lives in the history).
CREATE TABLE incident_components (
    incident_id  uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    component_id uuid NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, component_id)
);
CREATE INDEX incident_components_component_idx ON incident_components (component_id);

-- Every component status change: the source of uptime figures.
CREATE TABLE component_status_changes (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    component_id   uuid NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    old_status     component_status,
    new_status     component_status NOT NULL,
    changed_at     timestamptz NOT NULL DEFAULT now(),
    changed_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    incident_id    uuid REFERENCES incidents (id) ON DELETE SET NULL,
    maintenance_id uuid
);
CREATE INDEX component_status_changes_component_idx ON component_status_changes (component_id, changed_at);

CREATE TYPE workstream_kind AS ENUM ('recovery', 'root_cause', 'custom');
CREATE TYPE workstream_status AS ENUM ('active', 'done');

CREATE TABLE workstreams (
    id           uuid PRIMARY KEY,
    incident_id  uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind         workstream_kind NOT NULL,
    title        text NOT NULL,
    lead_id      uuid REFERENCES users (id),
    objective    text NOT NULL DEFAULT '',
    status       workstream_status NOT NULL DEFAULT 'active',
    position     integer NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CONSTRAINT workstreams_title_not_blank CHECK (length(btrim(title)) > 0)
);
CREATE INDEX workstreams_incident_idx ON workstreams (incident_id, position);
CREATE UNIQUE INDEX workstreams_one_recovery ON workstreams (incident_id) WHERE kind = 'recovery';
CREATE UNIQUE INDEX workstreams_one_root_cause ON workstreams (incident_id) WHERE kind = 'root_cause';
CREATE INDEX workstreams_open_root_cause_idx ON workstreams (incident_id) WHERE kind = 'root_cause' AND status = 'active';

CREATE TABLE tasks (
    id            uuid PRIMARY KEY,
    workstream_id uuid NOT NULL REFERENCES workstreams (id) ON DELETE CASCADE,
    title         text NOT NULL,
    assignee_id   uuid REFERENCES users (id),
    done_at       timestamptz,
    position      integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_title_not_blank CHECK (length(btrim(title)) > 0)
);
CREATE INDEX tasks_workstream_idx ON tasks (workstream_id, position);

CREATE TYPE event_kind AS ENUM (
    'note', 'declared', 'status_changed', 'severity_changed', 'impact_changed',
    'visibility_changed', 'title_changed', 'command_changed', 'component_changed',
    'workstream_added', 'workstream_changed', 'task_added', 'task_changed',
    'update_posted', 'timestamp_changed', 'correction'
);

-- The append-only log. Rows are never updated except for the pin flag.
CREATE TABLE incident_events (
    id            uuid PRIMARY KEY,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    incident_id   uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind          event_kind NOT NULL,
    body          text NOT NULL DEFAULT '',
    data          jsonb NOT NULL DEFAULT '{}',
    author_id     uuid REFERENCES users (id),
    workstream_id uuid REFERENCES workstreams (id) ON DELETE SET NULL,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    pinned        boolean NOT NULL DEFAULT false,
    corrects      uuid REFERENCES incident_events (id)
);
CREATE UNIQUE INDEX incident_events_seq_key ON incident_events (seq);
CREATE INDEX incident_events_log_idx ON incident_events (incident_id, occurred_at DESC, seq DESC);
CREATE INDEX incident_events_workstream_idx ON incident_events (workstream_id) WHERE workstream_id IS NOT NULL;
CREATE INDEX incident_events_corrects_idx ON incident_events (corrects, seq DESC) WHERE corrects IS NOT NULL;

-- The log is append-only: content never changes, rows are never deleted on their own.
CREATE FUNCTION incident_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'incident_events is append-only';
    END IF;
    IF NEW.body IS DISTINCT FROM OLD.body OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.data IS DISTINCT FROM OLD.data OR NEW.occurred_at IS DISTINCT FROM OLD.occurred_at
       OR NEW.recorded_at IS DISTINCT FROM OLD.recorded_at OR NEW.author_id IS DISTINCT FROM OLD.author_id
       OR NEW.corrects IS DISTINCT FROM OLD.corrects OR NEW.incident_id IS DISTINCT FROM OLD.incident_id THEN
        RAISE EXCEPTION 'incident_events is append-only: only the pin may change';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER incident_events_append_only BEFORE UPDATE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION incident_events_append_only();
CREATE TRIGGER incident_events_no_delete BEFORE DELETE ON incident_events
    FOR EACH ROW WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION incident_events_append_only();

-- Tell every process about a new event (the live incident page and SSE listen).
CREATE FUNCTION incident_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fireline_incident_events', NEW.incident_id::text || ' ' || NEW.seq::text);
    RETURN NULL;
END $$;
CREATE TRIGGER incident_events_notify AFTER INSERT ON incident_events
    FOR EACH ROW EXECUTE FUNCTION incident_events_notify();

CREATE TABLE incident_updates (
    id                  uuid PRIMARY KEY,
    incident_id         uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    status              incident_status NOT NULL,
    body                text NOT NULL,
    notify              boolean NOT NULL DEFAULT true,
    author_id           uuid REFERENCES users (id),
    -- [{"code": component id, "name", "old_status", "new_status"}] or null
    affected_components jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    display_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT incident_updates_body_not_blank CHECK (length(btrim(body)) > 0)
);
CREATE INDEX incident_updates_incident_idx ON incident_updates (incident_id, created_at DESC);

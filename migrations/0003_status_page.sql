-- The public status page: maintenance, page settings, daily uptime roll-ups, and the
-- notifications that tell every process to rebuild its cached pages.

ALTER TABLE incidents ADD COLUMN monitoring_at timestamptz;

CREATE TYPE maintenance_status AS ENUM ('scheduled', 'in_progress', 'verifying', 'completed', 'cancelled');

CREATE TABLE maintenances (
    id              uuid PRIMARY KEY,
    title           text NOT NULL,
    description     text NOT NULL DEFAULT '',
    status          maintenance_status NOT NULL DEFAULT 'scheduled',
    scheduled_for   timestamptz NOT NULL,
    scheduled_until timestamptz NOT NULL,
    -- Put the components under maintenance at the start and restore them at the end.
    auto_components boolean NOT NULL DEFAULT true,
    started_at      timestamptz,
    completed_at    timestamptz,
    created_by      uuid REFERENCES users (id),
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT maintenances_title_not_blank CHECK (length(btrim(title)) > 0),
    CONSTRAINT maintenances_window CHECK (scheduled_until > scheduled_for)
);
CREATE INDEX maintenances_window_idx ON maintenances (scheduled_for DESC);
CREATE INDEX maintenances_open_idx ON maintenances (status) WHERE status IN ('scheduled', 'in_progress', 'verifying');

CREATE TABLE maintenance_components (
    maintenance_id  uuid NOT NULL REFERENCES maintenances (id) ON DELETE CASCADE,
    component_id    uuid NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    -- The status before the maintenance set it, to restore at the end.
    previous_status component_status,
    PRIMARY KEY (maintenance_id, component_id)
);

CREATE TABLE maintenance_updates (
    id             uuid PRIMARY KEY,
    maintenance_id uuid NOT NULL REFERENCES maintenances (id) ON DELETE CASCADE,
    status         maintenance_status NOT NULL,
    body           text NOT NULL,
    notify         boolean NOT NULL DEFAULT true,
    author_id      uuid REFERENCES users (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT maintenance_updates_body_not_blank CHECK (length(btrim(body)) > 0)
);
CREATE INDEX maintenance_updates_idx ON maintenance_updates (maintenance_id, created_at DESC);

ALTER TABLE component_status_changes
    ADD CONSTRAINT component_status_changes_maintenance_fk
    FOREIGN KEY (maintenance_id) REFERENCES maintenances (id) ON DELETE SET NULL;

-- One row: what the public page looks like.
CREATE TABLE page_settings (
    id           integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    page_id      text NOT NULL,
    name         text,
    public_url   text,
    accent       text NOT NULL DEFAULT '#b3261e',
    time_zone    text NOT NULL DEFAULT 'Etc/UTC',
    about        text NOT NULL DEFAULT '',
    -- [{"label": ..., "url": ...}]
    footer_links jsonb NOT NULL DEFAULT '[]',
    logo         bytea,
    logo_type    text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT page_settings_accent_hex CHECK (accent ~ '^#[0-9a-f]{6}$')
);
INSERT INTO page_settings (page_id) VALUES (substr(md5(random()::text || clock_timestamp()::text), 1, 12));

-- Time per status per component per day (UTC), for the 90-day bars.
CREATE TABLE component_uptime_days (
    component_id      uuid NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    day               date NOT NULL,
    degraded_seconds  integer NOT NULL DEFAULT 0,
    partial_seconds   integer NOT NULL DEFAULT 0,
    major_seconds     integer NOT NULL DEFAULT 0,
    maintenance_seconds integer NOT NULL DEFAULT 0,
    -- Seconds the component existed that day (less than a day on its first day).
    tracked_seconds   integer NOT NULL,
    worst_status      component_status NOT NULL,
    PRIMARY KEY (component_id, day)
);

-- Any change the public page shows tells every process to rebuild its cached pages.
CREATE FUNCTION status_page_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fireline_status_page', TG_TABLE_NAME);
    RETURN NULL;
END $$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['incidents', 'incident_updates', 'incident_components', 'components',
                             'component_groups', 'maintenances', 'maintenance_updates',
                             'maintenance_components', 'page_settings'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION status_page_changed()',
                       t || '_status_page', t);
    END LOOP;
END $$;

-- Postmortems drafted from an incident's log, their templates and revisions, and the
-- action items that come out of them, with every change recorded.

CREATE TYPE postmortem_status AS ENUM ('draft', 'in_review', 'published');
CREATE TYPE action_priority AS ENUM ('high', 'medium', 'low');
CREATE TYPE action_kind AS ENUM ('detective', 'preventative', 'corrective', 'other');
CREATE TYPE action_status AS ENUM ('open', 'in_progress', 'done', 'wont_do');

CREATE TABLE postmortem_templates (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    body        text NOT NULL,
    -- Shipped with Fireline (editable, not removable).
    builtin     boolean NOT NULL DEFAULT false,
    version     integer NOT NULL DEFAULT 1,
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT postmortem_templates_name_unique UNIQUE (name),
    CONSTRAINT postmortem_templates_name_not_blank CHECK (length(btrim(name)) > 0)
);

CREATE TABLE postmortems (
    id           uuid PRIMARY KEY,
    incident_id  uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    template_id  uuid REFERENCES postmortem_templates (id) ON DELETE SET NULL,
    body         text NOT NULL,
    status       postmortem_status NOT NULL DEFAULT 'draft',
    -- Shown on the public status page once published (public incidents only).
    public       boolean NOT NULL DEFAULT false,
    published_at timestamptz,
    version      integer NOT NULL DEFAULT 1,
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT postmortems_one_per_incident UNIQUE (incident_id)
);

-- Who changed what: one row per saved version.
CREATE TABLE postmortem_revisions (
    id            bigserial PRIMARY KEY,
    postmortem_id uuid NOT NULL REFERENCES postmortems (id) ON DELETE CASCADE,
    version       integer NOT NULL,
    what          text NOT NULL,
    status        postmortem_status NOT NULL,
    public        boolean NOT NULL,
    body          text NOT NULL,
    changed_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    changed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX postmortem_revisions_idx ON postmortem_revisions (postmortem_id, version DESC);

CREATE TABLE action_items (
    id              uuid PRIMARY KEY,
    incident_id     uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    title           text NOT NULL,
    description     text NOT NULL DEFAULT '',
    priority        action_priority NOT NULL,
    kind            action_kind NOT NULL DEFAULT 'other',
    owner_id        uuid REFERENCES users (id) ON DELETE SET NULL,
    due_on          date,
    status          action_status NOT NULL DEFAULT 'open',
    tracker_url     text,
    -- The log entry it was made from, if any.
    source_event_id uuid REFERENCES incident_events (id) ON DELETE SET NULL,
    version         integer NOT NULL DEFAULT 1,
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    CONSTRAINT action_items_title_not_blank CHECK (length(btrim(title)) > 0)
);
CREATE INDEX action_items_incident_idx ON action_items (incident_id, created_at);
CREATE INDEX action_items_open_due_idx ON action_items (due_on) WHERE status IN ('open', 'in_progress');
CREATE INDEX action_items_owner_idx ON action_items (owner_id);

CREATE TABLE action_item_changes (
    id             bigserial PRIMARY KEY,
    action_item_id uuid NOT NULL REFERENCES action_items (id) ON DELETE CASCADE,
    changed_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    changed_at     timestamptz NOT NULL DEFAULT now(),
    -- {"field": {"old": ..., "new": ...}}, or {"created": {...}}
    changes        jsonb NOT NULL
);
CREATE INDEX action_item_changes_idx ON action_item_changes (action_item_id, id);

-- Published public postmortems show on the status page: rebuild it when they change.
CREATE TRIGGER postmortems_status_page AFTER INSERT OR UPDATE OR DELETE ON postmortems
    FOR EACH STATEMENT EXECUTE FUNCTION status_page_changed();
CREATE TRIGGER action_items_status_page AFTER INSERT OR UPDATE OR DELETE ON action_items
    FOR EACH STATEMENT EXECUTE FUNCTION status_page_changed();

-- The two templates shipped with Fireline (editable; see the placeholders in the UI).
INSERT INTO postmortem_templates (id, name, description, body, builtin) VALUES
('5f0c2a5e-0000-4000-8000-000000000001', 'Standard',
 'The full review: impact, timeline, response, causes, five whys, lessons and action items.',
$tpl$# Postmortem: {{title}} ({{number}})

## Summary

{{summary}}

## Impact

{{impact}}

## Timeline

{{timeline}}

## Detection

{{detection}}

## Response

{{response}}

## Recovery

{{recovery}}

## Root cause

{{root_cause}}

## Contributing factors

- 

## Five whys

{{five_whys}}

## What went well

- 

## What went wrong

- 

## Where we got lucky

- 

## Lessons

- 

## Action items

{{action_items}}
$tpl$, true),
('5f0c2a5e-0000-4000-8000-000000000002', 'Lightweight',
 'For smaller incidents: what happened, why, and what we will do.',
$tpl$# {{title}} ({{number}})

## Summary

{{summary}}

## Impact

{{impact}}

## Timeline

{{timeline}}

## Root cause

{{root_cause}}

## Lessons

- 

## Action items

{{action_items}}
$tpl$, true);

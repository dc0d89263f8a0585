-- Public on purpose: an incident reaches the status page with its first public update,
-- component changes made before then stay internal unless someone shows them, and a
-- postmortem reaches customers only as a public summary written for them.

ALTER TABLE incidents
    ADD COLUMN published_at timestamptz,
    -- The name customers see; the internal title when null.
    ADD COLUMN public_title text,
    ADD CONSTRAINT incidents_public_title_not_blank
        CHECK (public_title IS NULL OR length(btrim(public_title)) > 0);

-- Incidents that were public before this migration were on the page from the start.
UPDATE incidents SET published_at = declared_at WHERE visibility = 'public';

CREATE INDEX incidents_published_idx ON incidents (declared_at DESC, id DESC)
    WHERE visibility = 'public' AND published_at IS NOT NULL;

-- What customers see of a component; `status` is what responders know.
ALTER TABLE components
    ADD COLUMN public_status component_status NOT NULL DEFAULT 'operational';
UPDATE components SET public_status = status;

-- A change of what customers see (`true`), or only of what responders know. The
-- public rows alone make the public history and uptime; in them, `old_status` is the
-- public status before.
ALTER TABLE component_status_changes
    ADD COLUMN public boolean NOT NULL DEFAULT true;
ALTER TABLE component_status_changes ALTER COLUMN public DROP DEFAULT;

-- A maintenance gives back both: what customers saw and what responders knew.
ALTER TABLE maintenance_components ADD COLUMN previous_public_status component_status;
UPDATE maintenance_components SET previous_public_status = previous_status;

-- The summary written for customers; the internal document never leaves the admin UI.
ALTER TABLE postmortems
    ADD COLUMN public_summary text NOT NULL DEFAULT '',
    ADD COLUMN public_summary_published_at timestamptz;
-- Until now `public` showed the whole internal document; nothing is public until a
-- summary is written and published.
UPDATE postmortems SET public = false;
ALTER TABLE postmortems
    ADD CONSTRAINT postmortems_public_needs_summary
        CHECK (NOT public OR (length(btrim(public_summary)) > 0 AND public_summary_published_at IS NOT NULL));

ALTER TABLE postmortem_revisions
    ADD COLUMN public_summary text NOT NULL DEFAULT '';

-- The public incident as every public surface reads it: visible and published, under
-- its public name.
CREATE VIEW public_incidents AS
    SELECT i.id, i.number, coalesce(i.public_title, i.title) AS title, i.status, i.impact,
           i.started_at, i.declared_at, i.monitoring_at, i.resolved_at, i.created_at,
           i.updated_at, i.published_at
    FROM incidents i
    WHERE i.visibility = 'public' AND i.published_at IS NOT NULL;

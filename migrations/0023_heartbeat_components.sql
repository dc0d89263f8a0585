-- A heartbeat may watch a component's job (the nightly export of the billing database):
-- going down it marks the component in trouble for responders, so that what depends on
-- it shows "upstream: ..."; customers see nothing of it unless someone publishes.

ALTER TABLE heartbeats ADD COLUMN component_id uuid REFERENCES components (id) ON DELETE SET NULL;
ALTER TABLE component_status_changes
    ADD COLUMN heartbeat_id uuid REFERENCES heartbeats (id) ON DELETE SET NULL;

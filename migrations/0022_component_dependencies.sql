-- What depends on what: the API on the cache and the database, a region on its load
-- balancers. A component in trouble marks every component that depends on it, directly
-- or through others, in the admin UI, on their alerts and on incidents touching them.
-- Cycles are refused by the command that sets a component's dependencies.

CREATE TABLE component_dependencies (
    component_id   uuid NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    depends_on_id  uuid NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    PRIMARY KEY (component_id, depends_on_id),
    CONSTRAINT component_dependencies_not_itself CHECK (component_id <> depends_on_id)
);
CREATE INDEX component_dependencies_upstream_idx ON component_dependencies (depends_on_id);

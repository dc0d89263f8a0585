-- Whoever was paged writes the report: an incident that a page led to keeps the person
-- its postmortem is assigned to (the first person paged, else the acknowledger).
ALTER TABLE incidents ADD COLUMN report_owner_id uuid REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX incidents_report_owner_idx ON incidents (report_owner_id)
    WHERE report_owner_id IS NOT NULL;

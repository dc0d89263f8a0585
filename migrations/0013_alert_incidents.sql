-- Alerts and incidents: an alert group's history is mirrored into the log of the incident
-- it is attached to (`alert`), and a group joining an incident is an entry of its own
-- (`alert_attached`). `alert_groups.incident_id` (0012) links them; an incident holds
-- many groups, a group at most one incident.

ALTER TYPE event_kind ADD VALUE 'alert';
ALTER TYPE event_kind ADD VALUE 'alert_attached';

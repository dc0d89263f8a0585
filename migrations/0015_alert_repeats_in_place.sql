-- A repeat (an identical re-send, most of an Alertmanager storm) bumps `last_seen_at`
-- and `times_received` of a group and of each of its alerts. With no index over either
-- column and room left on each page, PostgreSQL rewrites those rows in place (HOT
-- updates): no index entries, and a WAL record of the changed bytes only. Alerts are
-- therefore listed by when they were first seen (which never changes, and keeps
-- pagination stable while alerts keep arriving) instead of by when they were last seen.
DROP INDEX alerts_recent_idx;
CREATE INDEX alerts_recent_idx ON alerts (first_seen_at DESC, id DESC);

-- Fill factors take effect on pages written from now on.
ALTER TABLE alerts SET (fillfactor = 70);
ALTER TABLE alert_groups SET (fillfactor = 70);

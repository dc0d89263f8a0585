-- The intake queue keeps what the door already knows about a delivery beside its body:
-- its digest (`Delivery::digest`) and the fingerprints of its alerts. An identical
-- re-send — most of an Alertmanager storm — is then applied from these two columns
-- alone; the body is read only when the digest differs from the open group's. Rows
-- stored before this migration have neither and are applied from their body.

ALTER TABLE alert_intake
    ADD COLUMN digest bytea,
    ADD COLUMN fingerprints text[];

-- The queue's rows live for milliseconds: the index of pending rows is by id alone, so
-- the oldest pending row (the backlog every insert reports, the order rounds go in) is
-- its first live entry, and the processors vacuum the table themselves every few seconds
-- while they delete (`alerts::process`); autovacuum is told to come soon too.
DROP INDEX alert_intake_pending_idx;
CREATE INDEX alert_intake_pending_idx ON alert_intake (id) WHERE state = 'pending';
ALTER TABLE alert_intake SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);

-- Stored bodies are compressed with lz4 where the server has it (pglz, the default,
-- costs several times the CPU); a server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE alert_intake ALTER COLUMN delivery SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available on this server; alert_intake keeps pglz';
END
$$;

-- The intake queue keeps what the door already knows about a delivery beside its body:
-- its digest (`Delivery::digest`) and the fingerprints of its alerts. An identical
-- re-send — most of an Alertmanager storm — is then applied from these two columns
-- alone; the body is read only when the digest differs from the open group's. Rows
-- stored before this migration have neither and are applied from their body.

ALTER TABLE alert_intake
    ADD COLUMN digest bytea,
    ADD COLUMN fingerprints text[];

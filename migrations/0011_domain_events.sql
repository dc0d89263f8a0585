-- One stream of domain events: what happened, recorded by a command in the transaction
-- that made it happen. Durable consumers (webhook fan-out today; chat, email and paging
-- later) each get one row per event in `event_consumptions`, written by the trigger in
-- that same transaction, and mark it applied in the transaction that applies it: no
-- event is lost or applied twice, whatever crashes and however many processes run.
CREATE TABLE domain_events (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL,
    payload     jsonb NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE event_consumers (
    name text PRIMARY KEY
);
INSERT INTO event_consumers (name) VALUES ('webhooks');

CREATE TABLE event_consumptions (
    consumer        text NOT NULL REFERENCES event_consumers (name) ON DELETE CASCADE,
    event_id        bigint NOT NULL REFERENCES domain_events (id) ON DELETE CASCADE,
    applied_at      timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX event_consumptions_pending ON event_consumptions (consumer, next_attempt_at, event_id)
    WHERE applied_at IS NULL;

CREATE FUNCTION domain_event_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_consumptions (consumer, event_id) SELECT name, NEW.id FROM event_consumers;
    PERFORM pg_notify('fireline_domain_events', NEW.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER domain_event_recorded AFTER INSERT ON domain_events
    FOR EACH ROW EXECUTE FUNCTION domain_event_recorded();

-- Webhook subscribers and the delivery outbox. A public change writes one message and one
-- delivery row per matching subscriber in its own transaction; the dispatcher claims due
-- deliveries with SKIP LOCKED and records every attempt.

-- The base URL the server runs with, recorded at startup, so that messages made inside any
-- transaction link to the page even when no public URL is set.
ALTER TABLE page_settings ADD COLUMN configured_url text;

CREATE TYPE subscriber_state AS ENUM ('active', 'paused', 'disabled');

CREATE TABLE subscribers (
    id              uuid PRIMARY KEY,
    url             text NOT NULL,
    -- scheme://host:port of the URL: the unit of the per-destination concurrency limit.
    destination     text NOT NULL,
    description     text NOT NULL DEFAULT '',
    -- Empty: every public change. Otherwise only changes touching one of these components.
    component_ids   uuid[] NOT NULL DEFAULT '{}',
    -- The signing secret as shown to the subscriber (whsec_ + base64 of the key). It has
    -- to be readable to sign with, so it is not hashed.
    secret          text NOT NULL,
    state           subscriber_state NOT NULL DEFAULT 'active',
    disabled_reason text,
    disabled_at     timestamptz,
    -- Set by the first failure after a success; three days of failures disable.
    failing_since   timestamptz,
    last_attempt_at timestamptz,
    last_status     integer,
    last_error      text,
    last_success_at timestamptz,
    -- Who subscribed: a user in the admin UI or API, or an address on the public page.
    created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_ip      text,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscribers_url_unique UNIQUE (url),
    CONSTRAINT subscribers_url_length CHECK (length(url) <= 2000)
);
CREATE INDEX subscribers_fanout_idx ON subscribers (state) WHERE state <> 'disabled';
CREATE INDEX subscribers_created_ip_idx ON subscribers (created_ip, created_at) WHERE created_ip IS NOT NULL;

-- Public subscribe attempts by address, for the rate limit (kept a day).
CREATE TABLE subscribe_attempts (
    ip         text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscribe_attempts_ip_idx ON subscribe_attempts (ip, at);

-- One message per public change, shared by all its deliveries. `payload` is the JSON body
-- without its `meta` member, which is added per subscriber at delivery time.
CREATE TABLE webhook_messages (
    id          uuid PRIMARY KEY,
    event       text NOT NULL,
    subject_id  uuid,
    payload     text NOT NULL,
    -- The page's public URL when the message was made (for the links in `meta`).
    base_url    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_messages_created_idx ON webhook_messages (created_at);

CREATE TYPE delivery_state AS ENUM ('pending', 'delivered', 'dead');

CREATE TABLE deliveries (
    id              bigserial PRIMARY KEY,
    message_id      uuid NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    subscriber_id   uuid NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    -- The subscriber's destination, copied so that claims can skip a saturated one
    -- straight from the due index.
    destination     text NOT NULL,
    state           delivery_state NOT NULL DEFAULT 'pending',
    -- Attempts in the current round (a resend starts a new round).
    attempts        integer NOT NULL DEFAULT 0,
    -- When due; a claim moves it one lease ahead, so a crashed worker's claims come back.
    -- NULL while the subscriber is paused.
    next_attempt_at timestamptz DEFAULT now(),
    last_attempt_at timestamptz,
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_subscriber_idx ON deliveries (subscriber_id, id DESC);
CREATE INDEX deliveries_message_idx ON deliveries (message_id);

CREATE TABLE delivery_attempts (
    id            bigserial PRIMARY KEY,
    delivery_id   bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    subscriber_id uuid NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    attempted_at  timestamptz NOT NULL,
    status        integer,
    latency_ms    integer NOT NULL,
    error         text,
    -- The first KiB of the response body.
    response      text
);
CREATE INDEX delivery_attempts_delivery_idx ON delivery_attempts (delivery_id, id);
CREATE INDEX delivery_attempts_subscriber_idx ON delivery_attempts (subscriber_id, id DESC);

-- Wake the dispatchers when there is something new to send (resends and resumes notify
-- from the application; claims must not, or dispatchers would wake each other forever).
CREATE FUNCTION notify_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fireline_webhooks', '');
    RETURN NULL;
END $$;
CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION notify_webhooks();

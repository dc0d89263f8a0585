-- Email subscribers of the status page: double opt-in (nothing is sent to an address
-- before its owner confirmed it, except the confirmation itself), per-component choices,
-- and an outbox of their own: one rendered message per public change, one delivery row
-- per recipient, sent by the mailer in batches.

CREATE TYPE email_subscriber_state AS ENUM ('unconfirmed', 'confirmed', 'bounced');

CREATE TABLE email_subscribers (
    id                  uuid PRIMARY KEY,
    -- As the person wrote it; `email_key` (lower case) is what makes it unique.
    email               text NOT NULL,
    email_key           text NOT NULL UNIQUE,
    state               email_subscriber_state NOT NULL DEFAULT 'unconfirmed',
    -- Empty: everything.
    component_ids       uuid[] NOT NULL DEFAULT '{}',
    confirm_sent_at     timestamptz,
    confirm_expires_at  timestamptz,
    confirmed_at        timestamptz,
    -- The SMTP server's last permanent refusal of this address.
    bounced_at          timestamptz,
    bounce_reason       text,
    source              text NOT NULL CHECK (source IN ('public', 'admin', 'api', 'import')),
    created_by          uuid REFERENCES users (id) ON DELETE SET NULL,
    created_ip          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT email_subscribers_email_not_blank CHECK (length(btrim(email)) > 0)
);
CREATE INDEX email_subscribers_confirmed_idx ON email_subscribers (id) WHERE state = 'confirmed';
CREATE INDEX email_subscribers_expiring_idx ON email_subscribers (confirm_expires_at)
    WHERE state = 'unconfirmed';

-- A message as every recipient gets it; the per-recipient links are filled in at send
-- time, so 100,000 recipients are 100,000 small rows, not 100,000 bodies.
CREATE TABLE email_messages (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL,
    -- What makes a message once only (a maintenance reminder: the maintenance, its start
    -- and the lead time), whatever runs it twice.
    dedupe_key  text UNIQUE,
    subject_id  uuid,
    subject     text NOT NULL,
    text_body   text NOT NULL,
    html_body   text NOT NULL,
    base_url    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE email_delivery_state AS ENUM ('pending', 'sent', 'failed');

CREATE TABLE email_deliveries (
    id              bigserial PRIMARY KEY,
    message_id      uuid NOT NULL REFERENCES email_messages (id) ON DELETE CASCADE,
    subscriber_id   uuid NOT NULL REFERENCES email_subscribers (id) ON DELETE CASCADE,
    state           email_delivery_state NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, subscriber_id)
);
CREATE INDEX email_deliveries_due_idx ON email_deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX email_deliveries_subscriber_idx ON email_deliveries (subscriber_id);

-- Public form attempts, counted per address and per network.
CREATE TABLE email_subscribe_attempts (
    key text NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_subscribe_attempts_key_idx ON email_subscribe_attempts (key, at);

-- When subscribers hear of a maintenance before it starts, in minutes before its start.
ALTER TABLE maintenances ADD COLUMN reminder_minutes integer[] NOT NULL DEFAULT '{4320,1440,60}';

INSERT INTO event_consumers (name) VALUES ('email');

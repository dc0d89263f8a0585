-- How people are reached: each user's contact methods (which urgencies reach which), and
-- the outbox of notifications the sender delivers with retries, a log of every attempt's
-- outcome, and per-destination limits, like the webhook deliveries.

CREATE TYPE contact_kind AS ENUM ('email', 'ntfy', 'pushover', 'twilio_sms', 'slack',
    'mattermost', 'discord', 'matrix', 'webhook');
CREATE TYPE notification_state AS ENUM ('pending', 'sent', 'failed');

-- A person's method (user_id), or a team's channel (team_id: where the announcements,
-- countdowns and notices of its alerts go).
CREATE TABLE contact_methods (
    id         uuid PRIMARY KEY,
    user_id    uuid REFERENCES users (id) ON DELETE CASCADE,
    team_id    uuid REFERENCES teams (id) ON DELETE CASCADE,
    kind       contact_kind NOT NULL,
    -- The kind's settings, checked by `notify::contacts`: {"address"} | {"server", "topic",
    -- "token"} | {"user_key"} | {"phone"} | {"url"} | {"homeserver", "room_id",
    -- "access_token"}. Tokens are needed to send, so they are kept (and never shown).
    settings   jsonb NOT NULL,
    urgencies  alert_urgency[] NOT NULL DEFAULT '{critical}',
    label      text,
    -- A permanent failure (an invalid number, a revoked token), shown on the profile
    -- until the method is changed.
    failure    text,
    failed_at  timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT contact_methods_one_owner CHECK ((user_id IS NULL) <> (team_id IS NULL))
);
CREATE INDEX contact_methods_user_idx ON contact_methods (user_id);
CREATE INDEX contact_methods_team_idx ON contact_methods (team_id);

CREATE TABLE notifications (
    id                bigserial PRIMARY KEY,
    page_id           uuid REFERENCES pages (id) ON DELETE CASCADE,
    contact_method_id uuid NOT NULL REFERENCES contact_methods (id) ON DELETE CASCADE,
    -- The person told; NULL for a team's channel.
    user_id           uuid REFERENCES users (id) ON DELETE CASCADE,
    -- `scheme://host:port`, for the per-destination limit.
    destination       text NOT NULL,
    -- What to say: {"title", "body", "ack_url", "urgency", "test"}.
    message           jsonb NOT NULL,
    state             notification_state NOT NULL DEFAULT 'pending',
    attempts          integer NOT NULL DEFAULT 0,
    -- When due; a claim moves it a lease ahead, so a crashed sender's claims come back.
    next_attempt_at   timestamptz DEFAULT now(),
    last_attempt_at   timestamptz,
    last_status       integer,
    last_error        text,
    sent_at           timestamptz,
    -- A Pushover emergency's receipt, polled (every 5 s at most) until someone
    -- acknowledges it in the app, it expires, or the page ends.
    receipt           text,
    receipt_due_at    timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_receipt_idx ON notifications (receipt_due_at) WHERE receipt IS NOT NULL;
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE state = 'pending';
CREATE INDEX notifications_page_idx ON notifications (page_id);
CREATE INDEX notifications_contact_idx ON notifications (contact_method_id, id DESC);

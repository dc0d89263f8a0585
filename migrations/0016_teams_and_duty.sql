-- Teams, who is on duty for each, and the escalation policies routes choose.
--
-- Who is on duty for a team at an instant is, in order: the newest override covering it;
-- whoever took duty (a `duty_takes` row still open, or one that covered that instant);
-- otherwise the team's rotation. Every take, hand-back and pass stays as a row: being on
-- duty is paid, so the record is kept, not overwritten.

CREATE TYPE rotation_interval AS ENUM ('daily', 'weekly');
CREATE TYPE duty_take_kind    AS ENUM ('taken', 'passed');

-- Ordered steps, as JSON: [{"kind": "announce"}, {"kind": "countdown", "seconds": 30},
-- {"kind": "page_on_duty"}, {"kind": "page_user", "user_id"}, {"kind": "page_team"},
-- {"kind": "page_everyone"}, {"kind": "wait", "seconds": 300}]. Checked by the command
-- that writes them (`oncall::policies`).
CREATE TABLE escalation_policies (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    steps      jsonb NOT NULL,
    -- How many more times the steps run after the first, while nobody acknowledges.
    repeat     integer NOT NULL DEFAULT 0 CHECK (repeat BETWEEN 0 AND 10),
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT escalation_policies_name_not_blank CHECK (length(btrim(name)) > 0)
);
CREATE UNIQUE INDEX escalation_policies_name_key ON escalation_policies (lower(name));

-- The policy the operators behind Fireline's design run: announce, count down 30 s
-- (announced every 5 s), page the person on duty, wait 5 minutes, page everyone.
INSERT INTO escalation_policies (id, name, steps) VALUES (
    '00000000-0000-4000-8000-000000000001', 'Default',
    '[{"kind": "announce"}, {"kind": "countdown", "seconds": 30}, {"kind": "page_on_duty"},
      {"kind": "wait", "seconds": 300}, {"kind": "page_everyone"}]');

CREATE TABLE teams (
    id                   uuid PRIMARY KEY,
    name                 text NOT NULL,
    -- The policy a critical alert for the team runs unless its route names another.
    escalation_policy_id uuid REFERENCES escalation_policies (id) ON DELETE SET NULL,
    -- The rotation: none, or members in `rotation_user_ids` order, handing off every day
    -- (or week) at `rotation_handoff` local time in `rotation_time_zone`, starting with the
    -- first of them on `rotation_starts_on`.
    rotation_interval    rotation_interval,
    rotation_handoff     time,
    rotation_time_zone   text,
    rotation_starts_on   date,
    rotation_user_ids    uuid[] NOT NULL DEFAULT '{}',
    -- When `high` alerts notify the team: ISO weekdays (1 = Monday) from start to end,
    -- local time in `work_time_zone`.
    work_days            smallint[] NOT NULL DEFAULT '{1,2,3,4,5}',
    work_starts          time NOT NULL DEFAULT '09:00',
    work_ends            time NOT NULL DEFAULT '17:00',
    work_time_zone       text NOT NULL DEFAULT 'UTC',
    -- After an acknowledgement, further critical alerts for the team page nobody for this
    -- long (they are announced and listed).
    acked_mode_minutes   integer NOT NULL DEFAULT 30 CHECK (acked_mode_minutes BETWEEN 1 AND 1440),
    version              integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT teams_name_not_blank CHECK (length(btrim(name)) > 0),
    CONSTRAINT teams_rotation_whole CHECK (
        (rotation_interval IS NULL) = (rotation_handoff IS NULL)
        AND (rotation_interval IS NULL) = (rotation_time_zone IS NULL)
        AND (rotation_interval IS NULL) = (rotation_starts_on IS NULL)),
    CONSTRAINT teams_work_hours_order CHECK (work_starts < work_ends)
);
CREATE UNIQUE INDEX teams_name_key ON teams (lower(name));

CREATE TABLE team_members (
    team_id  uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

-- Duty taken knowingly ("I'm taking over"), or passed to someone; open until handed
-- back, passed on, or taken by someone else.
CREATE TABLE duty_takes (
    id         uuid PRIMARY KEY,
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       duty_take_kind NOT NULL,
    -- Who passed it (for `passed`).
    passed_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    started_at timestamptz NOT NULL,
    ended_at   timestamptz,
    CONSTRAINT duty_takes_order CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE UNIQUE INDEX duty_takes_open_key ON duty_takes (team_id) WHERE ended_at IS NULL;
CREATE INDEX duty_takes_team_idx ON duty_takes (team_id, started_at);

-- Someone covers the team for a while (a holiday swap, a doctor's appointment).
CREATE TABLE duty_overrides (
    id         uuid PRIMARY KEY,
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    reason     text,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT duty_overrides_order CHECK (ends_at > starts_at)
);
CREATE INDEX duty_overrides_team_idx ON duty_overrides (team_id, ends_at);

-- Routes name the team and, optionally, the policy: a routing rule's, else its
-- integration's team (the default route).
ALTER TABLE integrations ADD COLUMN team_id uuid REFERENCES teams (id) ON DELETE SET NULL;
ALTER TABLE routing_rules ADD COLUMN team_id uuid REFERENCES teams (id) ON DELETE SET NULL;
ALTER TABLE routing_rules ADD COLUMN escalation_policy_id uuid
    REFERENCES escalation_policies (id) ON DELETE SET NULL;

-- A signed-in user's own time zone for the admin UI (IANA name). NULL: follow the
-- browser's zone, or the status page's zone where there is no JavaScript.

ALTER TABLE users ADD COLUMN time_zone text;
ALTER TABLE users ADD CONSTRAINT users_time_zone_length CHECK (length(time_zone) BETWEEN 1 AND 64);

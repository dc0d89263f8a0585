-- Keys the server signs with. Several processes share one database, so they share these:
-- each is created once, by whichever process needs it first.
CREATE TABLE server_secrets (
    name       text PRIMARY KEY,
    secret     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT server_secrets_secret_long_enough CHECK (length(secret) >= 32)
);

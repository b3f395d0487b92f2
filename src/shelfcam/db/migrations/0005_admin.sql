-- Admin accounts, their server-side sessions, admin API tokens and the failed-login
-- throttle. Secrets are stored only as hashes: passwords as argon2 strings, session ids
-- and API tokens as SHA-256 (they are 256-bit random values; docs/decisions.md).

CREATE TABLE admin_users (
    username      text PRIMARY KEY
                  CONSTRAINT admin_users_username_slug CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2%'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE admin_sessions (
    session_hash bytea PRIMARY KEY CHECK (length(session_hash) = 32),
    username     text NOT NULL REFERENCES admin_users (username) ON DELETE CASCADE,
    csrf_token   text NOT NULL CHECK (length(csrf_token) >= 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    user_agent   text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 300)
);
CREATE INDEX admin_sessions_expires ON admin_sessions (expires_at);
CREATE INDEX admin_sessions_username ON admin_sessions (username);

CREATE TABLE admin_tokens (
    token_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked      boolean NOT NULL DEFAULT false
);

-- One row per throttled subject: 'user:<name>' or 'addr:<ip>'. Reset by a good login.
CREATE TABLE login_throttle (
    subject         text PRIMARY KEY CHECK (length(subject) <= 200),
    failures        integer NOT NULL CHECK (failures >= 0),
    last_failure_at timestamptz NOT NULL,
    blocked_until   timestamptz
);

-- The timeline polls for "events created since the page was drawn".
CREATE INDEX events_created ON events (created_at);

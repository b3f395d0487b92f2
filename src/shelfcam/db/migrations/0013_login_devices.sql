-- Browsers that have logged in: the login throttle never locks them out.
--
-- A successful login gives the browser a random 256-bit value in a cookie scoped to
-- /login; this table keeps its SHA-256 and the user it logged in as. A later attempt
-- that presents it for the same user is throttled on its own (subject 'device:<hash>'),
-- not with the user name and the address that strangers can fail on purpose.
CREATE TABLE admin_login_devices (
    device_hash  bytea PRIMARY KEY CHECK (length(device_hash) = 32),
    username     text NOT NULL REFERENCES admin_users (username) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_login_devices_user ON admin_login_devices (username, last_used_at DESC);

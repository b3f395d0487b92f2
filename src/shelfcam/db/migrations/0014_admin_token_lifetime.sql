-- Admin API tokens can be listed, revoked by name and given an expiry.
--
-- `revoke NAME` needs one live token per name: duplicates among the live tokens (possible
-- before this migration) keep the oldest's name, the others get '-<token_id>' appended.
ALTER TABLE admin_tokens
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN revoked_at timestamptz;

UPDATE admin_tokens SET revoked_at = now() WHERE revoked;

UPDATE admin_tokens t
SET name = left(t.name, 80) || '-' || t.token_id
FROM (
    SELECT token_id, row_number() OVER (PARTITION BY name ORDER BY token_id) AS n
    FROM admin_tokens WHERE NOT revoked
) d
WHERE d.token_id = t.token_id AND d.n > 1;

CREATE UNIQUE INDEX admin_tokens_live_name ON admin_tokens (name) WHERE NOT revoked;

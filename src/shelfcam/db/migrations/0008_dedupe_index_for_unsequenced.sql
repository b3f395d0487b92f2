-- The content index only serves retries of frames sent without a seq (cameras with a seq
-- are deduplicated by captures_device_boot_seq). Keeping it partial spares the ingest fast
-- path one index update per frame.
DROP INDEX captures_device_sha;
CREATE INDEX captures_device_sha_unsequenced ON captures (device_id, sha256_hex, received_at DESC)
    WHERE device_seq IS NULL;

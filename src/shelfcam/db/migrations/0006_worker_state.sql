-- What the analysis worker keeps per device besides the engine's JSON state.
--  kept_captures: staging captures the engine still needs (previous frame, baseline, an open
--                 episode's pre/post/during candidates); nothing else in staging is needed.
--  reference_*:   the scene-shift reference and the empty-shelf reference, stored as small
--                 grayscale JPEGs at analysis resolution (no long-lived staging file).
--  last_*:        the newest frame analyzed, to keep each boot's frames in order and the
--                 engine clock from going backwards.
--  unlink_pending: staging files released by the last frame, deleted after its commit and
--                 again (idempotently) before the next: a crash in between leaves no orphan.
ALTER TABLE device_state
    ADD COLUMN kept_captures uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN reference_jpeg bytea,
    ADD COLUMN reference_at timestamptz,
    ADD COLUMN empty_ref_jpeg bytea,
    ADD COLUMN empty_ref_at timestamptz,
    ADD COLUMN last_boot_id text,
    ADD COLUMN last_seq bigint,
    ADD COLUMN last_engine_at timestamptz,
    ADD COLUMN unlink_pending text[] NOT NULL DEFAULT '{}';

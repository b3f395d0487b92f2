-- What the ingest response tells a camera, kept apart from the engine's full state so the
-- fast path reads two small columns: burst while an interaction is open (set by the
-- worker), and a full snapshot when the UI asked for one.
ALTER TABLE device_state
    ADD COLUMN burst_until timestamptz,
    ADD COLUMN snapshot_requested_at timestamptz;

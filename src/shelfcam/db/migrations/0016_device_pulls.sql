-- Cameras that are pulled instead of pushing (docs/cameras.md): ESPHome and the stock
-- CameraWebServer serve JPEG snapshots or an MJPEG stream over HTTP.
--
-- device_pulls holds where to fetch a camera's frames from and how often, one row per
-- pulled camera. The URL keeps its credentials (user:password@), needed to connect; no
-- page, log, command or /healthz shows them (they print the URL with them replaced).
-- The state columns are what the puller last reported (connected, the mode it found,
-- frames per minute, the last error), so every process can show them.
CREATE TABLE device_pulls (
    device_id         text PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE,
    url               text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    interval_ms       integer CHECK (interval_ms BETWEEN 50 AND 3600000),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    connected         boolean,
    mode              text CHECK (mode IN ('snapshot', 'stream')),
    frames_per_minute real,
    last_frame_at     timestamptz,
    last_error        text,
    last_error_at     timestamptz,
    reported_at       timestamptz
);

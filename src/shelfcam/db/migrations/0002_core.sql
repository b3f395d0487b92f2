-- shelfcam core schema: the activity log (captures, events, event_images; docs/architecture.md,
-- "Data model") plus
-- devices, versioned device configuration and per-device engine state.

CREATE TABLE devices (
    device_id    text PRIMARY KEY
                 CONSTRAINT devices_device_id_slug CHECK (device_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz,
    revoked      boolean NOT NULL DEFAULT false
);

-- Every change of ROIs or thresholds is a new roi_version; events keep the version they
-- were decided with. The current configuration is the highest version.
CREATE TABLE device_configs (
    device_id       text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    roi_version     integer NOT NULL CHECK (roi_version >= 1),
    interaction_roi jsonb NOT NULL CHECK (jsonb_typeof(interaction_roi) = 'array'),
    inventory_roi   jsonb NOT NULL CHECK (jsonb_typeof(inventory_roi) = 'array'),
    thresholds      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(thresholds) = 'object'),
    privacy_blur    boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, roi_version)
);

CREATE TABLE device_state (
    device_id  text PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE,
    state      jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE captures (
    capture_id      uuid PRIMARY KEY,
    device_id       text NOT NULL REFERENCES devices (device_id),
    received_at     timestamptz NOT NULL DEFAULT now(),
    device_seq      bigint CHECK (device_seq >= 0),
    boot_id         text NOT NULL DEFAULT '' CHECK (length(boot_id) <= 64),
    captured_at     timestamptz,
    storage_uri     text,
    storage_class   text NOT NULL DEFAULT 'staging'
                    CONSTRAINT captures_storage_class_check
                    CHECK (storage_class IN ('staging', 'event', 'debug', 'discarded')),
    analysis_status text NOT NULL DEFAULT 'queued'
                    CONSTRAINT captures_analysis_status_check
                    CHECK (analysis_status IN ('queued', 'processed', 'failed', 'skipped')),
    analyzed_at     timestamptz,
    analysis_error  text,
    sha256_hex      text CHECK (sha256_hex ~ '^[0-9a-f]{64}$'),
    byte_size       integer CHECK (byte_size >= 0),
    width           integer CHECK (width > 0),
    height          integer CHECK (height > 0),
    meta            jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(meta) = 'object')
);
-- A camera retrying the same frame (same boot and seq) never makes a second row.
CREATE UNIQUE INDEX captures_device_boot_seq ON captures (device_id, boot_id, device_seq)
    WHERE device_seq IS NOT NULL;
-- Retries without a seq are recognised by content within the staging window.
CREATE INDEX captures_device_sha ON captures (device_id, sha256_hex, received_at DESC);
-- Per-device order and the devices page.
CREATE INDEX captures_device_received ON captures (device_id, received_at DESC);
-- Cleanup paths: staging and event frames by age.
CREATE INDEX captures_storage_class_received ON captures (storage_class, received_at)
    WHERE storage_class IN ('staging', 'event', 'debug');
-- The analysis queue as seen from shelfcam's side (queued or failed frames).
CREATE INDEX captures_pending ON captures (device_id, received_at)
    WHERE analysis_status = 'queued';

CREATE TABLE events (
    event_id   uuid PRIMARY KEY,
    device_id  text NOT NULL REFERENCES devices (device_id),
    event_type text NOT NULL
               CONSTRAINT events_event_type_check
               CHECK (event_type IN ('interaction_detected', 'stock_changed', 'empty_confirmed',
                                     'camera_obstructed', 'scene_shifted')),
    started_at timestamptz NOT NULL,
    ended_at   timestamptz CHECK (ended_at IS NULL OR ended_at >= started_at),
    confidence real CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
    details    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(details) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- The timeline: newest first, per device and overall.
CREATE INDEX events_device_started ON events (device_id, started_at DESC, event_id DESC);
CREATE INDEX events_started ON events (started_at DESC, event_id DESC);
CREATE INDEX events_type_started ON events (event_type, started_at DESC);

CREATE TABLE event_images (
    event_id            uuid NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
    role                text NOT NULL
                        CONSTRAINT event_images_role_check
                        CHECK (role IN ('pre', 'post', 'during', 'annotated', 'thumb')),
    capture_id          uuid REFERENCES captures (capture_id),
    derived_storage_uri text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT event_images_event_role_key UNIQUE (event_id, role),
    CONSTRAINT event_images_source CHECK (capture_id IS NOT NULL OR derived_storage_uri IS NOT NULL)
);
CREATE INDEX event_images_capture ON event_images (capture_id) WHERE capture_id IS NOT NULL;

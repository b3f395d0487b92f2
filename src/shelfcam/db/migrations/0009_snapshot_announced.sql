-- A snapshot request is announced to the camera (snapshot_requested: true in the response
-- to its next frame), and the frame after that is kept: a camera that follows the
-- directive sends a full-resolution picture for it; one that does not sends its usual frame.
ALTER TABLE device_state ADD COLUMN snapshot_announced_at timestamptz;

-- Retention deletes event frames after SHELFCAM_EVENT_RETENTION_DAYS; the event_images rows
-- stay and say when their file went, so the UI and API can show "image expired".
ALTER TABLE event_images ADD COLUMN expired_at timestamptz;
CREATE INDEX event_images_live_created ON event_images (created_at) WHERE expired_at IS NULL;

-- When a job with a lock (an analysis job: lock = device_id) finishes, the next job of
-- the same lock becomes runnable. procrastinate's workers only look for work when a job
-- is inserted (NOTIFY) or when their polling interval ends, so a camera's queued frames
-- would each wait for the poll. Tell them, as an insert does (same channels, same payload).
CREATE FUNCTION shelfcam_wake_next_locked_job() RETURNS trigger
    LANGUAGE plpgsql
AS $$
DECLARE
    payload text := json_build_object('type', 'job_inserted', 'job_id', OLD.id)::text;
BEGIN
    PERFORM pg_notify('procrastinate_queue_v1#' || OLD.queue_name, payload);
    PERFORM pg_notify('procrastinate_any_queue_v1', payload);
    RETURN NULL;
END;
$$;

CREATE TRIGGER shelfcam_wake_next_locked_job_on_finish
    AFTER UPDATE OF status ON procrastinate_jobs
    FOR EACH ROW
    WHEN (OLD.status = 'doing' AND NEW.status <> 'doing' AND OLD.lock IS NOT NULL)
    EXECUTE FUNCTION shelfcam_wake_next_locked_job();

CREATE TRIGGER shelfcam_wake_next_locked_job_on_delete
    AFTER DELETE ON procrastinate_jobs
    FOR EACH ROW
    WHEN (OLD.status = 'doing' AND OLD.lock IS NOT NULL)
    EXECUTE FUNCTION shelfcam_wake_next_locked_job();

-- Analysis jobs leave no rows in procrastinate_events.
--
-- procrastinate's triggers add an event row for every job queued, started and finished:
-- for a frame, three rows (with their indexes and foreign-key checks) written and, when
-- the job succeeds and is deleted, three rows deleted again. The frame's ingest statement
-- paid for one of them, the worker for the rest. Nothing reads them for this queue:
-- procrastinate reads events only in delete_old_jobs and the stalled-by-start-time
-- query, and shelfcam uses neither (stalled jobs are found by worker heartbeat; a
-- succeeded analysis job is deleted at once). A frame's analysis history is its captures
-- row (analysis_status, analyzed_at, analysis_error) and the worker's log lines.
--
-- The triggers keep their names and functions and still record events for every other
-- queue (maintenance jobs, periodic ones).
DROP TRIGGER procrastinate_trigger_status_events_insert_v1 ON procrastinate_jobs;
CREATE TRIGGER procrastinate_trigger_status_events_insert_v1
    AFTER INSERT ON procrastinate_jobs
    FOR EACH ROW WHEN ((new.status = 'todo'::procrastinate_job_status AND new.queue_name <> 'analysis'))
    EXECUTE PROCEDURE procrastinate_trigger_function_status_events_insert_v1();

DROP TRIGGER procrastinate_trigger_status_events_update_v1 ON procrastinate_jobs;
CREATE TRIGGER procrastinate_trigger_status_events_update_v1
    AFTER UPDATE OF status ON procrastinate_jobs
    FOR EACH ROW WHEN ((new.queue_name <> 'analysis'))
    EXECUTE PROCEDURE procrastinate_trigger_function_status_events_update_v1();

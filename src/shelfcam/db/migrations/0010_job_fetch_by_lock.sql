-- Fetching a job in time proportional to the number of cameras, not to the backlog.
--
-- procrastinate (3.10) finds a runnable job by walking every queued job in priority order
-- and checking, for each, that no job of the same lock (an analysis job: lock = device_id)
-- is running or ahead of it. When every camera's next frame is already running (a backlog
-- after an outage, workers busy) a fetch that finds nothing walks the whole queue, and a
-- worker makes one such fetch after every job: 1,700 queued frames cost 31 ms per fetch
-- and halved the drain rate, 10,000 would cost 180 ms.
--
-- Same answer, found another way: a runnable job is either a job without a lock, or the
-- first queued job (priority, then id) of a lock with no running job. The locks with work
-- are read by a skip scan of an index on lock, and each lock's first job from the same
-- index (ordered by -priority so that the planner cannot walk the priority index instead),
-- so a fetch costs a few index probes per camera. The candidates are then tried in order,
-- each by its primary key, skipping rows another worker is taking. The function keeps
-- procrastinate's name, arguments and result, so its Python side is unchanged;
-- tests/integration/test_job_fetch.py checks the semantics and that the installed
-- procrastinate still ships the function this one replaces.
CREATE INDEX procrastinate_jobs_lock_active
    ON procrastinate_jobs (lock, status, (-(priority::bigint)), id)
    WHERE status IN ('todo', 'doing') AND lock IS NOT NULL;
CREATE INDEX procrastinate_jobs_lockless_todo ON procrastinate_jobs (priority DESC, id)
    WHERE status = 'todo' AND lock IS NULL;

CREATE OR REPLACE FUNCTION procrastinate_fetch_job_v2(
    target_queue_names character varying[],
    p_worker_id bigint
)
    RETURNS procrastinate_jobs
    LANGUAGE plpgsql
AS $$
DECLARE
    found_jobs procrastinate_jobs;
    candidate_id bigint;
BEGIN
    FOR candidate_id IN
        WITH RECURSIVE active_locks(lock) AS (
            (SELECT jobs.lock FROM procrastinate_jobs AS jobs
                WHERE jobs.lock IS NOT NULL AND jobs.status IN ('todo', 'doing')
                ORDER BY jobs.lock LIMIT 1)
            UNION ALL
            SELECT (SELECT jobs.lock FROM procrastinate_jobs AS jobs
                        WHERE jobs.lock IS NOT NULL AND jobs.status IN ('todo', 'doing')
                            AND jobs.lock > active_locks.lock
                        ORDER BY jobs.lock LIMIT 1)
                FROM active_locks
                WHERE active_locks.lock IS NOT NULL
        ),
        runnable AS (
            SELECT head.id, head.priority
                FROM active_locks
                CROSS JOIN LATERAL (
                    SELECT jobs.id, jobs.priority FROM procrastinate_jobs AS jobs
                        WHERE jobs.lock IS NOT NULL AND jobs.lock = active_locks.lock
                            AND jobs.status = 'todo'
                        ORDER BY -(jobs.priority::bigint), jobs.id LIMIT 1
                ) AS head
                WHERE active_locks.lock IS NOT NULL
                    AND NOT EXISTS (
                        SELECT 1 FROM procrastinate_jobs AS running
                            WHERE running.lock = active_locks.lock AND running.status = 'doing'
                    )
            UNION ALL
            SELECT jobs.id, jobs.priority FROM procrastinate_jobs AS jobs
                WHERE jobs.lock IS NULL AND jobs.status = 'todo'
        )
        SELECT runnable.id FROM runnable ORDER BY runnable.priority DESC, runnable.id ASC
    LOOP
        UPDATE procrastinate_jobs
            SET status = 'doing', worker_id = p_worker_id
            WHERE procrastinate_jobs.id = (
                SELECT jobs.id FROM procrastinate_jobs AS jobs
                    WHERE jobs.id = candidate_id
                        AND jobs.status = 'todo'
                        AND (target_queue_names IS NULL OR jobs.queue_name = ANY( target_queue_names ))
                        AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
                    FOR UPDATE SKIP LOCKED
            )
            RETURNING procrastinate_jobs.* INTO found_jobs;
        IF found_jobs.id IS NOT NULL THEN
            RETURN found_jobs;
        END IF;
    END LOOP;
    RETURN found_jobs;
END;
$$;

-- Every statement PostgresStore runs, by name. mel.stores.postgres fills in {tasks},
-- {failed}, {progress}, {meta} and {schema} with the namespace's quoted names, and
-- {queues} with a queue filter (or nothing) in the statements that take one.
-- Times are BIGINT milliseconds handed in by the caller; arrays are sent in binary.

-- name: lock
SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))

-- name: bootstrap
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {meta} (key text PRIMARY KEY, value text NOT NULL)

-- name: has_meta
SELECT to_regclass(%s) IS NOT NULL

-- name: version
SELECT value FROM {meta} WHERE key = 'schema_version'

-- name: set_version
INSERT INTO {meta} VALUES ('schema_version', %s)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value

-- name: insert
INSERT INTO {tasks} (id, queue, due_ms, data)
SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[])
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: insert_notify
-- insert, then one NOTIFY of the earliest due time stored (none when nothing was): one
-- statement, so a run_now costs one round trip in autocommit. The cross join makes the
-- statement read `woke`, which PostgreSQL would otherwise never evaluate.
WITH new AS (
    INSERT INTO {tasks} (id, queue, due_ms, data)
    SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[])
    ON CONFLICT (id) DO NOTHING
    RETURNING id, due_ms
), woke AS (
    SELECT pg_notify(%s, min(due_ms)::text) FROM new HAVING count(*) > 0
)
SELECT new.id FROM new, (SELECT count(*) AS n FROM woke) AS w WHERE w.n >= 0

-- name: upsert
-- A forced write replaces the task and drops its lease and token (fencing out a running
-- copy). xmax = 0 tells a new row from a replaced one.
INSERT INTO {tasks} (id, queue, due_ms, data)
SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[])
ON CONFLICT (id) DO UPDATE SET queue = EXCLUDED.queue, due_ms = EXCLUDED.due_ms,
    attempts = 0, data = EXCLUDED.data,
    lease_until_ms = NULL, owner = NULL, token = NULL, seq = DEFAULT
RETURNING id, xmax = 0

-- name: progress
INSERT INTO {progress} (id, description, value, expires_ms)
SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::bigint[])
ON CONFLICT (id) DO UPDATE SET description = EXCLUDED.description,
    value = EXCLUDED.value, expires_ms = EXCLUDED.expires_ms

-- name: notify
SELECT pg_notify(%s, %s)

-- name: claim
-- Free tasks come from the tasks_free index in due order; lapsed leases (a crashed or
-- hung worker) from tasks_leased. Rows another claimer holds are skipped, not waited
-- for, and a row claimed meanwhile fails the re-check of its WHERE clause.
WITH free AS (
    SELECT id, due_ms, seq FROM {tasks}
    WHERE lease_until_ms IS NULL AND due_ms <= %(now)s {queues}
    ORDER BY due_ms, seq LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), lapsed AS (
    SELECT id, due_ms, seq FROM {tasks}
    WHERE lease_until_ms <= %(now)s AND due_ms <= %(now)s {queues}
    ORDER BY due_ms, seq LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT id FROM (SELECT * FROM free UNION ALL SELECT * FROM lapsed) AS c
    ORDER BY due_ms, seq LIMIT %(limit)s
)
UPDATE {tasks} AS t
SET lease_until_ms = %(until)s, owner = %(owner)s, token = %(token)s
FROM picked WHERE t.id = picked.id
RETURNING t.id, t.queue, t.due_ms, t.attempts, t.data, t.seq

-- name: renew
UPDATE {tasks} AS t SET lease_until_ms = %s
FROM unnest(%b::text[], %b::text[]) AS u(id, token)
WHERE t.id = u.id AND t.token = u.token
RETURNING t.id

-- name: holders
SELECT id, token FROM {tasks} WHERE id = ANY(%b::text[]) ORDER BY id FOR UPDATE

-- name: delete
DELETE FROM {tasks} AS t
USING unnest(%b::text[], %b::text[]) AS u(id, token)
WHERE t.id = u.id AND t.token = u.token
RETURNING t.id

-- name: fail
WITH gone AS (
    DELETE FROM {tasks} AS t
    USING unnest(%b::text[], %b::text[]) AS u(id, token)
    WHERE t.id = u.id AND t.token = u.token
    RETURNING t.id
)
INSERT INTO {failed} (id, queue, data, attempts, error, traceback, failed_ms, expires_ms)
SELECT r.* FROM unnest(%b::text[], %b::text[], %b::text[], %b::int[], %b::text[],
    %b::text[], %b::bigint[], %b::bigint[])
    AS r(id, queue, data, attempts, error, traceback, failed_ms, expires_ms)
JOIN gone USING (id)
ON CONFLICT (id) DO UPDATE SET queue = EXCLUDED.queue, data = EXCLUDED.data,
    attempts = EXCLUDED.attempts, error = EXCLUDED.error, traceback = EXCLUDED.traceback,
    failed_ms = EXCLUDED.failed_ms, expires_ms = EXCLUDED.expires_ms
RETURNING id

-- name: reschedule
UPDATE {tasks} AS t
SET due_ms = u.due_ms, attempts = u.attempts, data = u.data,
    lease_until_ms = NULL, owner = NULL, token = NULL, seq = DEFAULT
FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::int[], %b::text[])
    AS u(id, token, due_ms, attempts, data)
WHERE t.id = u.id AND t.token = u.token
RETURNING t.id, t.due_ms

-- name: release
UPDATE {tasks} AS t
SET lease_until_ms = NULL, owner = NULL, token = NULL, seq = DEFAULT
FROM unnest(%b::text[], %b::text[]) AS u(id, token)
WHERE t.id = u.id AND t.token = u.token
RETURNING t.id, t.due_ms

-- name: release_worker
UPDATE {tasks} SET lease_until_ms = NULL, owner = NULL, token = NULL, seq = DEFAULT
WHERE owner = %s AND lease_until_ms IS NOT NULL

-- name: next_due
-- A free task counts from its due time, a leased one from its lease expiry.
SELECT LEAST(
    (SELECT min(due_ms) FROM {tasks} WHERE lease_until_ms IS NULL {queues}),
    (SELECT min(lease_until_ms) FROM {tasks} WHERE lease_until_ms IS NOT NULL {queues}))

-- name: get
SELECT id, queue, due_ms, attempts, data, lease_until_ms, owner FROM {tasks} WHERE id = %s

-- name: list_tasks
SELECT id, queue, due_ms, attempts, data, lease_until_ms, owner FROM {tasks}
WHERE (%(queue)s::text IS NULL OR queue = %(queue)s)
ORDER BY due_ms, id LIMIT %(limit)s

-- name: get_failed
SELECT id, queue, data, attempts, error, traceback, failed_ms, expires_ms FROM {failed}
WHERE id = %s AND (expires_ms IS NULL OR expires_ms > %s)

-- name: list_failed
SELECT id, queue, data, attempts, error, traceback, failed_ms, expires_ms FROM {failed}
WHERE expires_ms IS NULL OR expires_ms > %s
ORDER BY failed_ms DESC, id LIMIT %s

-- name: counts
SELECT
    count(*) FILTER (WHERE lease_until_ms > %(now)s),
    count(*) FILTER (WHERE (lease_until_ms > %(now)s) IS NOT TRUE AND attempts > 0),
    count(*) FILTER (WHERE (lease_until_ms > %(now)s) IS NOT TRUE AND attempts = 0),
    (SELECT count(*) FROM {failed} WHERE expires_ms IS NULL OR expires_ms > %(now)s)
FROM {tasks}

-- name: cancel
WITH t AS (DELETE FROM {tasks} WHERE id = %(id)s RETURNING 1),
    f AS (DELETE FROM {failed} WHERE id = %(id)s RETURNING 1)
SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM f)

-- name: requeue
WITH f AS (
    DELETE FROM {failed}
    WHERE id = %(id)s AND (expires_ms IS NULL OR expires_ms > %(now)s)
        AND NOT EXISTS (SELECT 1 FROM {tasks} WHERE id = %(id)s)
    RETURNING id, queue
)
INSERT INTO {tasks} (id, queue, due_ms, data)
SELECT id, queue, %(due)s, %(data)s FROM f
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: purge_failed
DELETE FROM {failed} WHERE expires_ms <= %s

-- name: purge_progress
DELETE FROM {progress} WHERE expires_ms <= %s

-- name: get_progress
SELECT id, description, value, expires_ms FROM {progress}
WHERE id = ANY(%b::text[]) AND (expires_ms IS NULL OR expires_ms > %s)

-- name: truncate
TRUNCATE {tasks}, {failed}, {progress}

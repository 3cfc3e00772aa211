-- Mel's PostgreSQL layout, schema version 1 (docs/postgres-layout.md explains every column).
-- {schema} is the store's namespace, quoted by mel.stores.postgres before this file runs;
-- migrate() runs it once, in a transaction, under an advisory lock.
-- Times are BIGINT milliseconds since the epoch, always handed in by the caller.

CREATE TABLE {schema}.tasks (
    id             text    PRIMARY KEY,
    queue          text    NOT NULL DEFAULT 'default',
    due_ms         bigint  NOT NULL,
    attempts       integer NOT NULL DEFAULT 0,
    data           text    NOT NULL,
    -- the lease: set by a claim, cleared when the task is freed; a task whose
    -- lease_until_ms has passed is free again
    lease_until_ms bigint,
    owner          text,
    token          text,
    -- tie-break between tasks due in the same millisecond: first freed, first claimed
    seq            bigint  GENERATED ALWAYS AS IDENTITY
);

-- Claim and next_due_ms read free tasks in due order; leased tasks stay out of this index
-- so a claim never walks past running tasks, and far-future tasks are never reached.
CREATE INDEX tasks_free ON {schema}.tasks (due_ms, seq) WHERE lease_until_ms IS NULL;
-- Lapsed leases (crashed workers), next_due_ms of leased tasks, release_worker.
CREATE INDEX tasks_leased ON {schema}.tasks (lease_until_ms) WHERE lease_until_ms IS NOT NULL;

CREATE TABLE {schema}.failed (
    id         text    PRIMARY KEY,
    queue      text    NOT NULL,
    data       text    NOT NULL,
    attempts   integer NOT NULL,
    error      text    NOT NULL,
    traceback  text    NOT NULL,
    failed_ms  bigint  NOT NULL,
    expires_ms bigint
);

CREATE INDEX failed_latest ON {schema}.failed (failed_ms DESC, id);
CREATE INDEX failed_expiry ON {schema}.failed (expires_ms) WHERE expires_ms IS NOT NULL;

CREATE TABLE {schema}.progress (
    id          text   PRIMARY KEY,
    description text   NOT NULL,
    value       bigint NOT NULL,
    expires_ms  bigint
);

CREATE INDEX progress_expiry ON {schema}.progress (expires_ms) WHERE expires_ms IS NOT NULL;

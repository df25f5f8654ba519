// The baseline: the statements that src/queue/queue.ts and src/queue/job-store.ts run,
// issued straight through better-sqlite3 with the pragmas of src/store/database.ts. Keep
// the SQL text in step with those files, or the ratios stop comparing like with like.
import { randomUUID } from 'node:crypto';

import Database from 'better-sqlite3';

import { MIGRATIONS, SCHEMA_VERSION } from '../../dist/store/migrations.js';

/** Same values as DEFAULT_LOCK_DURATION_MS and DEFAULT_RETENTION.maxEvents in src/queue/options.ts. */
const LOCK_DURATION_MS = 60_000;
const MAX_EVENTS = 10_000;
/** Same value as EVENT_TRIM_INTERVAL in src/queue/job-store.ts. */
const EVENT_TRIM_INTERVAL = 1000;
/** Same value as JOURNAL_SIZE_LIMIT_BYTES in src/store/database.ts. */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

const FENCE = `id = @id AND state = 'active' AND lock_token = @token`;

export const SQL = {
  insertJob: `
        INSERT INTO jobs (id, kind, repository, commit_sha, dedup_key, payload, priority, state, run_at,
                          max_attempts, created_at, updated_at)
        VALUES (@id, @kind, @repository, @commitSha, @dedupKey, @payload, @priority, @state, @runAt,
                @maxAttempts, @now, @now)
        ON CONFLICT DO NOTHING
        RETURNING *`,
  insertEvent: 'INSERT INTO job_events (job_id, type, at, data) VALUES (?, ?, ?, ?)',
  trimEvents: 'DELETE FROM job_events WHERE seq <= (SELECT max(seq) FROM job_events) - ?',
  promoteDelayed: `UPDATE jobs SET state = 'waiting', updated_at = @now WHERE state = 'delayed' AND run_at <= @now`,
  claim: `
        UPDATE jobs
           SET state = 'active', lock_token = @token, lock_owner = @owner, lock_expires_at = @expiresAt,
               attempts_started = attempts_started + 1, started_at = @now, updated_at = @now, progress = NULL
         WHERE seq = (SELECT seq FROM jobs WHERE state = 'waiting' ORDER BY priority, seq LIMIT 1)
        RETURNING *`,
  activeRow: `SELECT * FROM jobs WHERE ${FENCE}`,
  completeJob: `
        UPDATE jobs
           SET state = 'completed', attempts_made = attempts_made + 1, result_id = @resultId,
               lock_token = NULL, lock_owner = NULL, lock_expires_at = NULL,
               finished_at = @now, updated_at = @now
         WHERE ${FENCE}`,
};

const TRANSACTION_SQL = { begin: 'BEGIN IMMEDIATE', commit: 'COMMIT', rollback: 'ROLLBACK' };

/** Opens `file` with the pragmas that openDatabase sets, without its file checks, mode changes and warnings. */
export function openRawDatabase(file, busyTimeoutMs) {
  const db = new Database(file, { timeout: busyTimeoutMs });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  db.pragma('foreign_keys = ON');
  return db;
}

/** Creates the stepper schema in a new file, so the raw side writes to the same tables and indexes. */
export function createRawSchema(file) {
  const db = openRawDatabase(file, 5000);
  db.exec(MIGRATIONS.join('\n'));
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
  db.close();
}

/**
 * Fields of a new job as normalizeNewJob (src/queue/new-job.ts) builds them for a job
 * without delay, with the default priority (normal, 2) and attempts (5), minus its checks.
 */
export function newJobParameters(job, now) {
  return {
    id: randomUUID(),
    kind: job.kind,
    repository: job.repository,
    commitSha: job.commitSha,
    dedupKey: `${job.kind}:${job.repository}:${job.commitSha}`,
    payload: JSON.stringify(job.payload ?? {}),
    priority: 2,
    state: 'waiting',
    runAt: now,
    maxAttempts: 5,
  };
}

/**
 * A hand-written queue over one connection. Each operation is one BEGIN IMMEDIATE
 * transaction, like JobStore.write, and returns plain rows instead of Job objects.
 */
export class RawQueue {
  #db;
  #statements = {};
  #eventsSinceTrim = 0;

  constructor(db) {
    this.#db = db;
  }

  add(job) {
    const now = Date.now();
    const parameters = newJobParameters(job, now);

    return this.#immediate(() => {
      const row = this.#statement('insertJob').get({ ...parameters, now });
      // Every benchmark job is distinct, so the deduplication branch of Queue.add never runs on either side.
      if (!row) {
        throw new Error(`raw insert of job ${parameters.id} returned no row`);
      }

      this.#event(row.id, 'added', { state: row.state, priority: row.priority }, now);
      return row;
    });
  }

  claim(owner) {
    const now = Date.now();
    const token = randomUUID();

    return this.#immediate(() => {
      this.#statement('promoteDelayed').run({ now });
      const row = this.#statement('claim').get({ token, owner, now, expiresAt: now + LOCK_DURATION_MS });
      if (!row) {
        return undefined;
      }

      this.#event(row.id, 'started', { attempt: row.attempts_made + 1, owner }, now);
      return row;
    });
  }

  complete(row) {
    const now = Date.now();
    const lock = { id: row.id, token: row.lock_token };

    return this.#immediate(() => {
      const active = this.#statement('activeRow').get(lock);
      if (!active) {
        return false;
      }

      this.#statement('completeJob').run({ ...lock, resultId: null, now });
      this.#event(lock.id, 'completed', { attempt: active.attempts_made + 1, resultId: null }, now);
      return true;
    });
  }

  close() {
    this.#db.close();
  }

  #event(jobId, type, data, now) {
    this.#statement('insertEvent').run(jobId, type, now, JSON.stringify(data));

    this.#eventsSinceTrim += 1;
    if (this.#eventsSinceTrim >= EVENT_TRIM_INTERVAL) {
      this.#eventsSinceTrim = 0;
      this.#statement('trimEvents').run(MAX_EVENTS);
    }
  }

  // Prepared on first use, as JobStore.statement does, so a connection that only enqueues
  // prepares no more statements than a Queue that only enqueues.
  #statement(name) {
    this.#statements[name] ??= this.#db.prepare(TRANSACTION_SQL[name] ?? SQL[name]);
    return this.#statements[name];
  }

  #immediate(work) {
    this.#statement('begin').run();
    try {
      const result = work();
      this.#statement('commit').run();
      return result;
    } catch (error) {
      if (this.#db.inTransaction) {
        this.#statement('rollback').run();
      }

      throw error;
    }
  }
}

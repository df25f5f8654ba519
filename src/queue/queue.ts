import fs from 'node:fs';
import path from 'node:path';

import { DatabaseError, InvalidOptionError, JobNotFoundError, JobStateError, checkDataDir, checkPositiveInteger, queueActionOf } from '../errors.js';
import { checkDataDirUsable, DATABASE_FILE, ensureDataDir, resolveDataDir } from '../store/data-dir.js';
import { type OpenDatabaseOptions, type SqliteDatabase, openDatabase } from '../store/database.js';
import { backoffDelay } from './backoff.js';
import { type ErrorDetails, describeError } from './error-details.js';
import { normalizeNewJob } from './new-job.js';
import { type QueueOptions, type ResolvedQueueOptions, resolveQueueOptions } from './options.js';
import { JobStore } from './job-store.js';
import {
  type ListEventsOptions,
  type ListJobsOptions,
  countJobs,
  findJobRow,
  findLiveDuplicate,
  listEvents,
  listJobs,
  readJob,
  readOldestWaiting,
  readReport,
  readReportByCacheKey,
  readReportForCommit,
} from './reads.js';
import { type CleanResult, cleanFinished } from './retention.js';
import { type JobRow, toClaimedJob, toJob } from './rows.js';
import {
  type AddResult,
  type ClaimedJob,
  type FailOutcome,
  type FailedReason,
  type Job,
  type JobEvent,
  type JobProgress,
  type JobState,
  type NewJob,
  type NewReport,
  type Report,
} from './types.js';

export type { ListEventsOptions, ListJobsOptions } from './reads.js';

export interface OpenQueueOptions extends QueueOptions, OpenDatabaseOptions {
  /** Data directory holding the database. @default resolveDataDir() */
  dataDir?: string;
}

/** Id and lock token of a claimed job, the pair every fenced write checks. */
export type JobLock = Pick<ClaimedJob, 'id' | 'token'>;

export interface StallRecoveryOptions {
  /** A worker id whose jobs are left alone, because that worker is alive and renews them. */
  exceptOwner?: string;
  /**
   * Treat every other active job as stalled, expired lock or not. Only safe for a caller that
   * knows no other worker is alive, such as a daemon holding the single-instance lock.
   * @default false
   */
  includeUnexpired?: boolean;
}

export interface ClaimOptions {
  /**
   * Model names whose jobs are skipped: jobs whose payload has a `model` field in this list
   * stay waiting, for example while that model is not installed. @default []
   */
  excludeModels?: readonly string[];
}

export interface StallRecoveryResult {
  requeued: string[];
  failed: string[];
}

/** A completed job's result: a new report, or the id of a stored one. */
export interface CompletionResult {
  report?: NewReport;
  reportId?: string;
}

export interface CompleteAndClaimResult {
  /** False when the token was stale and nothing was completed. */
  completed: boolean;
  /** The job claimed next, when one was due. */
  next?: ClaimedJob;
}

const FENCE = `id = @id AND state = 'active' AND lock_token = @token`;

function checkCompletion(result: CompletionResult): void {
  if (result.report && result.reportId !== undefined) {
    throw new InvalidOptionError('completion', 'a new report or a stored reportId, not both', result.reportId);
  }
}

/**
 * Opens the queue in the data directory, creating directory and database when missing.
 */
export function openQueue(options: OpenQueueOptions = {}): Queue {
  const dataDir = options.dataDir === undefined ? resolveDataDir() : checkDataDir(options.dataDir);

  // Options are checked before anything is created on disk.
  resolveQueueOptions(options);
  if (options.pageCacheKiB !== undefined) {
    checkPositiveInteger('pageCacheKiB', options.pageCacheKiB);
  }
  if (!options.readonly) {
    ensureDataDir(dataDir);
  }

  const file = path.join(dataDir, DATABASE_FILE);
  const { db, warnings } = openDatabase(file, options);
  try {
    return new Queue(db, file, warnings, options);
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Opens the queue read-only when its database exists and has a schema, and returns
 * undefined otherwise. A file another process has just created and not yet migrated
 * counts as missing, so readers racing the first enqueue see an empty queue.
 */
export function openExistingQueue(options: Omit<OpenQueueOptions, 'readonly'> = {}): Queue | undefined {
  const dataDir = options.dataDir === undefined ? resolveDataDir() : checkDataDir(options.dataDir);
  if (!fs.existsSync(path.join(dataDir, DATABASE_FILE))) {
    checkDataDirUsable(dataDir);
    return undefined;
  }

  try {
    return openQueue({ ...options, dataDir, readonly: true });
  } catch (error) {
    if (error instanceof DatabaseError && error.code === 'DATABASE_EMPTY') {
      return undefined;
    }
    throw error;
  }
}

/**
 * A durable job queue in one SQLite file, shared by many processes. Every write is one
 * IMMEDIATE transaction, so no process reads and then writes on a stale snapshot.
 * Writes about a claimed job are fenced by its lock token: after the job was
 * requeued, cancelled or claimed again, a late write changes nothing.
 */
export class Queue {
  readonly file: string;
  /** Conditions found at open time that deserve the user's attention. */
  readonly warnings: readonly string[];
  readonly options: ResolvedQueueOptions;
  readonly #store: JobStore;

  constructor(db: SqliteDatabase, file: string, warnings: readonly string[], options: QueueOptions = {}) {
    this.file = file;
    this.warnings = warnings;
    this.options = resolveQueueOptions(options);
    this.#store = new JobStore(db, file, this.options.retention.maxEvents);
  }

  /** The underlying connection, for maintenance and tests. */
  get database(): SqliteDatabase {
    return this.#store.db;
  }

  /**
   * Adds a job, or returns the live job with the same dedup key and `deduplicated: true`.
   * A job given an `id` that exists already (a spool file ingested twice) is returned as is.
   */
  add(input: NewJob): AddResult {
    const now = this.#now();
    const job = normalizeNewJob(input, this.options.maxAttempts, now);

    return this.#store.write(() => {
      const inserted = this.#store.statement(`
        INSERT INTO jobs (id, kind, repository, commit_sha, dedup_key, payload, priority, state, run_at,
                          max_attempts, created_at, updated_at)
        VALUES (@id, @kind, @repository, @commitSha, @dedupKey, @payload, @priority, @state, @runAt,
                @maxAttempts, @now, @now)
        ON CONFLICT DO NOTHING
        RETURNING *`).get({ ...job, now }) as JobRow | undefined;

      if (inserted) {
        this.#store.event(inserted.id, 'added', { state: inserted.state, priority: inserted.priority }, now);
        return { job: toJob(inserted), deduplicated: false };
      }

      const existing =
        findJobRow(this.#store, job.id) ??
        findLiveDuplicate(this.#store, job.dedupKey);
      if (!existing) {
        throw new Error(`job ${job.id} was neither inserted nor found; the jobs table has an unexpected constraint`);
      }

      // A repeated request that is more urgent raises the priority of a job that has not started.
      if (existing.id !== job.id && job.priority < existing.priority && (existing.state === 'waiting' || existing.state === 'delayed')) {
        const raised = this.#store
          .statement(`UPDATE jobs SET priority = ?, updated_at = ? WHERE id = ? RETURNING *`)
          .get(job.priority, now, existing.id) as JobRow;
        return { job: toJob(raised), deduplicated: true };
      }

      return { job: toJob(existing), deduplicated: true };
    });
  }

  /**
   * Adds a job that is completed at once with the stored report `reportId`, for a request
   * whose report exists already. A job with the same id, or a live job with the same dedup
   * key, is returned instead with `deduplicated: true`, because that job already covers the request.
   *
   * @throws InvalidOptionError when `reportId` names no stored report
   */
  addCompleted(input: NewJob, reportId: string): AddResult {
    const now = this.#now();
    const job = normalizeNewJob(input, this.options.maxAttempts, now);

    return this.#store.write(() => {
      const existing = findJobRow(this.#store, job.id) ?? findLiveDuplicate(this.#store, job.dedupKey);
      if (existing) {
        return { job: toJob(existing), deduplicated: true };
      }

      if (!this.#store.statement('SELECT 1 FROM reports WHERE id = ?').get(reportId)) {
        throw new InvalidOptionError('reportId', 'the id of a stored report', reportId);
      }

      const inserted = this.#store.statement(`
        INSERT INTO jobs (id, kind, repository, commit_sha, dedup_key, payload, priority, state, run_at,
                          max_attempts, result_id, created_at, finished_at, updated_at)
        VALUES (@id, @kind, @repository, @commitSha, @dedupKey, @payload, @priority, 'completed', @runAt,
                @maxAttempts, @reportId, @now, @now, @now)
        RETURNING *`).get({ ...job, reportId, now }) as JobRow;
      this.#store.event(inserted.id, 'added', { state: 'completed', priority: inserted.priority, cached: true }, now);
      this.#store.event(inserted.id, 'completed', { attempt: 0, resultId: reportId, cached: true }, now);
      return { job: toJob(inserted), deduplicated: false };
    });
  }

  /**
   * Runs `work` in one IMMEDIATE transaction, so the queue operations inside it commit
   * together: all of them or, when one throws, none.
   */
  batch<T>(work: () => T): T {
    return this.#store.write(work);
  }

  getJob(id: string): Job | undefined {
    return readJob(this.#store, id);
  }

  /** Lists jobs, newest first. */
  getJobs(options: ListJobsOptions = {}): Job[] {
    return listJobs(this.#store, options);
  }

  /** Counts jobs in each state. */
  getCounts(): Record<JobState, number> {
    return countJobs(this.#store);
  }

  /** Returns the waiting or delayed job that was added first. */
  getOldestWaiting(): Job | undefined {
    return readOldestWaiting(this.#store);
  }

  getReport(id: string): Report | undefined {
    return readReport(this.#store, id);
  }

  /** Returns the newest report stored under `cacheKey`, which a job with the same key can reuse. */
  findReportByCacheKey(cacheKey: string): Report | undefined {
    return readReportByCacheKey(this.#store, cacheKey);
  }

  /** Returns the newest report of a commit, which is the last `--force` run's report when there was one. */
  findReportForCommit(repository: string, commitSha: string, kind = 'report'): Report | undefined {
    return readReportForCommit(this.#store, repository, commitSha, kind);
  }

  /** Returns the summary stored under `cacheKey` and updates its `used_at` time, or returns undefined when none is stored. */
  getSummary(cacheKey: string): unknown {
    return this.#store.write(() => {
      const row = this.#store.statement('SELECT content FROM summaries WHERE cache_key = ?').get(cacheKey) as
        | { content: string }
        | undefined;
      if (!row) {
        return undefined;
      }

      this.#store.statement('UPDATE summaries SET used_at = ? WHERE cache_key = ?').run(this.#now(), cacheKey);
      return JSON.parse(row.content) as unknown;
    });
  }

  /** Stores a summary under `cacheKey` as JSON, replacing an older one. */
  putSummary(cacheKey: string, content: unknown): void {
    const now = this.#now();
    this.#store.write(() => {
      this.#store
        .statement(`
          INSERT INTO summaries (cache_key, content, created_at, used_at) VALUES (?, ?, ?, ?)
          ON CONFLICT (cache_key) DO UPDATE SET content = excluded.content, used_at = excluded.used_at`)
        .run(cacheKey, JSON.stringify(content), now, now);
    });
  }

  /** Returns events after `afterSeq` in the order they happened, optionally of one job. */
  getEvents(options: ListEventsOptions = {}): JobEvent[] {
    return listEvents(this.#store, options);
  }

  /**
   * Returns SQLite's `data_version`, which changes when another connection commits, so a
   * reader polls this one number and reads again only after a change.
   */
  dataVersion(): number {
    // A cached statement, because db.pragma() prepares a new one on every call, and the worker reads this after every job.
    return this.#store.read(() => this.#store.statement('PRAGMA data_version').pluck().get() as number);
  }

  /**
   * Claims the next due job for `owner`: highest priority first, oldest first among equals.
   * Delayed jobs whose time has come are promoted in the same transaction. Jobs that
   * `options.excludeModels` names stay waiting.
   */
  claim(owner: string, options: ClaimOptions = {}): ClaimedJob | undefined {
    const now = this.#now();
    return this.#transition(() => this.#claimNext(owner, options, now));
  }

  /**
   * Claims inside an open transaction. The subquery reads jobs_waiting in (priority, seq)
   * order and stops at the first job whose model is not excluded. Left to itself, SQLite
   * picks jobs_state_created, reads every waiting job and sorts them: with 2,000 waiting
   * jobs a claim took about 1.2 ms instead of 0.13 ms (bench/daemon, 2-core VM).
   */
  #claimNext(owner: string, options: ClaimOptions, now: number): ClaimedJob | undefined {
    const token = crypto.randomUUID();
    const excludeModels = JSON.stringify(options.excludeModels ?? []);

    this.#store.statement(
      `UPDATE jobs SET state = 'waiting', updated_at = @now WHERE state = 'delayed' AND run_at <= @now`,
    ).run({ now });

    const row = this.#store.statement(`
      UPDATE jobs
         SET state = 'active', lock_token = @token, lock_owner = @owner, lock_expires_at = @expiresAt,
             attempts_started = attempts_started + 1, started_at = @now, updated_at = @now, progress = NULL
       WHERE seq = (SELECT seq FROM jobs INDEXED BY jobs_waiting
                     WHERE state = 'waiting'
                       AND (json_extract(payload, '$.model') IS NULL
                            OR json_extract(payload, '$.model') NOT IN (SELECT value FROM json_each(@excludeModels)))
                     ORDER BY priority, seq LIMIT 1)
      RETURNING *`).get({ token, owner, now, excludeModels, expiresAt: now + this.options.lockDurationMs }) as JobRow | undefined;

    if (!row) {
      return undefined;
    }

    this.#store.event(row.id, 'started', { attempt: row.attempts_made + 1, owner }, now);
    return toClaimedJob(row);
  }

  /** Renews the lock on a claimed job; false means the lock was lost and the work must stop. */
  extendLock(lock: JobLock, durationMs = this.options.lockDurationMs): boolean {
    const now = this.#now();
    const result = this.#transition(() =>
      this.#store.statement(`UPDATE jobs SET lock_expires_at = @expiresAt, updated_at = @now WHERE ${FENCE}`).run({
        ...lock,
        now,
        expiresAt: now + durationMs,
      }),
    );
    return result.changes === 1;
  }

  /** Tells whether the lock is still current: false once the job was cancelled, recovered or claimed again. */
  holdsLock(lock: JobLock): boolean {
    return this.#store.read(() => this.#activeRow(lock) !== undefined);
  }

  /** Stores progress of a claimed job and records a `progress` event; false for a stale token. */
  updateProgress(lock: JobLock, progress: JobProgress): boolean {
    const now = this.#now();
    const json = JSON.stringify(progress);

    return this.#transition(() => {
      const result = this.#store.statement(`UPDATE jobs SET progress = @json, updated_at = @now WHERE ${FENCE}`).run({
        ...lock,
        json,
        now,
      });
      if (result.changes !== 1) {
        return false;
      }

      this.#store.event(lock.id, 'progress', typeof progress === 'number' ? { value: progress } : progress, now);
      return true;
    });
  }

  /**
   * Completes a claimed job, storing its report in the same transaction, or linking the
   * stored report `reportId` when the job's result is one that exists already. Returns false
   * and stores nothing when the token is stale, so a job completes at most once.
   *
   * @throws InvalidOptionError when both are given, or `reportId` names no stored report
   */
  complete(lock: JobLock, result: CompletionResult = {}): boolean {
    const now = this.#now();
    checkCompletion(result);
    return this.#transition(() => this.#completeRow(lock, result, now));
  }

  /**
   * Completes a claimed job as `complete` does and claims the next due job for `owner` in
   * the same transaction, as BullMQ's moveToFinished fetches the next job, so a worker
   * commits once per job. The claim happens even when the completion found a stale token.
   *
   * @throws InvalidOptionError as `complete` does; then nothing is completed or claimed
   */
  completeAndClaim(lock: JobLock, result: CompletionResult, owner: string, options: ClaimOptions = {}): CompleteAndClaimResult {
    const now = this.#now();
    checkCompletion(result);
    return this.#transition(() => {
      const completed = this.#completeRow(lock, result, now);
      const next = this.#claimNext(owner, options, now);
      return next ? { completed, next } : { completed };
    });
  }

  /**
   * Runs `work` in one IMMEDIATE transaction committed at the `transitionSync` level, for
   * writes whose loss in an OS crash is harmless, such as a worker's status row or several
   * job transitions that should commit together.
   */
  transition<T>(work: () => T): T {
    return this.#transition(work);
  }

  #completeRow(lock: JobLock, result: CompletionResult, now: number): boolean {
    const row = this.#activeRow(lock);
    if (!row) {
      return false;
    }

    let resultId: string | null = null;
    if (result.reportId !== undefined) {
      if (!this.#store.statement('SELECT 1 FROM reports WHERE id = ?').get(result.reportId)) {
        throw new InvalidOptionError('reportId', 'the id of a stored report', result.reportId);
      }
      resultId = result.reportId;
    } else if (result.report) {
      resultId = crypto.randomUUID();
      this.#store.statement(`
        INSERT INTO reports (id, kind, repository, commit_sha, content, cache_key, provenance, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
        resultId,
        row.kind,
        row.repository,
        row.commit_sha,
        JSON.stringify(result.report.content),
        result.report.cacheKey ?? null,
        result.report.provenance === undefined ? null : JSON.stringify(result.report.provenance),
        now,
      );
    }

    this.#store.statement(`
      UPDATE jobs
         SET state = 'completed', attempts_made = attempts_made + 1, result_id = @resultId,
             lock_token = NULL, lock_owner = NULL, lock_expires_at = NULL,
             finished_at = @now, updated_at = @now
       WHERE ${FENCE}`).run({ ...lock, resultId, now });
    this.#store.event(lock.id, 'completed', { attempt: row.attempts_made + 1, resultId }, now);
    return true;
  }

  /**
   * Records a failed attempt. The job is retried after an exponential backoff while attempts
   * remain, and fails at once when `error` is an UnrecoverableError or `permanent` is set.
   */
  fail(lock: JobLock, error: unknown, options: { permanent?: boolean } = {}): FailOutcome {
    const now = this.#now();
    const details = describeError(error);
    const permanent = options.permanent === true || queueActionOf(error).action === 'fail';

    return this.#transition(() => {
      const row = this.#activeRow(lock);
      if (!row) {
        return 'stale';
      }

      const attemptsMade = row.attempts_made + 1;
      if (permanent || attemptsMade >= row.max_attempts) {
        const reason: FailedReason = permanent ? 'unrecoverable' : 'attempts-exhausted';
        this.#finishFailed(row, reason, details, attemptsMade, now);
        return 'failed';
      }

      const delayMs = backoffDelay(attemptsMade, this.options.backoff, this.options.random);
      this.#store.statement(`
        UPDATE jobs
           SET state = 'delayed', run_at = @runAt, attempts_made = @attemptsMade,
               last_error = @message, error_class = @errorClass, error_code = @errorCode,
               lock_token = NULL, lock_owner = NULL, lock_expires_at = NULL, updated_at = @now
         WHERE ${FENCE}`).run({ ...lock, ...details, attemptsMade, runAt: now + delayMs, now });
      this.#store.event(lock.id, 'retried', { attempt: attemptsMade, delayMs, error: details.message, errorClass: details.errorClass }, now);
      return 'retried';
    });
  }

  /**
   * Puts a claimed job back without counting an attempt or a stall: for a graceful
   * shutdown, or while a resource such as Ollama is away. With `delayMs` the job is
   * delayed that long.
   */
  release(lock: JobLock, options: { delayMs?: number; reason?: string } = {}): boolean {
    const now = this.#now();
    const delayMs = options.delayMs ?? 0;
    if (!Number.isSafeInteger(delayMs) || delayMs < 0) {
      throw new InvalidOptionError('delayMs', 'an integer >= 0', delayMs);
    }

    return this.#transition(() => {
      const result = this.#store.statement(`
        UPDATE jobs
           SET state = @state, run_at = @runAt, lock_token = NULL, lock_owner = NULL, lock_expires_at = NULL,
               updated_at = @now
         WHERE ${FENCE}`).run({ ...lock, state: delayMs > 0 ? 'delayed' : 'waiting', runAt: now + delayMs, now });
      if (result.changes !== 1) {
        return false;
      }

      this.#store.event(lock.id, 'released', { reason: options.reason ?? null, delayMs }, now);
      return true;
    });
  }

  /**
   * Returns active jobs whose worker died to `waiting` and counts a stall; a job whose
   * stall count reaches `maxStalls` fails with reason `stalled`. Attempts are not
   * spent by a stall, so the job keeps all its retries.
   */
  requeueStalled(options: StallRecoveryOptions = {}): StallRecoveryResult {
    const now = this.#now();
    const result: StallRecoveryResult = { requeued: [], failed: [] };

    return this.#store.write(() => {
      const rows = this.#store.statement(`
        SELECT * FROM jobs
         WHERE state = 'active'
           AND (@includeUnexpired = 1 OR lock_expires_at <= @now)
           AND (@exceptOwner IS NULL OR lock_owner IS NOT @exceptOwner)`).all({
        now,
        includeUnexpired: options.includeUnexpired ? 1 : 0,
        exceptOwner: options.exceptOwner ?? null,
      }) as JobRow[];

      for (const row of rows) {
        const stalledCount = row.stalled_count + 1;
        const lock = { id: row.id, token: row.lock_token };
        this.#store.statement(`UPDATE jobs SET stalled_count = @stalledCount WHERE ${FENCE}`).run({ ...lock, stalledCount });

        if (stalledCount >= this.options.maxStalls) {
          const message = `job stalled ${stalledCount} times: its worker stopped while the job was active`;
          this.#finishFailed({ ...row, stalled_count: stalledCount }, 'stalled', { message, errorClass: 'StalledJobError', errorCode: null }, row.attempts_made, now);
          result.failed.push(row.id);
          continue;
        }

        this.#store.statement(`
          UPDATE jobs
             SET state = 'waiting', lock_token = NULL, lock_owner = NULL, lock_expires_at = NULL, updated_at = @now
           WHERE ${FENCE}`).run({ ...lock, now });
        this.#store.event(row.id, 'stalled', { stalledCount, owner: row.lock_owner }, now);
        result.requeued.push(row.id);
      }

      return result;
    });
  }

  /** Cancels a waiting, delayed or active job; an active job's worker loses its lock. */
  cancel(id: string): Job {
    const now = this.#now();

    return this.#store.write(() => {
      const row = this.#rowOrThrow(id);
      if (row.state === 'completed' || row.state === 'failed' || row.state === 'cancelled') {
        throw new JobStateError(id, row.state, `job ${id} is already ${row.state}: only waiting, delayed or active jobs can be cancelled`);
      }

      const updated = this.#store.statement(`
        UPDATE jobs
           SET state = 'cancelled', lock_token = NULL, lock_owner = NULL, lock_expires_at = NULL,
               finished_at = @now, updated_at = @now
         WHERE id = @id
        RETURNING *`).get({ id, now }) as JobRow;
      this.#store.event(id, 'cancelled', { previousState: row.state }, now);
      return toJob(updated);
    });
  }

  /**
   * Puts a failed or cancelled job back to `waiting` with all its attempts. When another
   * live job for the same key exists, that job is returned with `deduplicated: true`.
   */
  retry(id: string): AddResult {
    const now = this.#now();

    return this.#store.write(() => {
      const row = this.#rowOrThrow(id);
      if (row.state !== 'failed' && row.state !== 'cancelled') {
        throw new JobStateError(id, row.state, `job ${id} is ${row.state}: only failed or cancelled jobs can be retried`);
      }

      const duplicate = findLiveDuplicate(this.#store, row.dedup_key);
      if (duplicate) {
        return { job: toJob(duplicate), deduplicated: true };
      }

      const updated = this.#store.statement(`
        UPDATE jobs
           SET state = 'waiting', run_at = @now, attempts_made = 0, stalled_count = 0,
               last_error = NULL, error_class = NULL, error_code = NULL, failed_reason = NULL,
               finished_at = NULL, updated_at = @now
         WHERE id = @id
        RETURNING *`).get({ id, now }) as JobRow;
      this.#store.event(id, 'retried', { manual: true, previousState: row.state }, now);
      return { job: toJob(updated), deduplicated: false };
    });
  }

  /** Applies retention to finished jobs and events. Reports are never removed here. */
  clean(): CleanResult {
    const now = this.#now();
    return this.#store.write(() => cleanFinished(this.#store.db, this.options.retention, now));
  }

  /** Checkpoints the WAL into the database and truncates it; readers may make it partial. */
  checkpoint(): void {
    // A checkpoint cannot run inside a transaction.
    this.#store.read(() => this.#store.db.pragma('wal_checkpoint(TRUNCATE)'));
  }

  close(): void {
    this.#store.close();
  }

  #finishFailed(
    row: JobRow,
    reason: FailedReason,
    details: ErrorDetails,
    attemptsMade: number,
    now: number,
  ): void {
    this.#store.statement(`
      UPDATE jobs
         SET state = 'failed', failed_reason = @reason, attempts_made = @attemptsMade,
             last_error = @message, error_class = @errorClass, error_code = @errorCode,
             lock_token = NULL, lock_owner = NULL, lock_expires_at = NULL,
             finished_at = @now, updated_at = @now
       WHERE id = @id`).run({ id: row.id, reason, attemptsMade, ...details, now });
    this.#store.event(row.id, 'failed', { reason, attemptsMade, stalledCount: row.stalled_count, error: details.message, errorClass: details.errorClass }, now);
  }

  /** Runs a write about a claimed job, committed at the `transitionSync` level. */
  #transition<T>(work: () => T): T {
    return this.#store.write(work, this.options.transitionSync);
  }

  #activeRow(lock: JobLock): JobRow | undefined {
    return this.#store.statement(`SELECT * FROM jobs WHERE ${FENCE}`).get(lock) as JobRow | undefined;
  }

  #rowOrThrow(id: string): JobRow {
    const row = findJobRow(this.#store, id);
    if (!row) {
      throw new JobNotFoundError(id);
    }

    return row;
  }

  #now(): number {
    return this.options.clock();
  }
}

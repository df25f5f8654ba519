import { EventEmitter } from 'node:events';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { InvalidOptionError, checkPositiveInteger, queueActionOf } from '../errors.js';
import type { ClaimOptions, CompletionResult, Queue, StallRecoveryResult } from './queue.js';
import type { CleanResult } from './retention.js';
import { type IngestResult, ingestSpool } from './spool.js';
import type { ClaimedJob, FailOutcome, JobProgress, NewReport } from './types.js';

export interface ProcessorContext {
  /** Aborted when the job is cancelled, loses its lock, times out or the worker shuts down. */
  signal: AbortSignal;
  /** Records progress; writes are throttled to one per `progressIntervalMs`, the last value wins. */
  updateProgress(progress: JobProgress): void;
}

export interface ProcessorResult {
  /** A new report, stored with the completion. */
  report?: NewReport;
  /** A stored report that is this job's result, such as one made earlier for the same commit. */
  reportId?: string;
}

export type Processor = (job: ClaimedJob, context: ProcessorContext) => Promise<ProcessorResult | void>;

export interface WorkerOptions {
  /** Identifies this worker in job locks. @default a new UUID */
  id?: string;
  /** Jobs processed at once. @default 1 */
  concurrency?: number;
  /** Wait between claims when no job is due, in milliseconds. @default 1000 */
  pollIntervalMs?: number;
  /** How often expired locks of other workers are looked for, in milliseconds. @default 30000 */
  stalledIntervalMs?: number;
  /** How often this worker renews the locks it holds, in milliseconds. @default a third of the queue's lockDurationMs */
  lockRenewMs?: number;
  /** Minimum time between two progress writes of one job, in milliseconds. @default 1000 */
  progressIntervalMs?: number;
  /** Time after which a running job is aborted and counted as a failed attempt, in milliseconds. @default no limit */
  jobTimeoutMs?: number;
  /** How often retention runs, in milliseconds. @default 3600000 (one hour) */
  cleanIntervalMs?: number;
  /**
   * At start, treat every active job of another owner as stalled, expired lock or not.
   * Only for a worker that is sure no other worker is alive. @default false
   */
  recoverAllOnStart?: boolean;
  /** Folder whose spool is ingested. @default the folder of the queue's database */
  dataDir?: string;
  /** Function called before each claim, whose result filters which jobs may be claimed. @default no filter */
  claimOptions?: () => ClaimOptions;
}

export interface CloseOptions {
  /** How long running jobs may take to finish before they are aborted and released, in milliseconds. @default 30000 */
  graceMs?: number;
}

/** Typed events of a Worker. Every caught error is emitted as `error` and never rethrown. */
export interface WorkerEvents {
  active: [job: ClaimedJob];
  completed: [job: ClaimedJob];
  retried: [job: ClaimedJob, error: unknown];
  failed: [job: ClaimedJob, error: unknown];
  released: [job: ClaimedJob, reason: string];
  lockLost: [job: ClaimedJob];
  stalled: [result: StallRecoveryResult];
  ingested: [result: IngestResult];
  cleaned: [result: CleanResult];
  /** `repeats` counts identical errors left out since this one was last emitted. */
  error: [error: unknown, job?: ClaimedJob, repeats?: number];
  closed: [];
}

/** Reason given to the signal of jobs aborted by a shutdown, so they are released, not failed. */
export class WorkerClosingError extends Error {
  override name = 'WorkerClosingError';
}

/** Reason given to the signal of a job that ran longer than `jobTimeoutMs`. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

/** Reason given to the signal of a job whose lock was lost: cancelled, or recovered as stalled. */
export class LockLostError extends Error {
  override name = 'LockLostError';
}

const REPEATED_ERROR_WINDOW_MS = 60_000;

// After a shutdown aborts its jobs, how long they get to settle before they are released anyway.
const ABORT_SETTLE_MS = 2000;

interface RunningJob {
  job: ClaimedJob;
  controller: AbortController;
  done: Promise<void>;
  pendingProgress?: JobProgress;
  progressTimer?: NodeJS.Timeout;
  lastProgressAt: number;
  released: boolean;
  /** The job claimed in the transaction that completed this one, started when this one leaves. */
  next?: ClaimedJob;
}

/**
 * Claims jobs from a Queue and runs a processor on each, renewing locks, throttling
 * progress, retrying failures with backoff, recovering other workers' stalled jobs,
 * ingesting the spool and applying retention. It never prints: subscribe to its events.
 */
export class Worker extends EventEmitter<WorkerEvents> {
  readonly id: string;
  readonly #queue: Queue;
  readonly #processor: Processor;
  readonly #options: Required<Omit<WorkerOptions, 'jobTimeoutMs' | 'id' | 'claimOptions'>> & { jobTimeoutMs?: number };
  readonly #claimOptions?: () => ClaimOptions;
  #paused = false;
  readonly #running = new Map<string, RunningJob>();
  readonly #timers: NodeJS.Timeout[] = [];
  #closing?: Promise<void>;
  #loop?: Promise<void>;
  #wake?: () => void;
  #checkedDataVersion = -1;
  #lastError?: { key: string; at: number; repeats: number };

  constructor(queue: Queue, processor: Processor, options: WorkerOptions = {}) {
    super();
    if (typeof processor !== 'function') {
      throw new InvalidOptionError('processor', 'a function', processor);
    }

    this.id = options.id ?? crypto.randomUUID();
    this.#claimOptions = options.claimOptions;
    this.#queue = queue;
    this.#processor = processor;
    this.#options = {
      concurrency: checkPositiveInteger('concurrency', options.concurrency ?? 1),
      pollIntervalMs: checkPositiveInteger('pollIntervalMs', options.pollIntervalMs ?? 1000),
      stalledIntervalMs: checkPositiveInteger('stalledIntervalMs', options.stalledIntervalMs ?? 30_000),
      lockRenewMs: checkPositiveInteger('lockRenewMs', options.lockRenewMs ?? Math.max(1, Math.floor(queue.options.lockDurationMs / 3))),
      progressIntervalMs: checkPositiveInteger('progressIntervalMs', options.progressIntervalMs ?? 1000, 0),
      cleanIntervalMs: checkPositiveInteger('cleanIntervalMs', options.cleanIntervalMs ?? 3_600_000),
      recoverAllOnStart: options.recoverAllOnStart ?? false,
      dataDir: options.dataDir ?? path.dirname(queue.file),
      ...(options.jobTimeoutMs === undefined ? {} : { jobTimeoutMs: checkPositiveInteger('jobTimeoutMs', options.jobTimeoutMs) }),
    };

    // A lock renewed no sooner than it expires lets other workers recover a live job and run it twice.
    if (this.#options.lockRenewMs >= queue.options.lockDurationMs) {
      throw new InvalidOptionError('lockRenewMs', `less than the queue's lockDurationMs (${queue.options.lockDurationMs})`, this.#options.lockRenewMs);
    }
  }

  /** Ids of the jobs this worker is running. */
  get activeJobIds(): string[] {
    return [...this.#running.keys()];
  }

  /** True while `pause()` holds back new claims. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Stops claiming new jobs, for example while Ollama is away. Running jobs go on, and the
   * stall check, spool ingest and retention keep running.
   */
  pause(): void {
    this.#paused = true;
  }

  /** Claims again after `pause()`, at once rather than at the next poll. */
  resume(): void {
    this.#paused = false;
    this.#wake?.();
  }

  /** Claims now instead of at the next poll, for example after a filter's input changed. */
  wake(): void {
    this.#wake?.();
  }

  /** Starts the claim loop; the promise settles after `close()` has finished. */
  run(): Promise<void> {
    this.#loop ??= this.#runLoop();
    return this.#loop;
  }

  /**
   * Stops claiming, lets running jobs finish within `graceMs`, then aborts them and
   * releases them to `waiting` without counting a stall. Repeated calls share one promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options.graceMs ?? 30_000);
    return this.#closing;
  }

  async #runLoop(): Promise<void> {
    this.#maintain(() => this.#recoverStalled(this.#options.recoverAllOnStart));
    this.#maintain(() => this.#clean());
    this.#timers.push(
      setInterval(() => this.#maintain(() => this.#recoverStalled(false)), this.#options.stalledIntervalMs),
      setInterval(() => this.#maintain(() => this.#clean()), this.#options.cleanIntervalMs),
    );

    let ingestedAt = -Infinity;
    let woken = false;
    while (!this.#closing) {
      // A busy worker wakes after every job, but it reads the spool only after a full poll
      // interval, as an idle worker does.
      if (!woken || performance.now() - ingestedAt >= this.#options.pollIntervalMs) {
        ingestedAt = performance.now();
        this.#maintain(() => this.#ingest());
      }
      this.#maintain(() => this.#checkLocks());
      this.#fillSlots();
      if (this.#closing) {
        break;
      }

      woken = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), this.#options.pollIntervalMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      this.#wake = undefined;
    }

    await this.#closing;
  }

  #fillSlots(): void {
    while (!this.#closing && !this.#paused && this.#running.size < this.#options.concurrency) {
      let job: ClaimedJob | undefined;
      try {
        job = this.#queue.claim(this.id, this.#claimOptions?.());
      } catch (error) {
        this.#reportError(error);
        return;
      }

      if (!job) {
        return;
      }

      this.#start(job);
    }
  }

  #start(job: ClaimedJob): void {
    const controller = new AbortController();
    const running: RunningJob = {
      job,
      controller,
      done: Promise.resolve(),
      lastProgressAt: -Infinity,
      released: false,
    };
    this.#running.set(job.id, running);
    this.emit('active', job);
    running.done = this.#process(running).finally(() => {
      this.#running.delete(job.id);
      if (running.next) {
        this.#startNext(running.next);
      }
      this.#wake?.();
    });
  }

  /**
   * Starts a job claimed together with a completion. A shutdown that began in between has
   * already counted the jobs it waits for, so the job goes back to waiting instead.
   */
  #startNext(job: ClaimedJob): void {
    if (!this.#closing) {
      this.#start(job);
      return;
    }

    try {
      if (this.#queue.release(job, { reason: 'worker is shutting down' })) {
        this.emit('released', job, 'worker is shutting down');
      }
    } catch (error) {
      // The lock stays until it expires, so the job is recovered as stalled, never lost.
      this.emit('error', error, job);
    }
  }

  async #process(running: RunningJob): Promise<void> {
    const { job, controller } = running;
    const renew = setInterval(() => this.#renew(running), this.#options.lockRenewMs);
    const timeout =
      this.#options.jobTimeoutMs === undefined
        ? undefined
        : setTimeout(
            () => controller.abort(new JobTimeoutError(`job ${job.id} timed out after ${this.#options.jobTimeoutMs} ms`)),
            this.#options.jobTimeoutMs,
          );

    try {
      const context: ProcessorContext = {
        signal: controller.signal,
        updateProgress: (progress) => this.#queueProgress(running, progress),
      };
      const result = await this.#processor(job, context);
      // The daemon's generation gate hands the model to the next job when this job's stream
      // ends. One turn of the event loop lets that job's chat request go out before this
      // commit and before the claimed job starts, which may spawn git.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // A processor that returned a result finished its work, aborted or not; a lost lock
      // makes the fenced completion change nothing.
      this.#settle(running, () => {
        const completed = this.#complete(running, { report: result?.report, reportId: result?.reportId });
        this.emit(completed ? 'completed' : 'lockLost', job);
      });
    } catch (error) {
      this.#settle(running, () => {
        if (controller.signal.aborted && !(controller.signal.reason instanceof JobTimeoutError)) {
          this.#afterAbort(running, controller.signal.reason);
          return;
        }

        const { action, delayMs } = queueActionOf(error);
        if (action === 'release') {
          this.#release(running, error instanceof Error ? error.message : String(error), delayMs);
          return;
        }

        const failure = controller.signal.aborted ? controller.signal.reason : error;
        this.#emitFailure(job, failure, this.#queue.fail(job, failure));
      });
    } finally {
      clearInterval(renew);
      clearTimeout(timeout);
      clearTimeout(running.progressTimer);
    }
  }

  /**
   * Writes the job's last progress, its completion and, when this job's slot may take
   * another, the claim of the next job in one transaction, so its transitions cost one commit.
   * The claimed job is kept in `running.next`. Returns false when the lock was lost.
   */
  #complete(running: RunningJob, result: CompletionResult): boolean {
    // This job still counts in #running, and its slot is free once it completes.
    const claimNext = !this.#closing && !this.#paused && this.#running.size <= this.#options.concurrency;

    const outcome = this.#queue.transition(() => {
      this.#flushProgress(running);
      if (!claimNext) {
        return { completed: this.#queue.complete(running.job, result) };
      }

      return this.#queue.completeAndClaim(running.job, result, this.id, this.#claimOptions?.());
    });

    // Set only after the commit: a rolled-back claim leaves the job waiting.
    running.next = outcome.next;
    return outcome.completed;
  }

  /** Runs the final write for a job once; a job released by a forced shutdown is left alone. */
  #settle(running: RunningJob, write: () => void): void {
    if (running.released) {
      return;
    }

    try {
      write();
    } catch (error) {
      // The lock stays until it expires, so the job is recovered as stalled, never lost.
      this.emit('error', error, running.job);
    }
  }

  #afterAbort(running: RunningJob, reason: unknown): void {
    if (reason instanceof LockLostError) {
      this.emit('lockLost', running.job);
      return;
    }

    this.#release(running, reason instanceof Error ? reason.message : 'aborted', 0);
  }

  #release(running: RunningJob, reason: string, delayMs: number): void {
    running.released = true;
    if (this.#queue.release(running.job, { reason, delayMs })) {
      this.emit('released', running.job, reason);
    } else {
      this.emit('lockLost', running.job);
    }
  }

  #emitFailure(job: ClaimedJob, error: unknown, outcome: FailOutcome): void {
    if (outcome === 'stale') {
      this.emit('lockLost', job);
    } else {
      this.emit(outcome, job, error);
    }
  }

  #renew(running: RunningJob): void {
    try {
      if (!this.#queue.extendLock(running.job)) {
        running.controller.abort(new LockLostError(`job ${running.job.id} lost its lock: it was cancelled or recovered as stalled`));
      }
    } catch (error) {
      this.emit('error', error, running.job);
    }
  }

  #queueProgress(running: RunningJob, progress: JobProgress): void {
    running.pendingProgress = progress;
    if (running.progressTimer) {
      return;
    }

    const wait = Math.max(0, running.lastProgressAt + this.#options.progressIntervalMs - performance.now());
    running.progressTimer = setTimeout(() => {
      running.progressTimer = undefined;
      running.lastProgressAt = performance.now();
      const value = running.pendingProgress as JobProgress;
      try {
        if (!this.#queue.updateProgress(running.job, value)) {
          running.controller.abort(new LockLostError(`job ${running.job.id} lost its lock: it was cancelled or recovered as stalled`));
        }
      } catch (error) {
        this.emit('error', error, running.job);
      }
    }, wait);
  }

  /**
   * Aborts running jobs whose lock is gone, so a cancel from another process stops the
   * processor within one poll, not only at the next lock renewal. Skipped while no other
   * connection has committed anything.
   */
  #checkLocks(): void {
    if (this.#running.size === 0) {
      return;
    }

    const version = this.#queue.dataVersion();
    if (version === this.#checkedDataVersion) {
      return;
    }

    this.#checkedDataVersion = version;
    for (const running of this.#running.values()) {
      if (!running.controller.signal.aborted && !this.#queue.holdsLock(running.job)) {
        running.controller.abort(new LockLostError(`job ${running.job.id} lost its lock: it was cancelled or recovered as stalled`));
      }
    }
  }

  /** Writes progress still waiting for its throttle interval, so the last value is never lost. */
  #flushProgress(running: RunningJob): void {
    if (!running.progressTimer) {
      return;
    }

    clearTimeout(running.progressTimer);
    running.progressTimer = undefined;
    this.#queue.updateProgress(running.job, running.pendingProgress as JobProgress);
  }

  #recoverStalled(includeUnexpired: boolean): void {
    const result = this.#queue.requeueStalled({ exceptOwner: this.id, includeUnexpired });
    if (result.requeued.length > 0 || result.failed.length > 0) {
      this.emit('stalled', result);
    }
  }

  #ingest(): void {
    const result = ingestSpool(this.#queue, this.#options.dataDir);
    if (result.ingested.length > 0 || result.rejected.length > 0) {
      this.emit('ingested', result);
    }
  }

  #clean(): void {
    this.emit('cleaned', this.#queue.clean());
  }

  #maintain(task: () => void): void {
    try {
      task();
    } catch (error) {
      this.#reportError(error);
    }
  }

  /**
   * Emits a loop error, but the same message again within a minute only once, because a
   * broken database fails every poll and one line a minute with a count carries the same news.
   */
  #reportError(error: unknown): void {
    const key = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const now = performance.now();
    const last = this.#lastError;
    if (last && last.key === key && now - last.at < REPEATED_ERROR_WINDOW_MS) {
      last.repeats += 1;
      return;
    }

    this.#lastError = { key, at: now, repeats: 0 };
    this.emit('error', error, undefined, last?.key === key ? last.repeats : 0);
  }

  async #shutdown(graceMs: number): Promise<void> {
    this.#wake?.();
    for (const timer of this.#timers) {
      clearInterval(timer);
    }

    const jobs = () => [...this.#running.values()];
    if (!(await settleWithin(jobs().map((running) => running.done), graceMs))) {
      for (const running of jobs()) {
        running.controller.abort(new WorkerClosingError(`worker ${this.id} is shutting down`));
      }

      if (!(await settleWithin(jobs().map((running) => running.done), ABORT_SETTLE_MS))) {
        // A processor that ignores its signal must not keep the job active: release it now,
        // and the fence discards whatever the processor writes later.
        for (const running of jobs()) {
          this.#settle(running, () => this.#release(running, 'shutdown: processor did not stop', 0));
        }
      }
    }

    this.emit('closed');
  }
}

/** Resolves true when all promises settle within `ms`, false otherwise. */
async function settleWithin(promises: Array<Promise<unknown>>, ms: number): Promise<boolean> {
  if (promises.length === 0) {
    return true;
  }

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = Promise.allSettled(promises).then(() => true as const);

  try {
    return await Promise.race([settled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

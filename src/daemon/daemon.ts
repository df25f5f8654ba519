import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { RetryLaterError, StepperError, UnrecoverableError, checkDataDir } from '../errors.js';
import { ingestHookHints } from '../hook/hints.js';
import type { OllamaClient, OllamaClientOptions } from '../ollama/client.js';
import { openQueue, type Queue } from '../queue/queue.js';
import type { ClaimedJob } from '../queue/types.js';
import { type Processor, Worker } from '../queue/worker.js';
import { createReportProcessor } from '../report/processor.js';
import { DATABASE_FILE, ensureDataDir, resolveDataDir } from '../store/data-dir.js';
import { SCHEMA_VERSION } from '../store/migrations.js';
import { VERSION } from '../version.js';
import { type DaemonSettings, LOG_FILE, resolveDaemonSettings } from './config.js';
import { GatedOllamaClient, GenerationGate } from './generation-gate.js';
import { HintWatch, startSuccessor } from './hint-watch.js';
import { type DaemonLock, type FileIdentity, acquireDaemonLock, fileIdentity, refreshStartingMarker, removeStartingMarker, sameFile } from './lock.js';
import { type DaemonLogger, FileLogger, StderrLogger } from './log.js';
import { OllamaMonitor } from './ollama-monitor.js';
import { DaemonRowWriter, isLeaving, readDaemonRowFromFile } from './state.js';

/** Reason a daemon exited. */
export type DaemonExitReason =
  | 'idle'
  | 'signal'
  | 'already-running'
  | 'database-replaced'
  | 'upgrade'
  | 'error';

export interface DaemonExit {
  /** Process exit status: 0 for every planned exit, 1 for an error or a foreground start that found another daemon. */
  code: number;
  reason: DaemonExitReason;
}

/**
 * Builds the processor once per daemon. The client it receives makes each chat and generate
 * request wait for its job's generation slot.
 */
export type ProcessorFactory = (dependencies: { queue: Queue; client: OllamaClient }) => Processor;

export interface RunDaemonOptions extends Partial<DaemonSettings> {
  /** @default resolveDataDir(env) */
  dataDir?: string;
  /** Environment read for OLLAMA_HOST and the STEPPER_DAEMON_* settings. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * True for a daemon started in the background: it logs to daemon.log, and another live
   * daemon makes it exit with status 0. False for `stepper daemon run`, which logs to stderr.
   * @default false
   */
  detached?: boolean;
  /** Stops the daemon gracefully when aborted, as SIGTERM does. */
  signal?: AbortSignal;
  /** Whether to install SIGTERM and SIGINT handlers. @default true */
  handleSignals?: boolean;
  /** Ollama connection settings, such as test timeouts. @default the host from OLLAMA_HOST */
  ollama?: Omit<OllamaClientOptions, 'env'>;
  /** @default the report processor */
  createProcessor?: ProcessorFactory;
}

/** Gaps between heartbeats longer than this many intervals are logged as a pause (sleep or SIGSTOP). */
const PAUSE_FACTOR = 3;

/**
 * Minimum time between two status row writes caused by jobs, in milliseconds, so `stepper
 * daemon status` may show a job count or current job up to this old. Heartbeats, changes of
 * Ollama's state and the final write at exit are not delayed.
 */
const STATUS_WRITE_INTERVAL_MS = 250;

/** Size of the page cache of the daemon's database connection, in KiB. */
const DAEMON_PAGE_CACHE_KIB = 2048;

/** How long one attempt to take the lock waits before the holder's state is read again, in milliseconds. */
const LOCK_ATTEMPT_MS = 500;

/**
 * Runs the daemon until it is idle, signalled, or finds its database gone or upgraded.
 * Exactly one daemon runs per data directory: a second one exits at once, unless the
 * holder is stopping, in which case it waits for the lock and takes over.
 */
export async function runDaemon(options: RunDaemonOptions = {}): Promise<DaemonExit> {
  const env = options.env ?? process.env;
  const settings = resolveDaemonSettings(options, env);
  const dataDir = options.dataDir === undefined ? resolveDataDir(env) : checkDataDir(options.dataDir);
  ensureDataDir(dataDir);

  const logger = redactingLogger(
    options.detached
      ? new FileLogger(path.join(dataDir, LOG_FILE), { maxBytes: settings.logMaxBytes, filesKept: settings.logFilesKept })
      : new StderrLogger(),
    env,
  );

  let lock: DaemonLock | undefined;
  try {
    lock = await takeLock(dataDir, settings);
  } catch (error) {
    logger.error(`cannot take the daemon lock in ${dataDir}: ${describeError(error)}`);
    clearStartingMarker(dataDir, logger);
    logger.close();
    return { code: 1, reason: 'error' };
  }

  // The caller reports a foreground start that found another daemon, but a detached one exits quietly.
  if (!lock) {
    clearStartingMarker(dataDir, logger);
    logger.close();
    return { code: options.detached ? 0 : 1, reason: 'already-running' };
  }

  try {
    return await new DaemonRun(dataDir, settings, lock, logger, options, env).run();
  } catch (error) {
    logger.error(`daemon failed: ${describeError(error)}`);
    return { code: 1, reason: 'error' };
  } finally {
    lock.release();
    // A spawner that wrote its marker only after this process had looked for it leaves one
    // naming this pid, which would show a starting daemon until this process has exited.
    clearStartingMarker(dataDir, logger);
    logger.close();
  }
}

/** Removes the starting marker when it names this process; a failure is logged, since the marker only informs stop and status. */
function clearStartingMarker(dataDir: string, logger: DaemonLogger): void {
  try {
    removeStartingMarker(dataDir, process.pid);
  } catch (error) {
    logger.warn(`failed to remove the starting marker in ${dataDir}: ${describeError(error)}`);
  }
}

/**
 * Takes the lock, waiting while its holder is leaving (see isLeaving), such as during an
 * idle exit. Returns undefined when the holder is not leaving, or is still there once the
 * takeover wait (two heartbeats, the grace period and 5 s) has passed.
 */
async function takeLock(dataDir: string, settings: DaemonSettings): Promise<DaemonLock | undefined> {
  const takeoverMs = settings.heartbeatMs * 2 + settings.graceMs + 5000;
  const started = performance.now();

  for (;;) {
    const lock = acquireDaemonLock(dataDir, LOCK_ATTEMPT_MS);
    if (lock) {
      return lock;
    }

    const row = readDaemonRowFromFile(path.join(dataDir, DATABASE_FILE));
    const leaving = row !== undefined && isLeaving(row, VERSION);
    if (!leaving || performance.now() - started > takeoverMs) {
      return undefined;
    }

    // The takeover wait may outlast the marker's age limit, and stop must keep seeing this successor.
    try {
      refreshStartingMarker(dataDir, process.pid);
    } catch {
      // A marker that cannot be refreshed ages out, and stop then misses only this wait.
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_ATTEMPT_MS));
  }
}

class DaemonRun {
  readonly #instance = randomUUID();
  readonly #dataDir: string;
  readonly #settings: DaemonSettings;
  readonly #lock: DaemonLock;
  readonly #log: DaemonLogger;
  readonly #options: RunDaemonOptions;
  readonly #env: NodeJS.ProcessEnv;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #cleanups: Array<() => void> = [];
  #statusWrite?: NodeJS.Timeout;
  #statusWrittenAt = -Infinity;
  #queue!: Queue;
  #row!: DaemonRowWriter;
  #rowWritten = false;
  #worker!: Worker;
  #hints?: HintWatch;
  #monitor!: OllamaMonitor;
  #gate!: GenerationGate;
  #databaseIdentity?: FileIdentity;
  #jobsDone = 0;
  #lastBusyAt = performance.now();
  #lastHeartbeatAt = performance.now();
  #stopping?: Promise<DaemonExit>;
  #exit?: DaemonExit;

  constructor(dataDir: string, settings: DaemonSettings, lock: DaemonLock, log: DaemonLogger, options: RunDaemonOptions, env: NodeJS.ProcessEnv) {
    this.#dataDir = dataDir;
    this.#settings = settings;
    this.#lock = lock;
    this.#log = log;
    this.#options = options;
    this.#env = env;
  }

  async run(): Promise<DaemonExit> {
    this.#queue = openQueue({
      dataDir: this.#dataDir,
      ...(this.#settings.lockDurationMs ? { lockDurationMs: this.#settings.lockDurationMs } : {}),
      // Claims, completions and the status row commit without an fsync of the WAL. A process
      // that dies, SIGKILL included, loses none of them, because committed WAL frames are in
      // the OS page cache. Only an OS crash or a power loss can undo the last ones, and stall
      // recovery then returns those jobs to waiting, so no enqueued job is lost. Enqueues,
      // retries, cancels and pruning keep synchronous=FULL.
      transitionSync: 'normal',
      // better-sqlite3 builds SQLite with a page cache of up to 16,000 KiB. The daemon filled
      // it as the tables grew, so its memory rose with the job count for about 12,000 jobs.
      // Claims and completions touch a few index and table pages, which 2 MiB keeps.
      pageCacheKiB: DAEMON_PAGE_CACHE_KIB,
    });
    try {
      return await this.#runWithQueue();
    } finally {
      // A failure that skipped the shutdown must not leave hooks trusting this process, nor
      // signal handlers that call into a closed queue.
      this.#hints?.stop();
      for (const cleanup of this.#cleanups.splice(0)) {
        cleanup();
      }
      // A status write still scheduled runs before the queue closes, so the row keeps the last count.
      if (this.#statusWrite) {
        this.#writeStatus();
      }
      // A daemon that failed before writing its row leaves the previous daemon's row alone.
      if (this.#rowWritten && this.#exit?.reason !== 'database-replaced') {
        this.#tryWrite(() => this.#row.update(this.#instance, { state: 'stopped', currentJobId: null, heartbeatAt: Date.now() }));
        this.#tryWrite(() => {
          // A TRUNCATE checkpoint holds the write lock while it waits for readers, which would
          // make hooks wait and spool. Without a busy timeout it gives up at once instead,
          // and journal_size_limit still bounds the WAL.
          this.#queue.database.pragma('busy_timeout = 0');
          this.#queue.checkpoint();
        });
      }
      this.#queue.close();
    }
  }

  async #runWithQueue(): Promise<DaemonExit> {
    // The handlers go in before the row is written, because `stepper daemon stop` signals
    // the pid it reads there at once, and a SIGTERM without a handler kills the process
    // uncleanly. No handler runs before the synchronous setup below is done.
    this.#listenForStops();
    this.#databaseIdentity = fileIdentity(this.#queue.file);
    const client = new GatedOllamaClient({ ...this.#options.ollama, env: this.#env });
    this.#row = new DaemonRowWriter(this.#queue.database, Date.now, (work) => this.#queue.transition(work));
    const now = Date.now();
    this.#row.insert({
      pid: process.pid,
      instance: this.#instance,
      version: VERSION,
      state: 'starting',
      startedAt: now,
      heartbeatAt: now,
      concurrency: this.#settings.concurrency,
      jobsDone: 0,
      currentJobId: null,
      ollamaHost: client.host.url,
      ollamaState: 'unknown',
      ollamaDetail: null,
    });
    this.#rowWritten = true;
    // Readers see this daemon in its row from now on, so the marker ensureDaemon wrote can go.
    clearStartingMarker(this.#dataDir, this.#log);
    this.#log.info(
      `daemon started: version ${VERSION}, data directory ${this.#dataDir}, concurrency ${this.#settings.concurrency}, ` +
        `Ollama at ${client.host.url}, idle exit after ${this.#settings.idleMs} ms`,
    );

    const serial = this.#recover() > 1;
    this.#monitor = new OllamaMonitor({
      client,
      logger: this.#log,
      probeMs: this.#settings.probeMs,
      probeMaxMs: this.#settings.probeMaxMs,
      // Ollama's state changes seldom and `stepper daemon status` shows it, so it skips the throttle.
      onChange: () => this.#scheduleStatus({ throttle: false }),
    });
    this.#gate = new GenerationGate(serial ? 1 : this.#settings.concurrency);
    this.#worker = this.#createWorker(client, serial);
    this.#monitor.attach(this.#worker);

    this.#row.update(this.#instance, { state: 'running' });
    const running = this.#worker.run();
    this.#startTimers();

    await running;
    return (await this.#stopping) ?? { code: 0, reason: 'signal' };
  }

  /**
   * Moves the jobs a dead daemon left active back to waiting and counts a stall for each.
   * A job at its stall limit fails instead. Returns the number of jobs requeued.
   */
  #recover(): number {
    const result = this.#queue.requeueStalled({ includeUnexpired: true });
    for (const id of result.requeued) {
      this.#log.warn(`stall: job ${id} was active when the previous daemon died; it waits again`);
    }
    for (const id of result.failed) {
      this.#log.error(`stall: job ${id} failed: its daemon died with it active ${this.#queue.options.maxStalls} times`);
    }

    if (result.requeued.length > 1) {
      // One of them may have killed the daemon. Running them one at a time lets only that job
      // collect the next stall, instead of every job claimed next to it.
      this.#log.warn(`${result.requeued.length} jobs were active at the crash: running one job at a time until this daemon exits`);
    }

    return result.requeued.length;
  }

  #createWorker(client: GatedOllamaClient, serial: boolean): Worker {
    const createProcessor = this.#options.createProcessor ?? ((dependencies) => createReportProcessor(dependencies));
    const inner = createProcessor({ queue: this.#queue, client });

    const processor: Processor = async (job, context) => {
      const ticket = this.#gate.ticket(job.id);
      try {
        client.bindTicket(context.signal, ticket);
        return await this.#monitor.guard(() => inner(job, context));
      } finally {
        ticket.release();
        this.#scheduleStatus();
      }
    };

    const worker = new Worker(this.#queue, processor, {
      id: this.#instance,
      // One job more than may generate: it is claimed and prepared while the others run.
      concurrency: serial ? 1 : this.#settings.concurrency + 1,
      pollIntervalMs: this.#settings.pollMs,
      dataDir: this.#dataDir,
      claimOptions: () => ({ excludeModels: this.#monitor.heldModels }),
    });
    this.#logWorkerEvents(worker);
    return worker;
  }

  #logWorkerEvents(worker: Worker): void {
    const busy = () => {
      this.#lastBusyAt = performance.now();
    };
    const finished = () => {
      busy();
      this.#jobsDone += 1;
      this.#scheduleStatus();
      // The job leaves the worker, and a job claimed with its completion starts, after this
      // event. A worker left with no job writes at once, so that a status read right after
      // `report --wait` returns shows idle instead of the finished job.
      setImmediate(() => {
        if (!this.#stopping && this.#worker.activeJobIds.length === 0) {
          this.#scheduleStatus({ throttle: false });
        }
      });
    };

    worker.on('active', (job) => {
      busy();
      this.#log.info(`claim: job ${job.id} (${describeJob(job)}, attempt ${job.attemptsMade + 1} of ${job.maxAttempts})`);
      this.#scheduleStatus();
    });
    worker.on('completed', (job) => {
      this.#log.info(`completed: job ${job.id}`);
      finished();
    });
    worker.on('failed', (job, error) => {
      this.#log.error(`failed: job ${job.id}: ${describeError(error)}`);
      finished();
    });
    worker.on('retried', (job, error) => {
      busy();
      this.#log.warn(`retry: job ${job.id} after a failed attempt: ${describeError(error)}`);
    });
    worker.on('released', (job, reason) => {
      busy();
      this.#log.info(`released: job ${job.id} waits again without spending an attempt (${firstLine(reason)})`);
    });
    worker.on('lockLost', (job) => this.#log.warn(`lock lost: job ${job.id} was cancelled or recovered elsewhere; its result was discarded`));
    worker.on('stalled', (result) => {
      for (const id of result.requeued) {
        this.#log.warn(`stall: job ${id} had an expired lock; it waits again`);
      }
      for (const id of result.failed) {
        this.#log.error(`stall: job ${id} failed after too many stalls`);
      }
    });
    worker.on('ingested', (result) => {
      busy();
      const ids = result.ingested.map((entry) => entry.result.job.id);
      this.#log.info(`spool: ingested ${ids.length} jobs (${ids.join(', ')}), rejected ${result.rejected.length} files`);
    });
    worker.on('error', (error, job, repeats) => {
      const repeated = repeats ? ` (${repeats} more like it in the last minute)` : '';
      this.#log.error(`error${job ? ` in job ${job.id}` : ''}: ${describeError(error)}${repeated}`);
    });
  }

  #startTimers(): void {
    const hints = new HintWatch({ dataDir: this.#dataDir, log: this.#log, ingest: () => this.#ingestHints() });
    this.#hints = hints;
    hints.start();
    void hints.scan();
    this.#timers.push(
      // The scan on each heartbeat covers a watcher that missed an event or failed.
      setInterval(() => void hints.scan(), this.#settings.heartbeatMs),
      setInterval(() => this.#heartbeat(), this.#settings.heartbeatMs),
      setInterval(() => this.#checkIdle(), Math.max(10, Math.min(1000, Math.floor(this.#settings.idleMs / 2)))),
    );
  }

  /**
   * Turns hints the git hook left into jobs and returns how many hints were enqueued. While
   * this daemon runs, hooks leave it their hints and start no kick. The HintWatch calls this
   * one call at a time.
   */
  async #ingestHints(): Promise<number> {
    try {
      const outcomes = await ingestHookHints(this.#dataDir, { env: this.#env });
      const enqueued = outcomes.filter((outcome) => outcome.status === 'enqueued');
      if (enqueued.length > 0) {
        const ids = enqueued.flatMap((outcome) => outcome.results.map((result) => (result.spooled ? result.jobId : result.job.id)));
        // One hint can name several commits, such as the ones a rebase rewrote.
        const jobs = ids.length === 1 ? '1 job' : `${ids.length} jobs`;
        this.#log.info(`hook hints: ${enqueued.length} read, ${jobs} queued (${ids.join(', ')})`);
        this.#worker.wake();
      }
      for (const outcome of outcomes) {
        if (outcome.status === 'failed' || outcome.status === 'dropped') {
          this.#log.warn(`hook hint ${path.basename(outcome.file)} ${outcome.status}: ${outcome.reason}`);
        }
      }
      return enqueued.length;
    } catch (error) {
      this.#log.error(`reading hook hints failed: ${describeError(error)}`);
      return 0;
    }
  }

  #listenForStops(): void {
    if (this.#options.handleSignals !== false) {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        const onSignal = () => {
          if (this.#stopping) {
            // A second signal exits at once, and the next daemon recovers the active jobs as stalled.
            this.#log.warn(`${signal} received while stopping: exiting at once without waiting for active jobs ${this.#describeActiveJobs()}`);
            process.exit(1);
          }

          this.#log.info(`${signal} received: stopping, active jobs get ${this.#settings.graceMs} ms to finish`);
          void this.#stop({ code: 0, reason: 'signal' });
        };
        process.on(signal, onSignal);
        this.#cleanups.push(() => process.off(signal, onSignal));
      }
    }

    const abort = this.#options.signal;
    if (abort) {
      const onAbort = () => void this.#stop({ code: 0, reason: 'signal' });
      if (abort.aborted) {
        // Stops after the synchronous setup, which has not built the worker yet.
        queueMicrotask(onAbort);
      } else {
        abort.addEventListener('abort', onAbort, { once: true });
        this.#cleanups.push(() => abort.removeEventListener('abort', onAbort));
      }
    }
  }

  /** Lists the active jobs for a log line, such as `(active jobs: 61d13aba-…)`. */
  #describeActiveJobs(): string {
    const active = this.#worker?.activeJobIds ?? [];
    return active.length === 0 ? '(no active job)' : `(active jobs: ${active.join(', ')})`;
  }

  /**
   * Checks that the database and lock files are the ones opened and that no newer stepper
   * migrated the database, notices a pause such as a sleep, and renews the daemon row.
   */
  #heartbeat(): void {
    if (this.#stopping) {
      return;
    }

    const now = performance.now();
    const gapMs = now - this.#lastHeartbeatAt;
    this.#lastHeartbeatAt = now;
    if (gapMs > this.#settings.heartbeatMs * PAUSE_FACTOR) {
      this.#log.warn(`resumed after a pause of ${Math.round(gapMs / 1000)} s (sleep or SIGSTOP); active jobs keep their locks`);
    }

    if (!sameFile(fileIdentity(this.#queue.file), this.#databaseIdentity) || !sameFile(fileIdentity(this.#lock.file), this.#lock.identity)) {
      this.#log.error(`database ${this.#queue.file} or lock ${this.#lock.file} was deleted or replaced; exiting, and the next enqueue starts a new daemon`);
      void this.#stop({ code: 0, reason: 'database-replaced' });
      return;
    }

    try {
      const schema = this.#queue.database.pragma('user_version', { simple: true }) as number;
      if (schema > SCHEMA_VERSION) {
        this.#log.info(`database migrated to schema ${schema} by a newer stepper (this one writes ${SCHEMA_VERSION}); exiting for the upgrade`);
        void this.#stop({ code: 0, reason: 'upgrade' });
        return;
      }
    } catch (error) {
      this.#log.error(`heartbeat failed to read the schema version: ${describeError(error)}`);
    }

    this.#writeStatus(Date.now());
  }

  /** Exits once no job was seen for `idleMs` and the queue contains no work for this daemon. */
  #checkIdle(): void {
    if (this.#stopping || this.#worker.paused || this.#worker.activeJobIds.length > 0) {
      if (this.#worker.activeJobIds.length > 0) {
        this.#lastBusyAt = performance.now();
      }
      return;
    }

    if (performance.now() - this.#lastBusyAt < this.#settings.idleMs) {
      return;
    }

    // Claims stop first, so no job is claimed between the check and the exit.
    this.#worker.pause();
    let idle = false;
    try {
      idle = this.#row.markStoppingIfIdle(this.#instance, this.#dataDir, this.#monitor.heldModels);
    } catch (error) {
      this.#log.error(`idle check failed: ${describeError(error)}`);
    }

    if (!idle) {
      this.#lastBusyAt = performance.now();
      this.#worker.resume();
      return;
    }

    this.#log.info(`idle for ${this.#settings.idleMs} ms with no work left: exiting`);
    void this.#stop({ code: 0, reason: 'idle' });
  }

  #stop(exit: DaemonExit): Promise<DaemonExit> {
    this.#stopping ??= this.#shutdown(exit);
    return this.#stopping;
  }

  async #shutdown(exit: DaemonExit): Promise<DaemonExit> {
    // First of all, so that from here on every hook starts its kick (see hint-watch.ts).
    this.#hints?.stop();
    this.#exit = exit;
    const ghost = exit.reason === 'database-replaced';
    for (const timer of this.#timers) {
      clearInterval(timer);
    }
    // The signal handlers stay until run() has finished the shutdown, so a second SIGTERM or
    // SIGINT during the grace period exits with 1 and a log line instead of killing node.

    if (!ghost) {
      this.#tryWrite(() => this.#row.update(this.#instance, { state: 'stopping' }));
    }

    // Hooks that found daemon.live before stop() started no kick, so their hints are read
    // here. Their jobs go to a successor, which waits for this daemon's lock.
    if (this.#hints && (await this.#hints.drain()) > 0) {
      startSuccessor(this.#dataDir, this.#env, this.#log);
    }

    // A job still waiting for a generation slot is released at once, while running jobs get the grace period.
    this.#gate.close(new RetryLaterError('the daemon is stopping', 0));
    const graceMs = ghost || exit.reason === 'upgrade' ? 0 : this.#settings.graceMs;
    await this.#worker.close({ graceMs });
    this.#monitor.stop();

    this.#log.info(`daemon stopped (${exit.reason}) after ${this.#jobsDone} jobs`);
    return exit;
  }

  /**
   * Writes the status row after the current turn of the event loop. With `throttle` (the
   * default, for job events) the write comes no sooner than STATUS_WRITE_INTERVAL_MS after
   * the last one. A job's end, its completion and the next claim come in one turn and share
   * one write, and a daemon that finishes hundreds of jobs a second does not spend a commit
   * on its row for each one.
   */
  #scheduleStatus({ throttle = true }: { throttle?: boolean } = {}): void {
    const waitMs = throttle ? Math.max(0, this.#statusWrittenAt + STATUS_WRITE_INTERVAL_MS - performance.now()) : 0;
    if (this.#statusWrite) {
      if (throttle) {
        return;
      }

      // A pending throttled write moves forward to now.
      clearTimeout(this.#statusWrite);
    }

    this.#statusWrite = setTimeout(() => this.#writeStatus(), waitMs);
  }

  #writeStatus(heartbeatAt?: number): void {
    clearTimeout(this.#statusWrite);
    this.#statusWrite = undefined;
    this.#statusWrittenAt = performance.now();
    if (this.#exit?.reason === 'database-replaced') {
      return;
    }

    const active = this.#worker?.activeJobIds ?? [];
    const current = this.#gate?.holders[0] ?? active[0] ?? null;
    this.#tryWrite(() =>
      this.#row.update(this.#instance, {
        ...(heartbeatAt === undefined ? {} : { heartbeatAt }),
        jobsDone: this.#jobsDone,
        currentJobId: current,
        ollamaState: this.#monitor?.state,
        ollamaDetail: this.#monitor?.detail ?? null,
      }),
    );
  }

  #tryWrite(write: () => void): void {
    try {
      write();
    } catch (error) {
      this.#log.error(`cannot update the daemon row: ${describeError(error)}`);
    }
  }
}

function describeJob(job: ClaimedJob): string {
  const model = (job.payload as { model?: unknown } | null)?.model;
  return `${job.kind} of commit ${job.commitSha.slice(0, 12)}${typeof model === 'string' ? ` with ${model}` : ''}`;
}

/**
 * Describes an error for the log without text that may quote a commit. stepper's own
 * errors keep their first line, except invalid reports, whose messages may quote the
 * model's response. Other errors are logged by class and code, and the job's last_error
 * keeps the full text.
 */
function describeError(error: unknown): string {
  if (error instanceof StepperError) {
    if (error.code === 'REPORT_INVALID') {
      return `${error.name} (${error.code})`;
    }

    return `${firstLine(error.message)} (${error.code})`;
  }

  // Errors that tell the queue to retry later or to fail the job carry messages that stepper writes.
  if (error instanceof RetryLaterError || error instanceof UnrecoverableError) {
    return `${firstLine(error.message)} (${error.name})`;
  }

  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${typeof code === 'string' ? ` (${code})` : ''}`;
  }

  return typeof error;
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

/**
 * Wraps a logger that replaces the OLLAMA_HOST value in every line when it contains
 * credentials (`user:password@host`). stepper's own messages show the value with the
 * password masked (describeOllamaHost), so this guards any other message that names it as set.

 */
function redactingLogger(logger: DaemonLogger, env: NodeJS.ProcessEnv): DaemonLogger {
  const value = env.OLLAMA_HOST?.trim();
  if (!value || !value.includes('@')) {
    return logger;
  }

  const redact = (message: string) => message.split(value).join('<OLLAMA_HOST with credentials>');
  return {
    info: (message) => logger.info(redact(message)),
    warn: (message) => logger.warn(redact(message)),
    error: (message) => logger.error(redact(message)),
    close: () => logger.close(),
  };
}

import { setTimeout as sleep } from 'node:timers/promises';

import { readDaemonStatus } from '../daemon/start.js';
import { type DaemonRow, type HeldModel, readHeldModels, unreachableReasonOf } from '../daemon/state.js';
import { checkDataDir, checkPositiveInteger } from '../errors.js';
import { openExistingQueue, type Queue } from '../queue/queue.js';
import { FINISHED_STATES, type Job, type JobEventType, type JobState, LIVE_STATES } from '../queue/types.js';
import { resolveDataDir } from '../store/data-dir.js';

/** A queue event with the commit of its job. */
export interface WatchEvent {
  /** Position in the queue's event log; increases with every event. */
  seq: number;
  /** Epoch milliseconds. */
  at: number;
  type: JobEventType;
  jobId: string;
  /** Null when the job was removed by retention before the event was read. */
  sha: string | null;
  repository: string | null;
  data: Record<string, unknown> | null;
}

/** Why a running daemon claims no jobs: Ollama did not respond to its last request or probe. */
export interface OllamaWait {
  /** URL of the Ollama server the daemon uses. */
  host: string;
  /** The daemon's reason, such as `ECONNREFUSED`, or the error of a server that responds but not as Ollama. */
  error: string;
}

/** The daemon's state as watch reads it. */
export interface DaemonSnapshot {
  /** `starting` from the spawn until the new daemon holds the lock and has written its row. */
  state: 'running' | 'starting' | 'stopped';
  /** Set while a running daemon waits for Ollama. */
  ollamaWait: OllamaWait | null;
}

/** A job waiting out a retry backoff or a delayed release. */
export interface DelayedJob {
  job: Job;
  /**
   * Why it was delayed: the error of its last failed attempt, or the reason the worker gave
   * when it released the job with a delay, such as a busy Ollama. Null when neither is stored.
   */
  reason: string | null;
}

/** The state of the queue at one poll. */
export interface QueueSnapshot {
  counts: Record<JobState, number>;
  /** Active jobs, newest first, at most MAX_ACTIVE_SHOWN. */
  active: Job[];
  /** Of the newest MAX_DELAYED_SHOWN delayed jobs, the one due first comes first. */
  delayed: DelayedJob[];
  /** The newest finished jobs, newest first. */
  recent: Job[];
  /** Mean time from start to finish of the recent completed jobs, in milliseconds; null without any. */
  averageDurationMs: number | null;
  /** Completed jobs the average is taken over. */
  averageOver: number;
  /** Models whose jobs a running daemon keeps waiting because Ollama does not have them, each with its number of waiting jobs. */
  held: Array<HeldModel & { jobs: number }>;
  daemon: DaemonSnapshot;
}

/**
 * A change in the daemon's wait for Ollama, which the queue's event log does not record.
 * `at`, in epoch milliseconds, is when the daemon last wrote its row, or when it started its
 * first job after the wait if that was earlier. It can be later than the change when the row
 * was written again before watch read it. When the daemon is gone, `at` is when watch
 * noticed. `ollama-wait-ended` has `reachable` true when the daemon reached Ollama again,
 * and false when the daemon that waited stopped or died.
 */
export type DaemonEvent =
  | { type: 'ollama-wait-started'; at: number; host: string; error: string }
  | { type: 'ollama-wait-ended'; at: number; host: string; reachable: boolean };

/** Result of one poll. */
export interface WatchUpdate {
  /** Events since the previous update, in order. */
  events: WatchEvent[];
  /** Changes of the daemon's wait for Ollama since the previous update. The first update carries `ollama-wait-started` when the daemon waits already. */
  daemonEvents: DaemonEvent[];
  /** Null while the data directory has no database. */
  snapshot: QueueSnapshot | null;
  /** True when no job is waiting, delayed or active, apart from jobs held for a missing model, which wait for the user. */
  idle: boolean;
  /** False when nothing was committed to the database since the previous update and the daemon's state stayed the same. */
  changed: boolean;
}

export interface WatchQueueOptions {
  /** Data directory holding the database. @default resolveDataDir() */
  dataDir?: string;
  /** Time between two polls, in milliseconds. @default 250 */
  intervalMs?: number;
  /** Ends the iteration after the current poll. */
  signal?: AbortSignal;
  /**
   * Start with the past events of jobs that are live when watching starts, so a reader sees
   * how they began. Events of other jobs from before the start are skipped. @default true
   */
  replayLive?: boolean;
  /** Finished jobs in `snapshot.recent`. @default 5 */
  recentLimit?: number;
}

export const DEFAULT_WATCH_INTERVAL_MS = 250;

/** Active jobs a snapshot lists; more are counted but not shown. */
export const MAX_ACTIVE_SHOWN = 20;

/** Delayed jobs a snapshot lists; more are counted but not shown. */
export const MAX_DELAYED_SHOWN = 10;

/**
 * Maximum time between two reads of the daemon's state, in milliseconds. A daemon that dies
 * commits nothing, so the lock is probed on this interval even while the database is unchanged.
 */
const DAEMON_CHECK_INTERVAL_MS = 1000;

/** Completed jobs whose durations give the average that an ETA falls back on. */
const AVERAGE_OVER_JOBS = 20;

/** Live jobs whose past events are replayed at the start. */
const MAX_REPLAYED_JOBS = 200;

const EVENT_PAGE = 500;

/**
 * Polls the queue every `intervalMs` and yields an update per poll: the new job events and,
 * after a commit by another process, a fresh snapshot. It polls SQLite's `data_version`,
 * which changes only when another connection commits, so an idle queue costs one pragma per
 * poll. It opens the database read-only, and waits for it to appear when it is missing.
 * The iteration ends when `signal` aborts, or when the caller stops iterating.
 */
export async function* watchQueue(options: WatchQueueOptions = {}): AsyncGenerator<WatchUpdate> {
  const dataDir = options.dataDir === undefined ? resolveDataDir() : checkDataDir(options.dataDir);
  const intervalMs = checkPositiveInteger('intervalMs', options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS);
  const recentLimit = checkPositiveInteger('recentLimit', options.recentLimit ?? 5);
  const signal = options.signal;

  let reader: EventReader | undefined;
  let firstPoll = true;
  try {
    while (!signal?.aborted) {
      const queue = reader ? undefined : openExistingQueue({ dataDir });
      if (queue) {
        // A database that appears while watching holds only new events, so all of them are read.
        reader = new EventReader(dataDir, queue, recentLimit);
        reader.start(firstPoll ? 'now' : 'beginning', options.replayLive ?? true);
      }
      firstPoll = false;

      yield reader ? reader.poll() : { events: [], daemonEvents: [], snapshot: null, idle: true, changed: false };

      try {
        await sleep(intervalMs, undefined, { signal });
      } catch {
        // The abort ends the loop at its condition.
      }
    }
  } finally {
    reader?.close();
  }
}

class EventReader {
  readonly #dataDir: string;
  readonly #queue: Queue;
  readonly #recentLimit: number;
  readonly #jobs = new Map<string, { sha: string; repository: string } | null>();
  #lastSeq = 0;
  #lastVersion: number | undefined;
  #snapshot: QueueSnapshot | undefined;
  #pending: WatchEvent[] = [];
  /** Epoch milliseconds of the last read of the daemon's state. */
  #daemonReadAt = 0;
  /** The row of the running daemon as the last read found it, if any. */
  #daemonRow: DaemonRow | undefined;
  /** The daemon that waits for Ollama, as the last update reported it. */
  #waiting: { instance: string; host: string } | undefined;

  constructor(dataDir: string, queue: Queue, recentLimit: number) {
    this.#dataDir = dataDir;
    this.#queue = queue;
    this.#recentLimit = recentLimit;
  }

  start(from: 'now' | 'beginning', replayLive: boolean): void {
    if (from === 'beginning') {
      return;
    }

    const row = this.#queue.database.prepare('SELECT coalesce(max(seq), 0) AS seq FROM job_events').get() as { seq: number };
    this.#lastSeq = row.seq;
    if (replayLive) {
      this.#pending = this.#replayLive();
    }
  }

  poll(): WatchUpdate {
    const now = Date.now();
    const version = this.#queue.dataVersion();
    const committed = version !== this.#lastVersion || this.#snapshot === undefined;
    this.#lastVersion = version;

    // The snapshot is read before the events: an event that finished the last live job was
    // committed before this snapshot showed the queue idle, so the same update carries it.
    let changed = committed;
    if (committed) {
      this.#snapshot = this.#readSnapshot(now);
    } else if (now - this.#daemonReadAt >= DAEMON_CHECK_INTERVAL_MS) {
      changed = this.#refreshDaemon(now);
    }

    const events = this.#pending.splice(0);
    if (committed) {
      events.push(...this.#readNewEvents());
    }

    const snapshot = this.#snapshot as QueueSnapshot;
    const live = LIVE_STATES.reduce((sum, state) => sum + snapshot.counts[state], 0);
    const held = snapshot.held.reduce((sum, model) => sum + model.jobs, 0);
    return { events, daemonEvents: this.#daemonEvents(now, events), snapshot, idle: live - held <= 0, changed };
  }

  close(): void {
    this.#queue.close();
  }

  #readSnapshot(now: number): QueueSnapshot {
    const completed = this.#queue.getJobs({ states: ['completed'], limit: AVERAGE_OVER_JOBS });
    const durations = completed
      .filter((job) => job.startedAt !== null && job.finishedAt !== null)
      .map((job) => (job.finishedAt as number) - (job.startedAt as number));

    return {
      counts: this.#queue.getCounts(),
      active: this.#queue.getJobs({ states: ['active'], limit: MAX_ACTIVE_SHOWN }),
      delayed: this.#readDelayed(),
      recent: this.#queue.getJobs({ states: FINISHED_STATES, limit: this.#recentLimit }),
      averageDurationMs: durations.length === 0 ? null : durations.reduce((sum, value) => sum + value, 0) / durations.length,
      averageOver: durations.length,
      held: this.#readHeld(),
      daemon: this.#readDaemon(now),
    };
  }

  /** Reads the daemon's state again, and returns true when it differs from the snapshot's. */
  #refreshDaemon(now: number): boolean {
    const snapshot = this.#snapshot as QueueSnapshot;
    const daemon = this.#readDaemon(now);
    if (daemon.state === snapshot.daemon.state && JSON.stringify(daemon.ollamaWait) === JSON.stringify(snapshot.daemon.ollamaWait)) {
      return false;
    }

    // Held models count only while a daemon runs, so they change with it.
    this.#snapshot = { ...snapshot, daemon, held: this.#readHeld() };
    return true;
  }

  /** Reads whether a daemon runs and whether it waits for Ollama, as `stepper status` does. */
  #readDaemon(now: number): DaemonSnapshot {
    this.#daemonReadAt = now;
    const status = readDaemonStatus({ dataDir: this.#dataDir, database: this.#queue.database });

    // Until a starting daemon has written its row, the row is an earlier daemon's.
    const row = status.running && status.startingPid === undefined ? status.row : undefined;
    this.#daemonRow = row;
    if (row === undefined) {
      return { state: status.running || status.startingPid !== undefined ? 'starting' : 'stopped', ollamaWait: null };
    }

    if (row.ollamaState !== 'unreachable' || row.ollamaHost === null) {
      return { state: 'running', ollamaWait: null };
    }

    return { state: 'running', ollamaWait: { host: row.ollamaHost, error: unreachableReasonOf(row.ollamaHost, row.ollamaDetail) } };
  }

  /** Compares the daemon's wait for Ollama with the last one reported, and returns the changes. */
  #daemonEvents(now: number, events: readonly WatchEvent[]): DaemonEvent[] {
    const wait = (this.#snapshot as QueueSnapshot).daemon.ollamaWait;
    const row = this.#daemonRow;
    const current = wait && row ? { instance: row.instance, host: wait.host } : undefined;
    const previous = this.#waiting;
    if (previous?.instance === current?.instance && previous?.host === current?.host) {
      return [];
    }

    const changes: DaemonEvent[] = [];
    if (previous) {
      // A wait ends with Ollama reachable only when the daemon that waited still runs. That
      // daemon claims no job while it waits, so its wait ended before any job it started.
      // Its row may have been written again since, with a later time.
      const same = row?.instance === previous.instance;
      const claimed = events.find((event) => event.type === 'started')?.at ?? Number.POSITIVE_INFINITY;
      changes.push({ type: 'ollama-wait-ended', at: same ? Math.min(row.updatedAt, claimed) : now, host: previous.host, reachable: same });
    }
    if (current && wait && row) {
      changes.push({ type: 'ollama-wait-started', at: row.updatedAt, host: wait.host, error: wait.error });
    }

    this.#waiting = current;
    return changes;
  }

  /** Reads the newest delayed jobs, sorted by due time, each with the reason of its delay. */
  #readDelayed(): DelayedJob[] {
    const jobs = this.#queue.getJobs({ states: ['delayed'], limit: MAX_DELAYED_SHOWN });
    if (jobs.length === 0) {
      return [];
    }

    // A retry stores its error in the job and in the event, but a delayed release only in the event.
    const lastDelay = this.#queue.database.prepare(
      `SELECT type, data FROM job_events WHERE job_id = ? AND type IN ('retried', 'released') ORDER BY seq DESC LIMIT 1`,
    );
    return jobs
      .sort((a, b) => a.runAt - b.runAt)
      .map((job) => {
        const event = lastDelay.get(job.id) as { type: string; data: string | null } | undefined;
        const data = event?.data ? (JSON.parse(event.data) as Record<string, unknown>) : {};
        const reason = event?.type === 'retried' ? data.error : data.reason;
        return { job, reason: typeof reason === 'string' ? reason : job.lastError };
      });
  }

  /** Reads the models whose jobs the running daemon keeps waiting, and counts those jobs. A stopped daemon keeps none. */
  #readHeld(): Array<HeldModel & { jobs: number }> {
    const held = readHeldModels(this.#queue.database);
    if (held.length === 0) {
      return [];
    }

    const count = this.#queue.database.prepare(
      `SELECT count(*) AS jobs FROM jobs WHERE state IN ('waiting', 'delayed') AND json_extract(payload, '$.model') = ?`,
    );
    return held
      .map((model) => ({ ...model, jobs: (count.get(model.model) as { jobs: number }).jobs }))
      .filter((model) => model.jobs > 0);
  }

  #readNewEvents(): WatchEvent[] {
    const events: WatchEvent[] = [];
    for (;;) {
      const page = this.#queue.getEvents({ afterSeq: this.#lastSeq, limit: EVENT_PAGE });
      for (const event of page) {
        events.push(this.#withCommit(event));
        this.#lastSeq = event.seq;
      }

      if (page.length < EVENT_PAGE) {
        return events;
      }
    }
  }

  #replayLive(): WatchEvent[] {
    const live = this.#queue.getJobs({ states: LIVE_STATES, limit: MAX_REPLAYED_JOBS });
    const replayed: WatchEvent[] = [];
    for (const job of live) {
      this.#jobs.set(job.id, { sha: job.commitSha, repository: job.repository });
      for (const event of this.#queue.getEvents({ jobId: job.id, limit: EVENT_PAGE })) {
        if (event.seq <= this.#lastSeq) {
          replayed.push(this.#withCommit(event));
        }
      }
    }

    return replayed.sort((a, b) => a.seq - b.seq);
  }

  #withCommit(event: { seq: number; at: number; type: JobEventType; jobId: string; data: Record<string, unknown> | null }): WatchEvent {
    let job = this.#jobs.get(event.jobId);
    if (job === undefined) {
      const found = this.#queue.getJob(event.jobId);
      job = found ? { sha: found.commitSha, repository: found.repository } : null;
      this.#jobs.set(event.jobId, job);
    }

    return { ...event, sha: job?.sha ?? null, repository: job?.repository ?? null };
  }
}

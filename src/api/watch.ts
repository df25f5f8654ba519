import { setTimeout as sleep } from 'node:timers/promises';

import { type HeldModel, readHeldModels } from '../daemon/state.js';
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

/** The state of the queue at one poll. */
export interface QueueSnapshot {
  counts: Record<JobState, number>;
  /** Active jobs, newest first, at most MAX_ACTIVE_SHOWN. */
  active: Job[];
  /** The newest finished jobs, newest first. */
  recent: Job[];
  /** Mean time from start to finish of the recent completed jobs, in milliseconds; null without any. */
  averageDurationMs: number | null;
  /** Completed jobs the average is taken over. */
  averageOver: number;
  /** Models whose jobs a running daemon keeps waiting because Ollama does not have them, each with its number of waiting jobs. */
  held: Array<HeldModel & { jobs: number }>;
}

/** Result of one poll. */
export interface WatchUpdate {
  /** Events since the previous update, in order. */
  events: WatchEvent[];
  /** Null while the data directory has no database. */
  snapshot: QueueSnapshot | null;
  /** True when no job is waiting, delayed or active, apart from jobs held for a missing model, which wait for the user. */
  idle: boolean;
  /** False when nothing was committed to the database since the previous update. */
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
        reader = new EventReader(queue, recentLimit);
        reader.start(firstPoll ? 'now' : 'beginning', options.replayLive ?? true);
      }
      firstPoll = false;

      yield reader ? reader.poll() : { events: [], snapshot: null, idle: true, changed: false };

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
  readonly #queue: Queue;
  readonly #recentLimit: number;
  readonly #jobs = new Map<string, { sha: string; repository: string } | null>();
  #lastSeq = 0;
  #lastVersion: number | undefined;
  #snapshot: QueueSnapshot | undefined;
  #pending: WatchEvent[] = [];

  constructor(queue: Queue, recentLimit: number) {
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
    const version = this.#queue.dataVersion();
    const changed = version !== this.#lastVersion || this.#snapshot === undefined;
    this.#lastVersion = version;

    // The snapshot is read before the events: an event that finished the last live job was
    // committed before this snapshot showed the queue idle, so the same update carries it.
    if (changed) {
      this.#snapshot = this.#readSnapshot();
    }

    const events = this.#pending.splice(0);
    if (changed) {
      events.push(...this.#readNewEvents());
    }

    const snapshot = this.#snapshot as QueueSnapshot;
    const live = LIVE_STATES.reduce((sum, state) => sum + snapshot.counts[state], 0);
    const held = snapshot.held.reduce((sum, model) => sum + model.jobs, 0);
    return { events, snapshot, idle: live - held <= 0, changed };
  }

  close(): void {
    this.#queue.close();
  }

  #readSnapshot(): QueueSnapshot {
    const completed = this.#queue.getJobs({ states: ['completed'], limit: AVERAGE_OVER_JOBS });
    const durations = completed
      .filter((job) => job.startedAt !== null && job.finishedAt !== null)
      .map((job) => (job.finishedAt as number) - (job.startedAt as number));

    return {
      counts: this.#queue.getCounts(),
      active: this.#queue.getJobs({ states: ['active'], limit: MAX_ACTIVE_SHOWN }),
      recent: this.#queue.getJobs({ states: FINISHED_STATES, limit: this.#recentLimit }),
      averageDurationMs: durations.length === 0 ? null : durations.reduce((sum, value) => sum + value, 0) / durations.length,
      averageOver: durations.length,
      held: this.#readHeld(),
    };
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

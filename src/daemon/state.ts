// The `daemon` row (id 1) of the queue database. Only the process holding the lock writes
// it, so other processes read the daemon's state without touching the lock file.

import { openSqlite, type SqliteDatabase, type SqliteStatement } from '../store/sqlite.js';
import type { Job } from '../queue/types.js';
import { countSpooled } from '../queue/spool.js';

/**
 * Lifecycle of a daemon: `starting` until recovery is done, `running`, `stopping` once it
 * stopped claiming to exit, and `stopped` after a clean exit. A crash leaves the last one.
 */
export type DaemonState = 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * Returns true when the daemon holding the lock is about to release it. That is a daemon
 * that is `stopping`, that wrote `stopped` but has not closed the lock yet, or that runs
 * another stepper version, which exits once a newer one migrates the database. A starter
 * that finds such a holder waits for the lock instead of leaving the queue without a daemon.
 */
export function isLeaving(row: Pick<DaemonRow, 'state' | 'version'>, version: string): boolean {
  return row.state === 'stopping' || row.state === 'stopped' || row.version !== version;
}

/**
 * Ollama as the daemon last saw it: `unknown` before the first request, `ok`, or
 * `unreachable` while it probes with backoff.
 */
export type OllamaState = 'unknown' | 'ok' | 'unreachable';

export interface DaemonRow {
  pid: number;
  /** UUID of one daemon start, also used as the worker id in job locks. */
  instance: string;
  version: string;
  state: DaemonState;
  /** Epoch milliseconds. */
  startedAt: number;
  heartbeatAt: number;
  concurrency: number;
  /** Number of jobs this daemon finished, whether completed or failed. */
  jobsDone: number;
  currentJobId: string | null;
  ollamaHost: string | null;
  ollamaState: OllamaState | null;
  /** The unreachable error, or the models held because they are not installed, with the pull commands. */
  ollamaDetail: string | null;
  updatedAt: number;
}

interface RawDaemonRow {
  pid: number;
  instance: string;
  version: string;
  state: DaemonState;
  started_at: number;
  heartbeat_at: number;
  concurrency: number;
  jobs_done: number;
  current_job_id: string | null;
  ollama_host: string | null;
  ollama_state: OllamaState | null;
  ollama_detail: string | null;
  updated_at: number;
}

function toDaemonRow(raw: RawDaemonRow): DaemonRow {
  return {
    pid: raw.pid,
    instance: raw.instance,
    version: raw.version,
    state: raw.state,
    startedAt: raw.started_at,
    heartbeatAt: raw.heartbeat_at,
    concurrency: raw.concurrency,
    jobsDone: raw.jobs_done,
    currentJobId: raw.current_job_id,
    ollamaHost: raw.ollama_host,
    ollamaState: raw.ollama_state,
    ollamaDetail: raw.ollama_detail,
    updatedAt: raw.updated_at,
  };
}

/** A model whose jobs the daemon holds back because it is not installed on Ollama. */
export interface HeldModel {
  model: string;
  /** The command that installs it, such as `ollama pull qwen2.5-coder:7b`. */
  pullCommand: string;
}

/** Formats a held model for the row's `ollamaDetail`, in the form that heldModelsOf parses. */
export function describeHeldModel({ model, pullCommand }: HeldModel): string {
  return `model ${JSON.stringify(model)} not found, its jobs wait: run "${pullCommand}"`;
}

/** Formats the daemon's wait for Ollama for the row's `ollamaDetail`, in the form that unreachableReasonOf parses. */
export function describeUnreachable(host: string, reason: string): string {
  return `waiting for Ollama at ${host}: ${reason}`;
}

/**
 * Returns the reason from the row's `ollamaDetail` while the daemon waits for Ollama at `host`,
 * without the held models that may follow it. Returns the whole detail in another form.
 */
export function unreachableReasonOf(host: string, detail: string | null): string {
  const prefix = describeUnreachable(host, '');
  if (detail === null || !detail.startsWith(prefix)) {
    return detail ?? 'no reason recorded';
  }

  return detail.slice(prefix.length).replace(/(?:; model "(?:[^"\\]|\\.)*" not found, its jobs wait: run "[^"]*")+$/, '');
}

/** Parses the models the daemon holds back from the row's `ollamaDetail`. */

export function heldModelsOf(row: Pick<DaemonRow, 'ollamaDetail'>): HeldModel[] {
  const held: HeldModel[] = [];
  for (const match of (row.ollamaDetail ?? '').matchAll(/model ("(?:[^"\\]|\\.)*") not found, its jobs wait: run "([^"]*)"/g)) {
    held.push({ model: JSON.parse(match[1] as string) as string, pullCommand: match[2] as string });
  }

  return held;
}

/** Reads the daemon row through `db`, or undefined when no daemon has written one. */
export function readDaemonRow(db: SqliteDatabase): DaemonRow | undefined {
  const raw = db.prepare('SELECT * FROM daemon WHERE id = 1').get() as RawDaemonRow | undefined;
  return raw ? toDaemonRow(raw) : undefined;
}

/** Returns the models a running daemon holds jobs for, or none when no daemon runs, because the next one tries them again. */
export function readHeldModels(db: SqliteDatabase): HeldModel[] {
  const row = readDaemonRow(db);
  return row && row.state === 'running' ? heldModelsOf(row) : [];
}

/** Returns the held model that keeps `job` waiting, if any. */
export function heldModelOfJob(job: Pick<Job, 'state' | 'payload'>, held: readonly HeldModel[]): HeldModel | undefined {
  if (job.state !== 'waiting' && job.state !== 'delayed') {
    return undefined;
  }

  const model = (job.payload as { model?: unknown } | null)?.model;
  return held.find((entry) => entry.model === model);
}

/**
 * Reads the daemon row from the database file without migrating or creating anything.
 * Returns undefined when the file, the table or the row is missing, or the file cannot be read.
 */
export function readDaemonRowFromFile(file: string): DaemonRow | undefined {
  let db: SqliteDatabase;
  try {
    db = openSqlite(file, { readonly: true, fileMustExist: true, timeout: 1000 });
  } catch {
    return undefined;
  }

  try {
    return readDaemonRow(db);
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

/** Fields the daemon changes after start. */
export type DaemonRowUpdate = Partial<Pick<DaemonRow, 'state' | 'heartbeatAt' | 'jobsDone' | 'currentJobId' | 'ollamaState' | 'ollamaDetail'>>;

const COLUMNS: Record<keyof DaemonRowUpdate, string> = {
  state: 'state',
  heartbeatAt: 'heartbeat_at',
  jobsDone: 'jobs_done',
  currentJobId: 'current_job_id',
  ollamaState: 'ollama_state',
  ollamaDetail: 'ollama_detail',
};

/** Runs a write in a transaction of the caller's choice, such as Queue.transition. */
export type RowTransaction = <T>(work: () => T) => T;

/**
 * Writes the daemon row of one daemon instance. The row is the daemon's own bookkeeping, so
 * the daemon passes Queue.transition, which commits without an fsync of the WAL.
 */
export class DaemonRowWriter {
  readonly #db: SqliteDatabase;
  readonly #clock: () => number;
  readonly #transaction: RowTransaction;
  /** Prepared UPDATE statements by the columns they set; the status write repeats a few shapes. */
  readonly #updates = new Map<string, SqliteStatement>();

  constructor(db: SqliteDatabase, clock: () => number = Date.now, transaction: RowTransaction = (work) => work()) {
    this.#db = db;
    this.#clock = clock;
    this.#transaction = transaction;
  }

  /** Replaces the row of the previous daemon with this one's. */
  insert(row: Omit<DaemonRow, 'updatedAt'>): void {
    const statement = this.#db.prepare(`
      INSERT OR REPLACE INTO daemon (id, pid, instance, version, state, started_at, heartbeat_at, concurrency, jobs_done,
                                     current_job_id, ollama_host, ollama_state, ollama_detail, updated_at)
      VALUES (1, @pid, @instance, @version, @state, @startedAt, @heartbeatAt, @concurrency, @jobsDone,
              @currentJobId, @ollamaHost, @ollamaState, @ollamaDetail, @updatedAt)`);
    this.#transaction(() => statement.run({ ...row, updatedAt: this.#clock() }));
  }

  update(instance: string, changes: DaemonRowUpdate): void {
    const entries = Object.entries(changes).filter(([, value]) => value !== undefined) as Array<[keyof DaemonRowUpdate, unknown]>;
    const assignments = entries.map(([key]) => `${COLUMNS[key]} = @${key}`);
    const sql = `UPDATE daemon SET ${[...assignments, 'updated_at = @updatedAt'].join(', ')} WHERE id = 1 AND instance = @instance`;
    let statement = this.#updates.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#updates.set(sql, statement);
    }

    const prepared = statement;
    this.#transaction(() => prepared.run({ ...Object.fromEntries(entries), updatedAt: this.#clock(), instance }));
  }

  /**
   * Marks the daemon `stopping` when no work is left, in one IMMEDIATE transaction with the
   * check. An enqueue that commits before it is seen as work, and one that commits after it
   * finds `stopping` and starts a successor, so no job waits for a daemon that is leaving.
   * Work is a waiting job of a model not in `heldModels`, an active or a delayed job, or
   * a spool file. Returns true when the row was marked.
   */
  markStoppingIfIdle(instance: string, dataDir: string, heldModels: readonly string[]): boolean {
    const check = this.#db.transaction(() => {
      const { pending } = this.#db
        .prepare(`
          SELECT count(*) AS pending FROM jobs
           WHERE state IN ('active', 'delayed')
              OR (state = 'waiting'
                  AND (json_extract(payload, '$.model') IS NULL
                       OR json_extract(payload, '$.model') NOT IN (SELECT value FROM json_each(@held))))`)
        .get({ held: JSON.stringify(heldModels) }) as { pending: number };
      if (pending > 0 || countSpooled(dataDir) > 0) {
        return false;
      }

      this.update(instance, { state: 'stopping' });
      return true;
    });

    return check.immediate();
  }
}

import type { Statement } from 'better-sqlite3';

import { type SqliteDatabase, translateSqliteError } from '../store/database.js';
import type { TransitionSync } from './options.js';
import type { JobEventType } from './types.js';

/** Every this many events written through one connection, old events are trimmed in the same transaction. */
const EVENT_TRIM_INTERVAL = 1000;

/**
 * The connection of one Queue: cached prepared statements, IMMEDIATE write transactions,
 * and the event log. Every SQLite error leaves it as a DatabaseError naming the file.
 */
export class JobStore {
  readonly db: SqliteDatabase;
  readonly file: string;
  readonly #maxEvents: number;
  readonly #statements = new Map<string, Statement>();
  #eventsSinceTrim = 0;

  constructor(db: SqliteDatabase, file: string, maxEvents: number) {
    this.db = db;
    this.file = file;
    this.#maxEvents = maxEvents;
  }

  /** Returns the prepared statement for `sql`, preparing it on first use. */
  statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }

    return statement;
  }

  /**
   * Runs `work` in an IMMEDIATE transaction, which takes the write lock before the first
   * read, so no process reads and then writes on a stale snapshot. With `synchronous`
   * 'normal' the commit skips the fsync of the WAL (see TransitionSync). Work nested in an
   * open transaction joins it and commits at the outer transaction's level.
   */
  write<T>(work: () => T, synchronous: TransitionSync = 'full'): T {
    // Explicit statements, not db.transaction(), which prepares nine statements per
    // connection: a hook opens a connection for a single write.
    if (this.db.inTransaction) {
      return this.read(work);
    }

    const relaxed = synchronous === 'normal';
    try {
      // The level applies to the commits that follow on this connection, so it goes back to
      // FULL after this commit, and other writes through the connection keep their fsync.
      if (relaxed) {
        this.statement('PRAGMA synchronous = NORMAL').run();
      }

      this.statement('BEGIN IMMEDIATE').run();
    } catch (error) {
      this.#restoreFull(relaxed);
      throw translateSqliteError(this.file, error);
    }

    try {
      const result = work();
      this.statement('COMMIT').run();
      return result;
    } catch (error) {
      if (this.db.inTransaction) {
        this.statement('ROLLBACK').run();
      }

      throw translateSqliteError(this.file, error);
    } finally {
      this.#restoreFull(relaxed);
    }
  }

  #restoreFull(relaxed: boolean): void {
    if (relaxed) {
      this.statement('PRAGMA synchronous = FULL').run();
    }
  }

  read<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw translateSqliteError(this.file, error);
    }
  }

  /** Appends an event; call inside `write`. Every 1,000 events the oldest beyond `maxEvents` go. */
  event(jobId: string, type: JobEventType, data: Record<string, unknown> | null, now: number): void {
    this.statement('INSERT INTO job_events (job_id, type, at, data) VALUES (?, ?, ?, ?)').run(
      jobId,
      type,
      now,
      data === null ? null : JSON.stringify(data),
    );

    this.#eventsSinceTrim += 1;
    if (this.#eventsSinceTrim >= EVENT_TRIM_INTERVAL) {
      this.#eventsSinceTrim = 0;
      this.statement('DELETE FROM job_events WHERE seq <= (SELECT max(seq) FROM job_events) - ?').run(this.#maxEvents);
    }
  }

  close(): void {
    this.db.close();
  }
}

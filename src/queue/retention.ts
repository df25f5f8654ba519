import type { SqliteDatabase } from '../store/database.js';
import type { KeepOptions, RetentionOptions } from './options.js';

export interface CleanResult {
  completed: number;
  failed: number;
  cancelled: number;
  events: number;
}

/**
 * Deletes finished jobs that are both beyond the newest `count` of their state and older
 * than `ageMs`. Events go when they are beyond the newest `maxEvents` or older than
 * `eventAgeMs`, because the log only serves live views. Runs inside the caller's transaction.
 */
export function cleanFinished(db: SqliteDatabase, retention: Required<RetentionOptions>, now: number): CleanResult {
  return {
    completed: deleteFinished(db, 'completed', retention.completed, now),
    failed: deleteFinished(db, 'failed', retention.failed, now),
    cancelled: deleteFinished(db, 'cancelled', retention.failed, now),
    events: db
      .prepare(
        `DELETE FROM job_events
          WHERE seq <= (SELECT max(seq) FROM job_events) - @maxEvents
             OR at < @cutoff`,
      )
      .run({ maxEvents: retention.maxEvents, cutoff: now - retention.eventAgeMs }).changes,
  };
}

/** Deletes finished jobs of `state` beyond the newest `keep.count` that finished more than `keep.ageMs` ago. */
export function deleteFinished(db: SqliteDatabase, state: string, keep: KeepOptions, now: number): number {
  // Rows ordered newest first: OFFSET skips the `count` kept by number, and the age test
  // keeps the young ones among the rest.
  return db
    .prepare(
      `DELETE FROM jobs
        WHERE seq IN (SELECT seq FROM jobs WHERE state = @state
                       ORDER BY finished_at DESC, seq DESC LIMIT -1 OFFSET @count)
          AND finished_at < @cutoff`,
    )
    .run({ state, count: keep.count, cutoff: now - keep.ageMs }).changes;
}

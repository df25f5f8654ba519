import type { SqliteDatabase } from '../store/database.js';
import { deleteFinished } from './retention.js';

export interface PruneOptions {
  /** Finished jobs, unused summaries and (with `reports`) superseded reports older than this go, in milliseconds. */
  olderThanMs: number;
  /** Also remove superseded reports older than `olderThanMs`. @default false */
  reports?: boolean;
  /** Count what would go and change nothing. @default false */
  dryRun?: boolean;
}

export interface PruneCounts {
  completed: number;
  failed: number;
  cancelled: number;
  /** Events of jobs that no longer exist, including those older retention runs left. */
  events: number;
  /** Part summaries of large commits not used within the period. */
  summaries: number;
  /** Superseded reports; 0 unless `reports` was set. */
  reports: number;
}

export interface StaleReportQuery {
  /** Only this repository's reports; every repository's when undefined. */
  repository?: string;
  model: string;
  promptVersion: number;
  schemaVersion: number;
}

/** The newest report of a commit that has no report of the current model, prompt and schema. */
export interface StaleReport {
  reportId: string;
  repository: string;
  commitSha: string;
  subject: string | null;
  /** Model, prompt version, schema version and merge policy from the report's provenance; null when it lacks them. */
  model: string | null;
  promptVersion: number | null;
  schemaVersion: number | null;
  mergePolicy: string | null;
  createdAt: number;
}

const PROVENANCE_MODEL = `json_extract(provenance, '$.model')`;
const PROVENANCE_MERGE_POLICY = `coalesce(json_extract(provenance, '$.mergePolicy'), 'first-parent')`;

/**
 * Removes finished jobs that finished before the cutoff, the events of jobs that no longer
 * exist, part summaries unused since the cutoff, and with `reports` the superseded reports
 * made before it. Runs inside the caller's write transaction. A dry run makes the same
 * deletions inside a savepoint and rolls them back, so its counts are exact.
 *
 * A report is superseded when a newer report of the same commit, kind, model and merge
 * policy exists, so `show` and `show --model` find the same report afterwards. A report that
 * any remaining job row names as its result stays. Summaries that any live job may still use
 * (used since the oldest live job was added) stay too.
 */
export function pruneQueue(db: SqliteDatabase, options: PruneOptions, now: number): PruneCounts {
  const cutoff = now - options.olderThanMs;
  db.prepare('SAVEPOINT stepper_prune').run();

  try {
    const keep = { count: 0, ageMs: options.olderThanMs };
    const counts: PruneCounts = {
      completed: deleteFinished(db, 'completed', keep, now),
      failed: deleteFinished(db, 'failed', keep, now),
      cancelled: deleteFinished(db, 'cancelled', keep, now),
      events: db.prepare('DELETE FROM job_events WHERE job_id NOT IN (SELECT id FROM jobs)').run().changes,
      summaries: deleteUnusedSummaries(db, cutoff),
      reports: options.reports === true ? deleteSupersededReports(db, cutoff) : 0,
    };

    db.prepare(options.dryRun === true ? 'ROLLBACK TO stepper_prune' : 'RELEASE stepper_prune').run();
    if (options.dryRun === true) {
      db.prepare('RELEASE stepper_prune').run();
    }

    return counts;
  } catch (error) {
    db.prepare('ROLLBACK TO stepper_prune').run();
    db.prepare('RELEASE stepper_prune').run();
    throw error;
  }
}

function deleteUnusedSummaries(db: SqliteDatabase, cutoff: number): number {
  // A summary is found by a hash of its evidence, so no row names it. A live job added before
  // the cutoff may be halfway through a large commit, and its summaries are kept for it.
  return db
    .prepare(
      `DELETE FROM summaries
        WHERE used_at < @cutoff
          AND used_at < coalesce((SELECT min(created_at) FROM jobs WHERE state IN ('waiting', 'delayed', 'active')), @cutoff)`,
    )
    .run({ cutoff }).changes;
}

function deleteSupersededReports(db: SqliteDatabase, cutoff: number): number {
  return db
    .prepare(
      `DELETE FROM reports AS old
        WHERE old.created_at < @cutoff
          AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.result_id = old.id)
          AND EXISTS (
                SELECT 1 FROM reports AS newer
                 WHERE newer.repository = old.repository
                   AND newer.commit_sha = old.commit_sha
                   AND newer.kind = old.kind
                   AND json_extract(newer.provenance, '$.model') IS json_extract(old.provenance, '$.model')
                   AND coalesce(json_extract(newer.provenance, '$.mergePolicy'), 'first-parent')
                       = coalesce(json_extract(old.provenance, '$.mergePolicy'), 'first-parent')
                   AND (newer.created_at > old.created_at OR (newer.created_at = old.created_at AND newer.rowid > old.rowid)))`,
    )
    .run({ cutoff }).changes;
}

/**
 * Lists, oldest first, the commits whose reports were all made with another model or an
 * older prompt or schema version, each with its newest report. Only `report` jobs' reports
 * count, and the merge policy is not compared, because `stepper report` chooses it per request.
 */
export function findStaleReports(db: SqliteDatabase, query: StaleReportQuery): StaleReport[] {
  const rows = db
    .prepare(
      `SELECT id, repository, commit_sha, created_at,
              json_extract(content, '$.facts.subject') AS subject,
              ${PROVENANCE_MODEL} AS model,
              json_extract(provenance, '$.promptVersion') AS prompt_version,
              json_extract(provenance, '$.schemaVersion') AS schema_version,
              ${PROVENANCE_MERGE_POLICY} AS merge_policy
         FROM reports AS r
        WHERE kind = 'report'
          AND (@repository IS NULL OR repository = @repository)
          AND NOT EXISTS (
                SELECT 1 FROM reports AS newer
                 WHERE newer.repository = r.repository AND newer.commit_sha = r.commit_sha AND newer.kind = r.kind
                   AND (newer.created_at > r.created_at OR (newer.created_at = r.created_at AND newer.rowid > r.rowid)))
          AND NOT EXISTS (
                SELECT 1 FROM reports AS current
                 WHERE current.repository = r.repository AND current.commit_sha = r.commit_sha AND current.kind = r.kind
                   AND json_extract(current.provenance, '$.model') = @model
                   AND json_extract(current.provenance, '$.promptVersion') = @promptVersion
                   AND json_extract(current.provenance, '$.schemaVersion') = @schemaVersion)
        ORDER BY created_at, rowid`,
    )
    .all({
      repository: query.repository ?? null,
      model: query.model,
      promptVersion: query.promptVersion,
      schemaVersion: query.schemaVersion,
    }) as Array<{
    id: string;
    repository: string;
    commit_sha: string;
    created_at: number;
    subject: unknown;
    model: unknown;
    prompt_version: unknown;
    schema_version: unknown;
    merge_policy: unknown;
  }>;

  return rows.map((row) => ({
    reportId: row.id,
    repository: row.repository,
    commitSha: row.commit_sha,
    subject: typeof row.subject === 'string' ? row.subject : null,
    model: typeof row.model === 'string' ? row.model : null,
    promptVersion: typeof row.prompt_version === 'number' ? row.prompt_version : null,
    schemaVersion: typeof row.schema_version === 'number' ? row.schema_version : null,
    mergePolicy: typeof row.merge_policy === 'string' ? row.merge_policy : null,
    createdAt: row.created_at,
  }));
}

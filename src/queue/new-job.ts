import { randomUUID } from 'node:crypto';

import { InvalidOptionError } from '../errors.js';
import { JOB_PRIORITY, type JobState, type NewJob } from './types.js';

/** A new job checked and filled in, in the shape of the INSERT's parameters. */
export interface NormalizedJob {
  id: string;
  kind: string;
  repository: string;
  commitSha: string;
  dedupKey: string;
  payload: string;
  priority: number;
  state: JobState;
  runAt: number;
  maxAttempts: number;
}

/**
 * Checks a new job and fills in its defaults; an invalid field raises InvalidOptionError
 * naming it. Called before the job is stored or spooled, so a bad job never waits in the spool.
 */
export function normalizeNewJob(input: NewJob, defaultMaxAttempts: number, now: number): NormalizedJob {
  for (const field of ['kind', 'repository', 'commitSha'] as const) {
    if (typeof input[field] !== 'string' || input[field].length === 0) {
      throw new InvalidOptionError(field, 'a non-empty string', input[field]);
    }
  }

  const priority = typeof input.priority === 'string' ? JOB_PRIORITY[input.priority] : (input.priority ?? JOB_PRIORITY.normal);
  if (!Number.isSafeInteger(priority)) {
    throw new InvalidOptionError('priority', `an integer or one of ${Object.keys(JOB_PRIORITY).join(', ')}`, input.priority);
  }

  const maxAttempts = input.maxAttempts ?? defaultMaxAttempts;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new InvalidOptionError('maxAttempts', 'an integer >= 1', maxAttempts);
  }

  const delayMs = input.delayMs ?? 0;
  if (!Number.isSafeInteger(delayMs) || delayMs < 0) {
    throw new InvalidOptionError('delayMs', 'an integer >= 0', delayMs);
  }

  if (input.id !== undefined && (typeof input.id !== 'string' || input.id.length === 0)) {
    throw new InvalidOptionError('id', 'a non-empty string', input.id);
  }

  return {
    id: input.id ?? randomUUID(),
    kind: input.kind,
    repository: input.repository,
    commitSha: input.commitSha,
    dedupKey: input.dedupKey ?? `${input.kind}:${input.repository}:${input.commitSha}`,
    payload: JSON.stringify(input.payload ?? {}),
    priority,
    state: delayMs > 0 ? 'delayed' : 'waiting',
    runAt: now + delayMs,
    maxAttempts,
  };
}

import path from 'node:path';

import { InvalidOptionError } from '../errors.js';
import { newJobId } from './ids.js';
import { JOB_PRIORITY, type JobState, type NewJob } from './types.js';

/** A full SHA-1 or SHA-256 object id, as git prints it. */
const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

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
  if (typeof input !== 'object' || input === null) {
    throw new InvalidOptionError('job', 'an object with kind, repository and commitSha', input);
  }

  for (const field of ['kind', 'repository', 'commitSha'] as const) {
    if (typeof input[field] !== 'string' || input[field].length === 0) {
      throw new InvalidOptionError(field, 'a non-empty string', input[field]);
    }
  }

  if (!path.isAbsolute(input.repository)) {
    throw new InvalidOptionError('repository', 'an absolute path', input.repository);
  }

  if (!COMMIT_ID.test(input.commitSha)) {
    throw new InvalidOptionError('commitSha', 'a full commit id (40 or 64 hexadecimal digits)', input.commitSha);
  }

  if (input.dedupKey !== undefined && (typeof input.dedupKey !== 'string' || input.dedupKey.length === 0)) {
    throw new InvalidOptionError('dedupKey', 'a non-empty string', input.dedupKey);
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
    payload: serializePayload(input.payload),
    id: input.id ?? newJobId(),
    kind: input.kind,
    repository: input.repository,
    commitSha: input.commitSha,
    dedupKey: input.dedupKey ?? `${input.kind}:${input.repository}:${input.commitSha}`,
    priority,
    state: delayMs > 0 ? 'delayed' : 'waiting',
    runAt: now + delayMs,
    maxAttempts,
  };
}

function serializePayload(payload: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(payload ?? {});
  } catch (error) {
    // Cycles and BigInt values make JSON.stringify throw.
    throw new InvalidOptionError('payload', `JSON-serializable data (${(error as Error).message})`, typeof payload);
  }

  // JSON.stringify returns undefined for a function or a symbol.
  if (json === undefined) {
    throw new InvalidOptionError('payload', 'JSON-serializable data', typeof payload);
  }

  return json;
}

import { InvalidOptionError } from '../errors.js';
import type { MergePolicy } from '../git/types.js';
import type { JobPriorityName, NewJob } from '../queue/types.js';

// The report job's shape lives apart from the processor, so that the git hook's kick can
// build jobs without loading the Ollama client.

/** Job kind of report jobs in the queue. */
export const REPORT_JOB_KIND = 'report';

export const MERGE_POLICIES: readonly MergePolicy[] = ['first-parent', 'skip', 'combined'];

// Maximum characters of a subject kept in a job's payload, because git allows any length.
const MAX_SUBJECT_LENGTH = 300;

/** Request of a report job, stored as the job's payload. */
export interface ReportJobPayload {
  /** Model name, as chooseModel returns it. */
  model: string;
  /** Generate a new report even when one with the same cache key exists. The old one stays until the new one is stored. */
  force?: boolean;
  /** @default 'first-parent' */
  mergePolicy?: MergePolicy;
  /** Commit subject, kept for display only. */
  subject?: string;
}

export interface ReportJobInput extends ReportJobPayload {
  /** `gitDir` of the opened Repository: the real path of its common git directory. */
  repository: string;
  /** Full commit id. */
  commitSha: string;
  /** @default 'normal' */
  priority?: JobPriorityName | number;
}

/**
 * Builds the job that requests `commitSha`'s report. One live job exists per commit and
 * model, because its dedup key is made of both, so a second request while the first waits or runs is deduplicated.
 */
export function reportJob(input: ReportJobInput): NewJob {
  const payload = checkPayload({ model: input.model, force: input.force, mergePolicy: input.mergePolicy, subject: input.subject });

  return {
    kind: REPORT_JOB_KIND,
    repository: input.repository,
    commitSha: input.commitSha,
    dedupKey: `${REPORT_JOB_KIND}:${input.repository}:${input.commitSha}:${payload.model}`,
    payload,
    priority: input.priority,
  };
}

/** Checks a report job's payload and returns it without unknown keys. */
export function checkPayload(value: unknown): ReportJobPayload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError('report job payload', 'an object with a model name', value);
  }

  const { model, force, mergePolicy, subject } = value as Record<string, unknown>;
  if (typeof model !== 'string' || model.trim() === '') {
    throw new InvalidOptionError('model', 'a model name such as "qwen2.5-coder:7b"', model);
  }
  if (force !== undefined && typeof force !== 'boolean') {
    throw new InvalidOptionError('force', 'true or false', force);
  }
  if (mergePolicy !== undefined && !MERGE_POLICIES.includes(mergePolicy as MergePolicy)) {
    throw new InvalidOptionError('mergePolicy', MERGE_POLICIES.join(', '), mergePolicy);
  }

  const payload: ReportJobPayload = { model };
  if (force === true) {
    payload.force = true;
  }
  if (mergePolicy !== undefined) {
    payload.mergePolicy = mergePolicy as MergePolicy;
  }
  // A subject is shown by status and watch only, so a wrong type is dropped rather than rejected.
  if (typeof subject === 'string') {
    payload.subject = Array.from(subject).slice(0, MAX_SUBJECT_LENGTH).join('');
  }

  return payload;
}

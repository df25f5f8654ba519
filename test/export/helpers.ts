import { execFileSync } from 'node:child_process';

import { openQueue, type Queue } from '../../src/queue/queue.js';
import type { Report } from '../../src/report/schema.js';
import { MODEL } from '../helpers/report-queue.js';

export interface StoredReportInput {
  /** Title of the report; the other fields are derived from it. */
  title: string;
  subject?: string;
  model?: string;
  /** Replaces fields of the derived report. */
  report?: Partial<Report>;
}

/** Builds a report whose every field names `title`, so a test can find each field in an export. */
export function reportFor(title: string, overrides: Partial<Report> = {}): Report {
  return {
    title,
    summary: `Summary of ${title}.`,
    changes: [`Change one of ${title}`, `Change two of ${title}`],
    rationale: `Rationale of ${title}.`,
    impact_and_tests: `Impact of ${title}.`,
    next_steps: [`Next step of ${title}`],
    tags: ['export', 'tests'],
    ...overrides,
  };
}

/**
 * Stores a report of `sha` through the queue's own path: a job is added, claimed and completed
 * with the report, as the daemon does. Returns the stored report's id.
 */
export function storeReport(queue: Queue, repository: string, sha: string, input: StoredReportInput): string {
  const model = input.model ?? MODEL;
  const subject = input.subject ?? input.title;
  queue.add({ kind: 'report', repository, commitSha: sha, dedupKey: `export-test:${repository}:${sha}:${model}:${Math.random()}`, payload: { model } });
  const claimed = queue.claim('export-test');
  if (!claimed) {
    throw new Error(`the job of ${sha} could not be claimed`);
  }

  const content = {
    report: reportFor(input.title, input.report),
    facts: {
      subject,
      files: [{ path: 'src/app.ts', status: 'modified', additions: 2, deletions: 1, binary: false }],
      totals: { files: 1, additions: 2, deletions: 1 },
      conventional: null,
    },
  };
  const provenance = {
    commit: sha,
    repository,
    model,
    modelDigest: 'sha256:0123',
    serverVersion: '0.12.0',
    numCtx: 8192,
    numPredict: 1024,
    promptVersion: 1,
    schemaVersion: 1,
    stepperVersion: '0.1.0',
    promptTokens: 1000,
    completionTokens: 200,
    durations: { totalNs: 1, loadNs: 0, promptEvalNs: 0, evalNs: 0 },
    elapsedMs: 1500,
    modelCalls: 1,
    coverage: { 'src/app.ts': 'full' },
    redactions: 0,
    truncated: false,
    format: 'schema',
    adjustments: [],
    cacheKey: `key-${sha}-${model}`,
  };

  if (!queue.complete(claimed, { report: { content, provenance, cacheKey: provenance.cacheKey } })) {
    throw new Error(`the job of ${sha} could not be completed`);
  }
  const job = queue.getJob(claimed.id);
  if (!job?.resultId) {
    throw new Error(`the job of ${sha} has no stored report`);
  }
  return job.resultId;
}

/** Opens a writable queue in `dataDir` whose clock a test moves forward, so reports get increasing dates. */
export function openTestQueue(dataDir: string): { queue: Queue; tick(ms?: number): void } {
  let now = Date.parse('2026-03-01T12:00:00Z');
  const queue = openQueue({ dataDir, clock: () => now });
  return {
    queue,
    tick: (ms = 60_000) => {
      now += ms;
    },
  };
}

/** Runs git in `cwd` with user and system configuration ignored and a fixed identity, and returns its output. */
export function gitIn(cwd: string, args: string[], input?: string): string {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.toUpperCase().startsWith('GIT_')) {
      env[name] = value;
    }
  }
  return execFileSync('git', args, {
    cwd,
    env: {
      ...env,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      LC_ALL: 'C',
      GIT_AUTHOR_NAME: 'Note Writer',
      GIT_AUTHOR_EMAIL: 'notes@example.com',
      GIT_COMMITTER_NAME: 'Note Writer',
      GIT_COMMITTER_EMAIL: 'notes@example.com',
    },
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
}

import { createHash } from 'node:crypto';
import fs from 'node:fs';

import { UnrecoverableError } from '../errors.js';
import { type EvidenceSource, readEvidenceSource } from '../evidence/build.js';
import { NotARepositoryError, UnknownRevisionError } from '../git/errors.js';
import { openRepository } from '../git/repository.js';
import type { ChangeIdentity, CommitInfo, MergePolicy, Repository } from '../git/types.js';
import type { OllamaClient } from '../ollama/client.js';
import type { Queue } from '../queue/queue.js';
import type { ClaimedJob, Report as StoredReport } from '../queue/types.js';
import type { Processor, ProcessorContext, ProcessorResult } from '../queue/worker.js';
import {
  type GeneratedReport,
  generateReport,
  type GenerateReportOptions,
  type GitFacts,
  MAX_EVIDENCE_READ_BUDGET,
  type ReportProvenance,
} from './generate.js';
import { checkPayload, REPORT_JOB_KIND, type ReportJobPayload } from './job.js';
import { PROMPT_VERSION } from './prompt.js';
import { type Report, REPORT_SCHEMA_VERSION } from './schema.js';

export { REPORT_JOB_KIND, reportJob, type ReportJobInput, type ReportJobPayload } from './job.js';

/**
 * Queue content of a stored report. Reports keep the schema's own field names, and
 * `facts` contains what git reports about the commit without a model.
 */
export interface ReportContent {
  report: Report;
  facts: GitFacts;
}

/** Provenance of a stored report. `reusedFrom` is set on a copy of another commit's report. */
export interface StoredProvenance extends ReportProvenance {
  cacheKey: string;
  reusedFrom?: { reportId: string; commit: string };
}

/** Inputs that a report's text depends on, so reports made from equal inputs are interchangeable. */
export interface CacheKeyInput {
  identity: ChangeIdentity;
  /** Whole commit message, because a reworded commit keeps its patch-id but may change the rationale. */
  message: string;
  model: string;
  mergePolicy: MergePolicy;
}

/**
 * Computes a report's cache key: a SHA-256 over the change identity (patch-id), the commit
 * message, the model name, the prompt and schema versions and the merge policy. A rebased or
 * cherry-picked commit with an unchanged patch and message gets the same key. The model's
 * digest is left out, so reports survive a re-pull of the same model name, and `--force`
 * regenerates them.
 */
export function reportCacheKey(input: CacheKeyInput): string {
  const message = createHash('sha256').update(input.message).digest('hex');
  const parts = [
    'stepper-report',
    input.identity.source,
    input.identity.id,
    message,
    input.model,
    `prompt-${PROMPT_VERSION}`,
    `schema-${REPORT_SCHEMA_VERSION}`,
    input.mergePolicy,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export interface ReportProcessorOptions {
  queue: Queue;
  client: OllamaClient;
  /** Overrides the client's watchdogs for the chat requests. */
  timeouts?: GenerateReportOptions['timeouts'];
}

/**
 * Maximum number of opened repositories the processor keeps. Opening one costs two git
 * processes, and a daemon usually serves a handful of repositories.
 */
const MAX_OPEN_REPOSITORIES = 32;

/**
 * Creates the queue processor of report jobs. For each job it reads the commit once, with
 * its change identity and the diff for any prompt. It reuses a stored report with the same
 * cache key unless the job forces a new one, and otherwise generates the report with
 * Ollama from that read, publishing progress as `{ phase, call, tokens, tokensPerSecond, elapsedMs }`.
 *
 * Failures steer the queue through their queueAction: Ollama down releases the job without
 * spending an attempt, a missing model, a missing repository or commit and an invalid payload
 * fail it at once, and the rest are retried with backoff.
 */
export function createReportProcessor(options: ReportProcessorOptions): Processor {
  const repositories = new Map<string, Repository>();

  return async (job: ClaimedJob, context: ProcessorContext): Promise<ProcessorResult> => {
    if (job.kind !== REPORT_JOB_KIND) {
      throw new UnrecoverableError(`job ${job.id} has kind ${JSON.stringify(job.kind)}, which the report processor does not handle`);
    }

    const payload = readPayload(job);
    context.updateProgress({ phase: 'reading commit' });
    const repo = await openJobRepository(job, repositories);
    const mergePolicy = payload.mergePolicy ?? 'first-parent';
    const source = await readJobCommit(repo, job, mergePolicy);
    context.signal.throwIfAborted();

    const cacheKey = reportCacheKey({ identity: source.identity, message: messageOf(source.commit), model: payload.model, mergePolicy });

    if (payload.force !== true) {
      const stored = options.queue.findReportByCacheKey(cacheKey);
      if (stored) {
        return reuseReport(stored, job);
      }
    }

    context.signal.throwIfAborted();
    const generated = await generateReport(repo, source.commit.sha, {
      client: options.client,
      model: payload.model,
      signal: context.signal,
      timeouts: options.timeouts,
      mergePolicy,
      evidenceSource: source,
      summaries: { get: (key) => options.queue.getSummary(key), put: (key, value) => options.queue.putSummary(key, value) },
      onProgress: (progress) =>
        context.updateProgress({
          phase: progress.phase,
          call: progress.call,
          tokens: progress.tokens,
          tokensPerSecond: progress.tokensPerSecond ?? null,
          elapsedMs: Math.round(progress.elapsedMs),
          ...(progress.part ? { part: progress.part } : {}),
        }),
    });

    return { report: toNewReport(generated, cacheKey) };
  };
}

function toNewReport(generated: GeneratedReport, cacheKey: string): NonNullable<ProcessorResult['report']> {
  const content: ReportContent = { report: generated.report, facts: generated.git };
  const provenance: StoredProvenance = { ...generated.provenance, cacheKey };
  return { content, cacheKey, provenance };
}

/**
 * Builds the job's result when a report with its cache key exists: the same stored report for
 * the same commit, or a copy for a rebased one, so each commit has a report of its own.
 */
function reuseReport(stored: StoredReport, job: ClaimedJob): ProcessorResult {
  if (stored.repository === job.repository && stored.commitSha === job.commitSha) {
    return { reportId: stored.id };
  }

  const provenance = {
    ...(stored.provenance as StoredProvenance),
    commit: job.commitSha,
    repository: job.repository,
    reusedFrom: { reportId: stored.id, commit: stored.commitSha },
  };
  return { report: { content: stored.content, cacheKey: stored.cacheKey ?? undefined, provenance } };
}

function messageOf(commit: CommitInfo): string {
  return commit.body === '' ? commit.subject : `${commit.subject}\n\n${commit.body}`;
}

function readPayload(job: ClaimedJob): ReportJobPayload {
  try {
    return checkPayload(job.payload);
  } catch (error) {
    throw new UnrecoverableError(`job ${job.id} has an invalid payload: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Opens the job's repository, or reuses the one opened for an earlier job, because opening
 * costs two git processes (a third of a small report's). An entry whose git directory is
 * gone is opened again, so the job fails with NotARepositoryError as it should. The least
 * recently used entry goes when more than MAX_OPEN_REPOSITORIES are open.
 */
async function openJobRepository(job: ClaimedJob, repositories: Map<string, Repository>): Promise<Repository> {
  const known = repositories.get(job.repository);
  repositories.delete(job.repository);
  if (known && fs.existsSync(known.gitDir)) {
    // Set again, so the map's order runs from the least to the most recently used.
    repositories.set(job.repository, known);
    return known;
  }

  try {
    const repo = await openRepository(job.repository);
    repositories.set(job.repository, repo);
    for (const path of repositories.keys()) {
      if (repositories.size <= MAX_OPEN_REPOSITORIES) {
        break;
      }
      repositories.delete(path);
    }
    return repo;
  } catch (error) {
    repositories.delete(job.repository);
    // A repository that was deleted or moved does not come back by retrying.
    if (error instanceof NotARepositoryError) {
      throw new UnrecoverableError(
        `the repository of job ${job.id} is gone: ${error.message}; if it moved, run stepper report again from its new place`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Reads the job's commit for the largest evidence any model can take, so the cache key and
 * every prompt come from one read: four git processes in all for a commit with one parent.
 */
async function readJobCommit(repo: Repository, job: ClaimedJob, mergePolicy: MergePolicy): Promise<EvidenceSource> {
  try {
    return await readEvidenceSource(repo, job.commitSha, { maxTokenBudget: MAX_EVIDENCE_READ_BUDGET, mergePolicy });
  } catch (error) {
    // After a rebase and `git gc`, the old commit may be gone. Its rewritten version has its own job.
    if (error instanceof UnknownRevisionError) {
      throw new UnrecoverableError(`commit ${job.commitSha} of job ${job.id} no longer exists in ${repo.gitDir}`, { cause: error });
    }
    throw error;
  }
}

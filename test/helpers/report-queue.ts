import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Dispatcher } from 'undici';
import { afterEach } from 'vitest';

import { openRepository } from '../../src/git/repository.js';
import { createOllamaClient, type OllamaClient, type OllamaTimeouts } from '../../src/ollama/client.js';
import { resolveOllamaHost } from '../../src/ollama/host.js';
import { openQueue, type OpenQueueOptions, type Queue } from '../../src/queue/queue.js';
import type { Job, JobEvent, Report as StoredReport } from '../../src/queue/types.js';
import { Worker, type WorkerOptions } from '../../src/queue/worker.js';
import { createReportProcessor, reportJob, type ReportJobInput, type StoredProvenance } from '../../src/report/processor.js';
import { startFake } from '../fake-ollama/helpers.js';
import type { FakeOllama, FakeOllamaOptions, RecordedRequest } from '../fake-ollama/server.mjs';
import { numberedLines, RepoBuilder } from './repo-builder.js';
import { makeTempDir } from './temp.js';

export const MODEL = 'qwen2.5-coder:7b';

export interface StandOptions {
  fake?: FakeOllamaOptions;
  /** Watchdogs of the client the processor uses. */
  timeouts?: Partial<OllamaTimeouts>;
  dispatcher?: Dispatcher;
  queue?: OpenQueueOptions;
  worker?: WorkerOptions;
}

/**
 * The real pieces a report job passes through: a SQLite queue in a temporary folder, a Worker
 * running createReportProcessor, an Ollama client and the fake Ollama server on 127.0.0.1.
 */
export interface Stand {
  fake: FakeOllama;
  queue: Queue;
  dataDir: string;
  client: OllamaClient;
  worker: Worker;
  /** Errors the worker emitted and did not rethrow. */
  workerErrors: unknown[];
  /** Moves the queue's clock forward, so a delayed job becomes due without a real wait. */
  advanceClock(ms: number): void;
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  // Newest first: workers stop before their queue closes. Every cleanup runs, and the first failure is raised after them.
  const failures: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      failures.push(error);
    }
  }

  if (failures.length > 0) {
    throw failures[0];
  }
});

/** Starts a fake, a queue and a running worker; all are stopped after the current test. */
export async function startStand(options: StandOptions = {}): Promise<Stand> {
  const fake = await startFake(options.fake);
  const dataDir = makeTempDir('stepper-report-queue-');
  let offsetMs = 0;
  const queue = openQueue({
    dataDir,
    backoff: { delayMs: 20, jitter: 0 },
    clock: () => Date.now() + offsetMs,
    ...options.queue,
  });
  cleanups.push(() => queue.close());

  const client = createOllamaClient({ host: resolveOllamaHost({ OLLAMA_HOST: fake.url }), timeouts: options.timeouts, dispatcher: options.dispatcher });
  const worker = new Worker(queue, createReportProcessor({ queue, client }), { pollIntervalMs: 20, progressIntervalMs: 20, ...options.worker });
  const workerErrors: unknown[] = [];
  worker.on('error', (error) => workerErrors.push(error));
  void worker.run();
  cleanups.push(async () => {
    await worker.close({ graceMs: 0 });
    // The worker emits and swallows errors of its own writes, which would otherwise pass unseen.
    if (workerErrors.length > 0) {
      throw new Error(`the worker emitted ${workerErrors.length} error(s), the first: ${String(workerErrors[0])}`);
    }
  });

  return {
    fake,
    queue,
    dataDir,
    client,
    worker,
    workerErrors,
    advanceClock: (ms) => {
      offsetMs += ms;
      worker.wake();
    },
  };
}

/** Creates an empty repository in a temporary folder, removed after the current test. */
export function newRepo(): RepoBuilder {
  return RepoBuilder.init(path.join(makeTempDir('stepper-report-repo-'), 'repo'));
}

/** Returns the real path of the repository's common git directory, which report jobs name. */
export async function gitDirOf(builder: RepoBuilder): Promise<string> {
  return (await openRepository(builder.dir)).gitDir;
}

/** Adds a report job for `commitSha` and returns its id. */
export async function addReportJob(
  stand: Stand,
  builder: RepoBuilder,
  commitSha: string,
  extra: Partial<ReportJobInput> & { maxAttempts?: number } = {},
): Promise<string> {
  const { maxAttempts, ...input } = extra;
  const job = reportJob({ repository: await gitDirOf(builder), commitSha, model: MODEL, ...input });
  return stand.queue.add({ ...job, ...(maxAttempts === undefined ? {} : { maxAttempts }) }).job.id;
}

/** Polls the queue until the job satisfies `condition`, and fails the test after `timeoutMs`. */
export async function waitForJob(stand: Stand, id: string, condition: (job: Job) => boolean, description: string, timeoutMs = 15_000): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = stand.queue.getJob(id);
    if (job && condition(job)) {
      return job;
    }

    if (Date.now() > deadline) {
      throw new Error(`job ${id} did not become ${description} within ${timeoutMs} ms: ${JSON.stringify(job)}`);
    }

    await sleep(10);
  }
}

/** Waits until the job is completed, failed or cancelled. */
export function waitForFinished(stand: Stand, id: string, timeoutMs?: number): Promise<Job> {
  return waitForJob(stand, id, (job) => ['completed', 'failed', 'cancelled'].includes(job.state), 'finished', timeoutMs);
}

export function eventsOf(stand: Stand, id: string, type?: JobEvent['type']): JobEvent[] {
  return stand.queue.getEvents({ jobId: id }).filter((event) => type === undefined || event.type === type);
}

export function chatRequests(fake: FakeOllama): RecordedRequest[] {
  return fake.requests.filter((request) => request.path === '/api/chat');
}

export function userMessage(request: RecordedRequest | undefined): string {
  const messages = (request?.body?.messages ?? []) as Array<{ role: string; content: string }>;
  return messages.find((message) => message.role === 'user')?.content ?? '';
}

/** Returns the stored report a completed job links, or undefined. */
export function resultOf(stand: Stand, job: Job): StoredReport | undefined {
  return job.resultId === null ? undefined : stand.queue.getReport(job.resultId);
}

export function provenanceOf(report: StoredReport | undefined): StoredProvenance {
  return report?.provenance as StoredProvenance;
}

/** Commits an edit of line `line` of src/app.ts, which the root commit of seedRepo adds. */
export function editApp(builder: RepoBuilder, line: number, message: string): string {
  const text = fs.readFileSync(`${builder.dir}/src/app.ts`, 'utf8').replace(`const value ${line}\n`, `const value ${line} edited\n`);
  builder.write('src/app.ts', text);
  return builder.commit(message);
}

/** Builds a repository whose root commit adds README.md and a 30-line src/app.ts. */
export function seedRepo(): { builder: RepoBuilder; root: string } {
  const builder = newRepo();
  builder.write('README.md', '# Project\n');
  builder.write('src/app.ts', numberedLines(30, 'const value'));
  return { builder, root: builder.commit('Add the app\n') };
}

/** Adds a report job for `sha` and waits until it finishes. */
export async function runReportJob(stand: Stand, builder: RepoBuilder, sha: string, extra: Parameters<typeof addReportJob>[3] = {}) {
  const id = await addReportJob(stand, builder, sha, extra);
  return waitForFinished(stand, id);
}

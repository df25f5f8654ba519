import fs from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { cancelJobs, parseDuration, pruneData, redoStale, retryJobs } from '../../src/api/maintenance.js';
import { openRepository } from '../../src/git/repository.js';
import type { Queue } from '../../src/queue/queue.js';
import { writeSpool } from '../../src/queue/spool.js';
import { PROMPT_VERSION } from '../../src/report/prompt.js';
import { reportJob } from '../../src/report/job.js';
import { DATABASE_FILE } from '../../src/store/data-dir.js';
import {
  addActive,
  addCompleted,
  addFailed,
  addWaiting,
  DAY_MS,
  expectStepperError,
  jobState,
  MODEL,
  openSeededQueue,
  snapshotDatabase,
} from '../helpers/maintenance.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

const queues: Queue[] = [];
afterEach(() => {
  for (const queue of queues.splice(0)) {
    queue.close();
  }
});

interface Scene {
  dataDir: string;
  builder: RepoBuilder;
  repository: string;
  shas: string[];
  queue: Queue;
  at(daysAgo: number): void;
}

async function setUp(commits = 3): Promise<Scene> {
  const root = makeTempDir('stepper-maintenance-');
  const builder = RepoBuilder.init(path.join(root, 'repo'));
  const shas: string[] = [];
  for (let index = 0; index < commits; index += 1) {
    builder.write('file.txt', `version ${index}\n`);
    shas.push(builder.commit(`Change ${index}\n`));
  }

  const dataDir = path.join(root, 'data');
  const seeded = openSeededQueue(dataDir);
  queues.push(seeded.queue);
  return { dataDir, builder, repository: (await openRepository(builder.dir)).gitDir, shas, ...seeded };
}

const common = (scene: Scene) => ({ cwd: scene.builder.dir, dataDir: scene.dataDir, env: {} });

describe('parseDuration', () => {
  it.each([
    ['30d', 30 * DAY_MS],
    ['12h', 12 * 3_600_000],
    ['2w', 14 * DAY_MS],
    ['90m', 90 * 60_000],
    ['45s', 45_000],
  ])('parses %s', (text, expected) => {
    expect(parseDuration('--older-than', text)).toBe(expected);
  });

  it.each(['', '30', 'd', '0d', '-1d', '1.5d', '30 days', '3y', '99999999999999999d'])('rejects %j', (text) => {
    expectStepperError(() => parseDuration('--older-than', text), 'INVALID_OPTION', /--older-than/);
  });

  it.each([
    ['99999999999999w'],
    ['99999999999999999999999s'],
  ])('rejects %s as too large', (text) => {
    const unit = text.slice(-1);
    const maximum = Math.floor(Number.MAX_SAFE_INTEGER / { s: 1000, w: 7 * DAY_MS }[unit as 's' | 'w']);
    expectStepperError(
      () => parseDuration('--older-than', text),
      'INVALID_OPTION',
      new RegExp(`^invalid --older-than: "${text}" is too large; the maximum is ${maximum}${unit}$`),
    );
  });

  it('accepts the maximum duration', () => {
    const maximum = Math.floor(Number.MAX_SAFE_INTEGER / (7 * DAY_MS));
    expect(parseDuration('--older-than', `${maximum}w`)).toBe(maximum * 7 * DAY_MS);
  });
});

describe('retryJobs', () => {
  it('retries one failed job by id', async () => {
    const scene = await setUp();
    const id = addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });

    const result = await retryJobs({ ...common(scene), jobId: id, startDaemon: false });

    expect(result.jobs).toEqual([expect.objectContaining({ jobId: id, previousState: 'failed', state: 'waiting', deduplicated: false })]);
    expect(scene.queue.getJob(id)).toMatchObject({ state: 'waiting', attemptsMade: 0 });
    expect(result.daemon).toBeUndefined();
  });

  it('retries failed jobs of repository', async () => {
    const scene = await setUp();
    const first = addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const second = addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[1] as string });
    const elsewhere = addFailed(scene.queue, { repository: '/elsewhere/.git', sha: scene.shas[2] as string });
    addCompleted(scene.queue, { repository: scene.repository, sha: scene.shas[2] as string });

    const result = await retryJobs({ ...common(scene), failed: true, startDaemon: false });

    expect(result.jobs.map((job) => job.jobId)).toEqual([first, second]);
    expect(scene.queue.getJob(elsewhere)?.state).toBe('failed');
  });

  it('retries every repository with all', async () => {
    const scene = await setUp();
    addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const elsewhere = addFailed(scene.queue, { repository: '/elsewhere/.git', sha: scene.shas[1] as string });

    const result = await retryJobs({ ...common(scene), failed: true, all: true, startDaemon: false });

    expect(result.jobs).toHaveLength(2);
    expect(scene.queue.getJob(elsewhere)?.state).toBe('waiting');
  });

  it('returns live duplicate', async () => {
    const scene = await setUp();
    const failed = addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const live = addWaiting(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });

    const result = await retryJobs({ ...common(scene), jobId: failed, startDaemon: false });

    expect(result.jobs).toEqual([expect.objectContaining({ jobId: live, deduplicated: true, state: 'waiting' })]);
    expect(scene.queue.getJob(failed)?.state).toBe('failed');
  });

  it('rejects completed job', async () => {
    const scene = await setUp();
    const { jobId } = addCompleted(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const before = snapshotDatabase(scene.dataDir);

    await expectStepperError(retryJobs({ ...common(scene), jobId, startDaemon: false }), 'JOB_STATE', /completed: only failed or cancelled/);
    expect(snapshotDatabase(scene.dataDir)).toEqual(before);
  });

  it('rejects bad targets', async () => {
    const scene = await setUp();
    const id = addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const before = snapshotDatabase(scene.dataDir);

    await expectStepperError(retryJobs({ ...common(scene), startDaemon: false }), 'INVALID_OPTION', /needs a job id or --failed/);
    await expectStepperError(retryJobs({ ...common(scene), jobId: id, failed: true, startDaemon: false }), 'INVALID_OPTION', /not both/);
    await expectStepperError(retryJobs({ ...common(scene), jobId: 'nope', startDaemon: false }), 'INVALID_OPTION', /"nope"/);
    await expectStepperError(
      retryJobs({ ...common(scene), jobId: '00000000-0000-4000-8000-000000000000', startDaemon: false }),
      'JOB_NOT_FOUND',
      /00000000-0000-4000-8000-000000000000 not found/,
    );
    expect(snapshotDatabase(scene.dataDir)).toEqual(before);
  });

  it('finds an upper-case job id', async () => {
    const scene = await setUp();
    const id = addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });

    const result = await retryJobs({ ...common(scene), jobId: id.toUpperCase(), startDaemon: false });

    expect(result.jobs).toEqual([expect.objectContaining({ jobId: id, previousState: 'failed', state: 'waiting' })]);
  });

  it('rejects --all without --failed', async () => {
    const scene = await setUp();
    const id = addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const before = snapshotDatabase(scene.dataDir);

    await expectStepperError(
      retryJobs({ ...common(scene), all: true, startDaemon: false }),
      'INVALID_OPTION',
      /^stepper retry --all only goes with --failed: run stepper retry --failed --all, or give a job id without --all$/,
    );
    await expectStepperError(retryJobs({ ...common(scene), jobId: id, all: true, startDaemon: false }), 'INVALID_OPTION', /--all only goes with --failed/);
    expect(snapshotDatabase(scene.dataDir)).toEqual(before);
  });

  it('rejects --failed outside a repository', async () => {
    const scene = await setUp();
    const outside = makeTempDir('stepper-outside-');

    await expectStepperError(retryJobs({ cwd: outside, dataDir: scene.dataDir, env: {}, failed: true, startDaemon: false }), 'NOT_A_REPOSITORY', /add --all/);
  });

  it('retry creates no missing database', async () => {
    const dataDir = path.join(makeTempDir('stepper-empty-'), 'data');

    await expectStepperError(retryJobs({ dataDir, env: {}, jobId: '00000000-0000-4000-8000-000000000000' }), 'JOB_NOT_FOUND', /not found/);
    expect(fs.existsSync(path.join(dataDir, DATABASE_FILE))).toBe(false);
  });
});

describe('cancelJobs', () => {
  it('cancels an active job by id', async () => {
    const scene = await setUp();
    const id = addActive(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });

    const jobs = await cancelJobs({ ...common(scene), jobId: id });

    expect(jobs).toEqual([expect.objectContaining({ jobId: id, previousState: 'active', state: 'cancelled' })]);
    expect(jobState(scene.dataDir, id)).toBe('cancelled');
  });

  it('cancels waiting and delayed jobs', async () => {
    const scene = await setUp();
    const waiting = addWaiting(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const delayed = addWaiting(scene.queue, { repository: scene.repository, sha: scene.shas[1] as string });
    scene.queue.database.prepare(`UPDATE jobs SET state = 'delayed', run_at = ? WHERE id = ?`).run(Date.now() + DAY_MS, delayed);
    const active = addActive(scene.queue, { repository: scene.repository, sha: scene.shas[2] as string });
    const elsewhere = addWaiting(scene.queue, { repository: '/elsewhere/.git', sha: scene.shas[0] as string });

    const jobs = await cancelJobs({ ...common(scene), waiting: true });

    expect(jobs.map((job) => [job.jobId, job.previousState])).toEqual([
      [waiting, 'waiting'],
      [delayed, 'delayed'],
    ]);
    expect(jobState(scene.dataDir, active)).toBe('active');
    expect(jobState(scene.dataDir, elsewhere)).toBe('waiting');
  });

  it('cancels an upper-case job id', async () => {
    const scene = await setUp();
    const id = addWaiting(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });

    const jobs = await cancelJobs({ ...common(scene), jobId: id.toUpperCase() });

    expect(jobs).toEqual([expect.objectContaining({ jobId: id, state: 'cancelled' })]);
  });

  it('rejects --all without --waiting', async () => {
    const scene = await setUp();
    addWaiting(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const before = snapshotDatabase(scene.dataDir);

    await expectStepperError(cancelJobs({ ...common(scene), all: true }), 'INVALID_OPTION', /^stepper cancel --all only goes with --waiting/);
    expect(snapshotDatabase(scene.dataDir)).toEqual(before);
  });

  it('rejects finished job', async () => {
    const scene = await setUp();
    const failed = addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const before = snapshotDatabase(scene.dataDir);

    await expectStepperError(cancelJobs({ ...common(scene), jobId: failed }), 'JOB_STATE', /already failed/);
    await expectStepperError(cancelJobs({ ...common(scene), jobId: failed, waiting: true }), 'INVALID_OPTION', /not both/);
    expect(snapshotDatabase(scene.dataDir)).toEqual(before);
  });
});

describe('pruneData', () => {
  it('removes old finished jobs', async () => {
    const scene = await setUp();
    scene.at(40);
    const old = addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    scene.at(0);
    const young = addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[1] as string });

    const result = pruneData({ dataDir: scene.dataDir, env: {}, olderThan: '30d' });

    expect(result).toMatchObject({ failed: 1, completed: 0, dryRun: false, olderThanMs: 30 * DAY_MS });
    expect(jobState(scene.dataDir, old)).toBeUndefined();
    expect(jobState(scene.dataDir, young)).toBe('failed');
  });

  it('removes ingested spool records', async () => {
    const scene = await setUp();
    const ingestedId = addWaiting(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const ingested = writeSpool(scene.dataDir, { ...reportJob({ repository: scene.repository, commitSha: scene.shas[0] as string, model: MODEL }), id: ingestedId });
    const pending = writeSpool(scene.dataDir, { ...reportJob({ repository: scene.repository, commitSha: scene.shas[1] as string, model: MODEL }), id: '00000000-0000-4000-8000-000000000001' });

    const dry = pruneData({ dataDir: scene.dataDir, env: {}, dryRun: true });
    expect(dry.spoolIngested).toBe(1);
    expect(fs.existsSync(ingested)).toBe(true);

    const result = pruneData({ dataDir: scene.dataDir, env: {} });
    expect(result.spoolIngested).toBe(1);
    expect(fs.existsSync(ingested)).toBe(false);
    expect(fs.existsSync(pending)).toBe(true);
  });

  it('removes old rejected spool files', async () => {
    const scene = await setUp();
    const rejectedDir = path.join(scene.dataDir, 'spool', 'rejected');
    fs.mkdirSync(rejectedDir, { recursive: true });
    const old = path.join(rejectedDir, 'old.json');
    const young = path.join(rejectedDir, 'young.json');
    fs.writeFileSync(old, '{');
    fs.writeFileSync(young, '{');
    const past = new Date(Date.now() - 40 * DAY_MS);
    fs.utimesSync(old, past, past);

    expect(pruneData({ dataDir: scene.dataDir, env: {} }).spoolRejected).toBe(1);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(young)).toBe(true);
  });

  it('rejects bad duration', async () => {
    const scene = await setUp();
    scene.at(40);
    addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    const before = snapshotDatabase(scene.dataDir);

    expectStepperError(() => pruneData({ dataDir: scene.dataDir, env: {}, olderThan: '30 days' }), 'INVALID_OPTION', /"30 days"/);
    expect(snapshotDatabase(scene.dataDir)).toEqual(before);
  });

  it('dry run reports no size after', async () => {
    const scene = await setUp();
    scene.at(40);
    addFailed(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    scene.at(0);

    const dry = pruneData({ dataDir: scene.dataDir, env: {}, dryRun: true });
    const real = pruneData({ dataDir: scene.dataDir, env: {} });

    expect(dry.failed).toBe(1);
    expect(dry.bytesBefore).toBeGreaterThan(0);
    expect(dry.bytesAfter).toBeNull();
    expect(real.bytesAfter).toEqual(expect.any(Number));
  });

  it('prune creates no missing database', () => {
    const dataDir = path.join(makeTempDir('stepper-empty-'), 'data');

    expect(pruneData({ dataDir, env: {} })).toMatchObject({ completed: 0, failed: 0, reports: 0 });
    expect(fs.existsSync(path.join(dataDir, DATABASE_FILE))).toBe(false);
  });
});

describe('redoStale', () => {
  it('dry run queues nothing', async () => {
    const scene = await setUp();
    addCompleted(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string }, { model: 'llama3:8b' });
    addCompleted(scene.queue, { repository: scene.repository, sha: scene.shas[1] as string });
    const before = snapshotDatabase(scene.dataDir);

    const result = await redoStale({ ...common(scene), dryRun: true, startDaemon: false });

    expect(result.model).toEqual({ name: MODEL, source: 'default' });
    expect(result.reports.map((entry) => [entry.commitSha, entry.model, entry.jobId])).toEqual([[scene.shas[0], 'llama3:8b', null]]);
    expect(snapshotDatabase(scene.dataDir)).toEqual(before);
  });

  it('queues forced jobs', async () => {
    const scene = await setUp();
    const old = addCompleted(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string }, { promptVersion: PROMPT_VERSION - 1 });

    const result = await redoStale({ ...common(scene), startDaemon: false });

    const jobId = result.reports[0]?.jobId as string;
    expect(scene.queue.getJob(jobId)).toMatchObject({ state: 'waiting', commitSha: scene.shas[0], payload: { model: MODEL, force: true } });
    expect(scene.queue.getReport(old.reportId)).toBeDefined();
  });

  it('model option sets staleness', async () => {
    const scene = await setUp();
    addCompleted(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string });
    addCompleted(scene.queue, { repository: scene.repository, sha: scene.shas[1] as string }, { model: 'llama3:8b' });

    const result = await redoStale({ ...common(scene), model: 'llama3:8b', startDaemon: false });

    expect(result.model).toEqual({ name: 'llama3:8b', source: '--model' });
    expect(result.reports.map((entry) => entry.commitSha)).toEqual([scene.shas[0]]);
    expect(scene.queue.getJob(result.reports[0]?.jobId as string)?.payload).toMatchObject({ model: 'llama3:8b', force: true });
  });

  it('skips commits that are gone', async () => {
    const scene = await setUp();
    const missingSha = 'f'.repeat(40);
    addCompleted(scene.queue, { repository: scene.repository, sha: missingSha }, { model: 'llama3:8b' });
    addCompleted(scene.queue, { repository: '/no/such/repository/.git', sha: scene.shas[0] as string }, { model: 'llama3:8b' });

    const result = await redoStale({ ...common(scene), all: true, startDaemon: false });

    expect(result.reports.map((entry) => entry.skipped)).toEqual([
      `commit ${missingSha} not found in ${scene.repository}`,
      'repository /no/such/repository/.git not found',
    ]);
    expect(result.reports.every((entry) => entry.jobId === null)).toBe(true);
    expect(scene.queue.getJobs({ states: ['waiting'] })).toEqual([]);
  });

  it('dry run skips commits that are gone', async () => {
    const scene = await setUp();
    addCompleted(scene.queue, { repository: scene.repository, sha: scene.shas[1] as string }, { model: 'llama3:8b' });
    addCompleted(scene.queue, { repository: '/no/such/repository/.git', sha: scene.shas[0] as string }, { model: 'llama3:8b' });
    const before = snapshotDatabase(scene.dataDir);

    const result = await redoStale({ ...common(scene), all: true, dryRun: true, startDaemon: false });

    expect(result.reports.map((entry) => [entry.commitSha, entry.skipped, entry.jobId])).toEqual([
      [scene.shas[1], null, null],
      [scene.shas[0], 'repository /no/such/repository/.git not found', null],
    ]);
    expect(snapshotDatabase(scene.dataDir)).toEqual(before);
  });

  it('rejects bad model name', async () => {
    const scene = await setUp();
    addCompleted(scene.queue, { repository: scene.repository, sha: scene.shas[0] as string }, { model: 'llama3:8b' });
    const before = snapshotDatabase(scene.dataDir);

    await expectStepperError(redoStale({ ...common(scene), model: 'bad name', startDaemon: false }), 'INVALID_OPTION', /"bad name"/);
    expect(snapshotDatabase(scene.dataDir)).toEqual(before);
  });
});

// Enqueueing from many real OS processes on one database file, and the spool that takes
// jobs while another process holds the write lock. The fixtures import the built dist/,
// so run `npm run build` first.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';

import { countSpooled, DATABASE_FILE, openQueue } from '../../src/index.js';
import { type ProcessResult, killLeftoversAfterEach, startFixture, waitForExit, waitForLine } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';

const PROCESS_COUNT = 20;

interface StartedFixture {
  process: ChildProcess;
  exited: Promise<ProcessResult>;
}

/** What enqueue.mjs prints. */
interface EnqueueOutput {
  spooled: boolean;
  jobId: string;
  deduplicated?: boolean;
  file?: string;
  reasonCode?: string;
  elapsedMs: number;
}

const children = killLeftoversAfterEach();

function start(fixture: string, args: string[]): StartedFixture {
  const child = startFixture(`queue/${fixture}`, args);
  children.push(child);
  return { process: child, exited: waitForExit(child) };
}

function commitSha(n: number): string {
  return createHash('sha1').update(`commit ${n}`).digest('hex');
}

function createQueue(dataDir: string): void {
  openQueue({ dataDir }).close();
}

/** Starts PROCESS_COUNT enqueuers, waits until all are loaded, then releases them at once. */
async function enqueueTogether(dataDir: string, shaOf: (n: number) => string): Promise<ProcessResult[]> {
  const started = Array.from({ length: PROCESS_COUNT }, (_, n) => start('enqueue.mjs', [dataDir, shaOf(n), '--wait-for-go']));
  await Promise.all(started.map(({ process }) => waitForLine(process, /^ready$/)));

  for (const { process } of started) {
    process.stdin?.end('go\n');
  }

  return Promise.all(started.map(({ exited }) => exited));
}

/** Parses the JSON line enqueue.mjs prints last, after an optional `ready` line. */
function parseOutput(result: ProcessResult): EnqueueOutput {
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as EnqueueOutput;
}

/** Tells whether another connection holds the write lock, without waiting for it. */
function isWriteLocked(file: string): boolean {
  const db = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return false;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      return true;
    }

    throw error;
  } finally {
    db.close();
  }
}

function completedLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('completed '))
    .map((line) => line.slice('completed '.length));
}

describe('enqueueJob across processes', () => {
  test.each([
    ['an existing database', true],
    ['a database none of them has created', false],
  ])('20 processes, distinct commits, %s', async (_case, existing) => {
    const dataDir = makeTempDir();
    if (existing) {
      createQueue(dataDir);
    }

    const results = await enqueueTogether(dataDir, commitSha);

    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }

    const outputs = results.map(parseOutput);
    expect(outputs.filter((output) => output.spooled)).toEqual([]);
    expect(outputs.filter((output) => output.deduplicated)).toEqual([]);

    const queue = openQueue({ dataDir });
    try {
      const jobs = queue.getJobs({ limit: 100 });
      expect(jobs).toHaveLength(PROCESS_COUNT);
      expect(new Set(jobs.map((job) => job.id))).toEqual(new Set(outputs.map((output) => output.jobId)));
      expect(new Set(jobs.map((job) => job.commitSha)).size).toBe(PROCESS_COUNT);
      expect(queue.getCounts().waiting).toBe(PROCESS_COUNT);
    } finally {
      queue.close();
    }

    expect(countSpooled(dataDir)).toBe(0);
  });

  test('20 processes, one commit', async () => {
    const dataDir = makeTempDir();
    createQueue(dataDir);
    const sha = commitSha(0);

    const results = await enqueueTogether(dataDir, () => sha);

    for (const result of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }

    const outputs = results.map(parseOutput);
    expect(outputs.filter((output) => output.spooled)).toEqual([]);
    expect(new Set(outputs.map((output) => output.jobId)).size).toBe(1);
    expect(outputs.filter((output) => output.deduplicated === true)).toHaveLength(PROCESS_COUNT - 1);
    expect(outputs.filter((output) => output.deduplicated === false)).toHaveLength(1);

    const queue = openQueue({ dataDir });
    try {
      const jobs = queue.getJobs({ limit: 100 });
      expect(jobs).toHaveLength(1);
      expect(jobs[0]?.id).toBe(outputs[0]?.jobId);
      expect(queue.getEvents({ jobId: jobs[0]?.id }).map((event) => event.type)).toEqual(['added']);
    } finally {
      queue.close();
    }

    expect(countSpooled(dataDir)).toBe(0);
  });

  test('held write lock, spool then ingest', async () => {
    const dataDir = makeTempDir();
    createQueue(dataDir);
    const file = path.join(dataDir, DATABASE_FILE);

    const holder = start('holder.mjs', [file]);
    await waitForLine(holder.process, /^locked$/);
    expect(isWriteLocked(file)).toBe(true);

    // The enqueuer uses the default busy timeout, so it gives up on the lock and spools.
    const enqueued = await start('enqueue.mjs', [dataDir, commitSha(0)]).exited;

    // Ordering, not time: the enqueuer has exited while the holder still runs and holds the lock.
    expect(holder.process.exitCode).toBeNull();
    expect(holder.process.signalCode).toBeNull();
    expect(isWriteLocked(file)).toBe(true);

    expect(enqueued.stderr).toBe('');
    expect(enqueued.code).toBe(0);
    const output = parseOutput(enqueued);
    expect(output.spooled).toBe(true);
    expect(output.reasonCode).toBe('DATABASE_BUSY');
    expect(output.jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fs.existsSync(output.file as string)).toBe(true);
    expect(countSpooled(dataDir)).toBe(1);
    console.info(`enqueueJob under a held write lock returned after ${output.elapsedMs.toFixed(0)} ms (busy timeout 1500 ms)`);

    const record = fs.readFileSync(output.file as string, 'utf8');

    holder.process.stdin?.end('release\n');
    const released = await holder.exited;
    expect(released.stderr).toBe('');
    expect(released.code).toBe(0);
    expect(released.stdout).toContain('released');
    expect(isWriteLocked(file)).toBe(false);

    const consumerOptions = JSON.stringify({ exitWhenEmpty: true });
    const first = await start('consumer.mjs', [dataDir, consumerOptions]).exited;
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(completedLines(first.stdout)).toEqual([output.jobId]);
    expect(countSpooled(dataDir)).toBe(0);

    // The record comes back as if the first consumer had died between its insert and its
    // delete, so the second run really ingests the same file again.
    fs.writeFileSync(output.file as string, record);
    const second = await start('consumer.mjs', [dataDir, consumerOptions]).exited;
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`ingested ${JSON.stringify({ jobs: [{ jobId: output.jobId, deduplicated: true }], rejected: 0 })}`);
    expect(completedLines(second.stdout)).toEqual([]);
    expect(countSpooled(dataDir)).toBe(0);

    const queue = openQueue({ dataDir });
    try {
      const jobs = queue.getJobs({ limit: 100 });
      expect(jobs.map((job) => job.id)).toEqual([output.jobId]);
      expect(jobs[0]?.state).toBe('completed');
      expect(jobs[0]?.attemptsMade).toBe(1);

      const events = queue.getEvents({ jobId: output.jobId });
      expect(events.filter((event) => event.type === 'completed')).toHaveLength(1);
      expect(events.filter((event) => event.type === 'added')).toHaveLength(1);

      const reports = queue.database.prepare('SELECT id FROM reports WHERE commit_sha = ?').all(commitSha(0)) as Array<{ id: string }>;
      expect(reports.map((report) => report.id)).toEqual([jobs[0]?.resultId]);
    } finally {
      queue.close();
    }
  });
});

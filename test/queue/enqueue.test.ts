import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { InvalidOptionError, StepperError } from '../../src/errors.js';
import { type EnqueueResult, enqueueJob, enqueueJobs } from '../../src/queue/enqueue.js';
import { type OpenQueueOptions, type Queue, openQueue } from '../../src/queue/queue.js';
import { type SpoolRecord, countSpooled, ingestSpool } from '../../src/queue/spool.js';
import type { NewJob } from '../../src/queue/types.js';
import { DATABASE_FILE, SPOOL_DIR } from '../../src/store/data-dir.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';

type SpooledResult = Extract<EnqueueResult, { spooled: true }>;
type StoredResult = Extract<EnqueueResult, { spooled: false }>;

/** A payload larger than a page, so storing it always needs new pages. */
const LARGE_PAYLOAD = { diff: 'd'.repeat(16 * 1024) };

let savedUmask: number;

// Under umask 0 a spool file keeps exactly the mode it is created with, so a lax mode shows.
beforeEach(() => {
  savedUmask = process.umask(0);
});

afterEach(() => {
  process.umask(savedUmask);
});

function commitJob(sha: string, extra: Partial<NewJob> = {}): NewJob {
  return { kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha(sha), ...extra };
}

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }

  throw new Error('expected the call to throw');
}

/** Runs `action` with `dir` as the current directory, where a relative path would land. */
function inDirectory<T>(dir: string, action: () => T): T {
  const previous = process.cwd();
  process.chdir(dir);
  try {
    return action();
  } finally {
    process.chdir(previous);
  }
}

function withStepperHome<T>(value: string, action: () => T): T {
  const previous = process.env.STEPPER_HOME;
  process.env.STEPPER_HOME = value;
  try {
    return action();
  } finally {
    if (previous === undefined) {
      delete process.env.STEPPER_HOME;
    } else {
      process.env.STEPPER_HOME = previous;
    }
  }
}

function hashFile(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * Opens the queue and caps the file at its current size, so that SQLite fails with
 * SQLITE_FULL as soon as a write needs a new page, as on a full disk.
 */
function openFullQueue(options: OpenQueueOptions): Queue {
  const queue = openQueue(options);
  const pageCount = queue.database.pragma('page_count', { simple: true }) as number;
  queue.database.pragma(`max_page_count = ${pageCount}`);
  return queue;
}

function expectStored(result: EnqueueResult | undefined): StoredResult {
  expect(result?.spooled).toBe(false);
  return result as StoredResult;
}

/** Checks the spool file of a spooled result and returns the result. */
function expectSpooled(result: EnqueueResult | undefined, dataDir: string, reasonCode: string): SpooledResult {
  expect(result?.spooled).toBe(true);
  const spooled = result as SpooledResult;

  expect(spooled.reason).toBeInstanceOf(StepperError);
  expect(spooled.reason.code).toBe(reasonCode);
  expect(spooled.reason.message).toContain(path.join(dataDir, DATABASE_FILE));
  expect(path.dirname(spooled.file)).toBe(path.join(dataDir, SPOOL_DIR));
  expect(fs.statSync(spooled.file).mode & 0o777).toBe(0o600);
  const record = JSON.parse(fs.readFileSync(spooled.file, 'utf8')) as SpoolRecord;
  expect(record.version).toBe(1);
  expect(record.job.id).toBe(spooled.jobId);
  return spooled;
}

/** Ingests the spool into a queue opened normally and checks that each spooled job lands once. */
function expectIngestedOnce(dataDir: string, spooled: readonly SpooledResult[]): Queue {
  const queue = openQueue({ dataDir });

  const first = ingestSpool(queue, dataDir);

  expect(first.rejected).toEqual([]);
  expect(first.ingested.map((entry) => entry.result.job.id)).toEqual(spooled.map((result) => result.jobId));
  expect(first.ingested.map((entry) => entry.result.deduplicated)).toEqual(spooled.map(() => false));
  expect(spooled.map((result) => fs.existsSync(result.file))).toEqual(spooled.map(() => false));
  expect(countSpooled(dataDir)).toBe(0);

  const second = ingestSpool(queue, dataDir);

  expect(second).toEqual({ ingested: [], rejected: [], skipped: [] });
  return queue;
}

describe('enqueueJob', () => {
  it('stores a job in the database', () => {
    const dataDir = makeTempDir();

    const result = expectStored(enqueueJob(commitJob('a1'), { dataDir }));

    expect(result.deduplicated).toBe(false);
    expect(result.job.commitSha).toBe(fakeSha('a1'));
    expect(result.job.state).toBe('waiting');
    expect(countSpooled(dataDir)).toBe(0);
    const queue = openQueue({ dataDir });
    try {
      expect(queue.getJob(result.job.id)).toEqual(result.job);
    } finally {
      queue.close();
    }
  });

  it('creates the data directory', () => {
    const dataDir = path.join(makeTempDir(), 'state', 'stepper');

    expectStored(enqueueJob(commitJob('a1'), { dataDir }));

    expect(fs.existsSync(path.join(dataDir, DATABASE_FILE))).toBe(true);
  });

  it('keeps a given job id', () => {
    const dataDir = makeTempDir();

    const result = expectStored(enqueueJob(commitJob('a1', { id: 'given-id' }), { dataDir }));

    expect(result.job.id).toBe('given-id');
  });

  it('returns the live job for a duplicate', () => {
    const dataDir = makeTempDir();
    const first = expectStored(enqueueJob(commitJob('a1'), { dataDir }));

    const second = expectStored(enqueueJob(commitJob('a1'), { dataDir }));

    expect(second.deduplicated).toBe(true);
    expect(second.job.id).toBe(first.job.id);
  });

  it('spools when the database is full', () => {
    const dataDir = makeTempDir();
    const before = expectStored(enqueueJob(commitJob('a0'), { dataDir }));

    const result = enqueueJob(commitJob('a1', { payload: LARGE_PAYLOAD }), { dataDir, open: openFullQueue });

    const spooled = expectSpooled(result, dataDir, 'DATABASE_FULL');
    expect(spooled.reason.message).toContain('free disk space');

    const queue = expectIngestedOnce(dataDir, [spooled]);
    try {
      expect(queue.getJob(before.job.id)?.commitSha).toBe(fakeSha('a0'));
      expect(queue.getJob(spooled.jobId)?.payload).toEqual(LARGE_PAYLOAD);
      expect(queue.getJobs()).toHaveLength(2);
    } finally {
      queue.close();
    }
  });

  it('spools when the schema is newer', () => {
    const dataDir = makeTempDir();
    const before = expectStored(enqueueJob(commitJob('a0'), { dataDir }));
    const file = path.join(dataDir, DATABASE_FILE);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const hash = hashFile(file);

    const spooled = expectSpooled(enqueueJob(commitJob('a1'), { dataDir }), dataDir, 'SCHEMA_TOO_NEW');

    expect(spooled.reason.message).toContain('upgrade stepper');
    expect(hashFile(file)).toBe(hash);

    // A newer stepper would ingest the spool. The schema is unchanged here, so the old version stands in for it.
    const restore = new Database(file);
    restore.pragma(`user_version = ${SCHEMA_VERSION}`);
    restore.close();
    const queue = expectIngestedOnce(dataDir, [spooled]);
    try {
      expect(queue.getJobs().map((job) => job.id)).toEqual([spooled.jobId, before.job.id]);
    } finally {
      queue.close();
    }
  });

  it('spools when the file is not SQLite', () => {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    fs.writeFileSync(file, 'these are my notes, not a database\n'.repeat(200), { mode: 0o600 });
    const hash = hashFile(file);

    const spooled = expectSpooled(enqueueJob(commitJob('a1'), { dataDir }), dataDir, 'DATABASE_NOT_SQLITE');

    expect(hashFile(file)).toBe(hash);

    // Moving the file aside is the fix the message gives, and the next open creates a new database.
    fs.renameSync(file, `${file}.bad`);
    const queue = expectIngestedOnce(dataDir, [spooled]);
    try {
      expect(queue.getJob(spooled.jobId)?.commitSha).toBe(fakeSha('a1'));
    } finally {
      queue.close();
    }
  });

  it('spools while another connection holds the write lock', () => {
    const dataDir = makeTempDir();
    const before = expectStored(enqueueJob(commitJob('a0'), { dataDir }));
    const holder = new Database(path.join(dataDir, DATABASE_FILE));
    let result: EnqueueResult;
    try {
      holder.exec('BEGIN IMMEDIATE');
      result = enqueueJob(commitJob('a1'), { dataDir, busyTimeoutMs: 200 });
    } finally {
      holder.close();
    }

    const spooled = expectSpooled(result, dataDir, 'DATABASE_BUSY');

    const queue = expectIngestedOnce(dataDir, [spooled]);
    try {
      expect(queue.getJobs().map((job) => job.id)).toEqual([spooled.jobId, before.job.id]);
    } finally {
      queue.close();
    }
  });

  it('throws SPOOL_FAILED when the data directory cannot be created', () => {
    const blocker = path.join(makeTempDir(), 'blocker');
    fs.writeFileSync(blocker, 'a file where a folder should be');
    const dataDir = path.join(blocker, 'stepper');

    let error: unknown;
    try {
      enqueueJob(commitJob('a1', { id: 'lost-job' }), { dataDir });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(StepperError);
    expect((error as StepperError).code).toBe('SPOOL_FAILED');
    expect((error as StepperError).message).toContain('lost-job');
    expect((error as StepperError).message).toContain(`cannot create data directory ${dataDir}`);
    expect((error as StepperError).message).toContain(`to the spool folder ${path.join(dataDir, SPOOL_DIR)}`);
    expect((error as StepperError).message).toContain('move that file aside');
  });

  const cyclic: Record<string, unknown> = { name: 'cycle' };
  cyclic.self = cyclic;

  it.each([
    ['a short commitSha', 'commitSha', { commitSha: 'a1b2c3d' }],
    ['a relative repository', 'repository', { repository: 'repos/app/.git' }],
    ['an empty dedupKey', 'dedupKey', { dedupKey: '' }],
    ['a function payload', 'payload', { payload: () => 1 }],
    ['a symbol payload', 'payload', { payload: Symbol('job') }],
    ['a BigInt in the payload', 'payload', { payload: { count: 1n } }],
    ['a cyclic payload', 'payload', { payload: cyclic }],
  ])('rejects %s without writing anything', (_label, option, extra) => {
    const dataDir = makeTempDir();

    const error = catchError(() => enqueueJob(commitJob('a1', extra as Partial<NewJob>), { dataDir }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).message).toContain(`invalid ${option}:`);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it('rejects an invalid job while the database is broken', () => {
    const dataDir = makeTempDir();
    fs.writeFileSync(path.join(dataDir, DATABASE_FILE), 'not a database\n'.repeat(100), { mode: 0o600 });

    expect(() => enqueueJob(commitJob('a1', { payload: () => 1 }), { dataDir })).toThrow(InvalidOptionError);
    expect(countSpooled(dataDir)).toBe(0);
  });

  it('rejects an invalid busyTimeoutMs without spooling', () => {
    const dataDir = makeTempDir();

    expect(() => enqueueJob(commitJob('a1'), { dataDir, busyTimeoutMs: -1 })).toThrow(InvalidOptionError);
    expect(() => enqueueJob(commitJob('a1'), { dataDir, busyTimeoutMs: 1.5 })).toThrow(/invalid busyTimeoutMs/);
    expect(countSpooled(dataDir)).toBe(0);
  });

  it('rejects an empty dataDir without writing to the current directory', () => {
    const cwd = makeTempDir();

    const error = inDirectory(cwd, () => catchError(() => enqueueJob(commitJob('a1'), { dataDir: '' })));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).message).toContain('invalid dataDir: expected a non-empty path');
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('rejects a relative STEPPER_HOME without writing to the current directory', () => {
    const cwd = makeTempDir();

    const error = withStepperHome('stepper-data', () => inDirectory(cwd, () => catchError(() => enqueueJob(commitJob('a1')))));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).message).toContain('invalid STEPPER_HOME');
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('spools when the file is another program’s database', () => {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    const foreign = new Database(file);
    foreign.exec(`CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('precious')`);
    foreign.close();
    const hash = hashFile(file);

    const spooled = expectSpooled(enqueueJob(commitJob('a1'), { dataDir }), dataDir, 'DATABASE_NOT_SQLITE');

    expect(spooled.reason.message).toContain('stepper did not create');
    expect(hashFile(file)).toBe(hash);
  });
});

describe('enqueueJobs', () => {
  it('stores every job when the database works', () => {
    const dataDir = makeTempDir();

    const results = enqueueJobs([commitJob('a1'), commitJob('a2'), commitJob('a1')], { dataDir });

    expect(results.map((result) => result.spooled)).toEqual([false, false, false]);
    const stored = results.map((result) => expectStored(result));
    expect(stored.map((result) => result.deduplicated)).toEqual([false, false, true]);
    expect(stored[2]?.job.id).toBe(stored[0]?.job.id);
  });

  it('spools the failing job and every later one', () => {
    const dataDir = makeTempDir();
    const inputs = [commitJob('a1', { payload: LARGE_PAYLOAD }), commitJob('a2'), commitJob('a3')];

    const results = enqueueJobs(inputs, { dataDir, open: openFullQueue });

    const spooled = results.map((result) => expectSpooled(result, dataDir, 'DATABASE_FULL'));
    const queue = expectIngestedOnce(dataDir, spooled);
    try {
      // getJobs lists newest first, so the enqueue order shows reversed.
      expect(queue.getJobs().map((job) => job.commitSha)).toEqual(['a3', 'a2', 'a1'].map(fakeSha));
    } finally {
      queue.close();
    }
  });
});

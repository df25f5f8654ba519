import fs from 'node:fs';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DatabaseError } from '../../src/errors.js';
import { type Queue, openQueue } from '../../src/queue/queue.js';
import { type SpoolRecord, countSpooled, ingestSpool, writeSpool } from '../../src/queue/spool.js';
import type { NewJob } from '../../src/queue/types.js';
import { SPOOL_DIR } from '../../src/store/data-dir.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';

const HOUR = 60 * 60 * 1000;

const openQueues: Queue[] = [];

afterEach(() => {
  for (const queue of openQueues.splice(0)) {
    queue.close();
  }
});

function setup(): { dataDir: string; queue: Queue } {
  const dataDir = makeTempDir();
  const queue = openQueue({ dataDir });
  openQueues.push(queue);
  return { dataDir, queue };
}

function spooledJob(id: string, sha = `sha-${id}`, extra: Partial<NewJob> = {}): NewJob & { id: string } {
  return { id, kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha(sha), ...extra };
}

function spoolNames(dataDir: string): string[] {
  return fs.readdirSync(path.join(dataDir, SPOOL_DIR)).sort();
}

function writeRaw(dataDir: string, name: string, content: string): string {
  const file = path.join(dataDir, SPOOL_DIR, name);
  fs.writeFileSync(file, content, { mode: 0o600 });
  return file;
}

describe('writeSpool', () => {
  let savedUmask: number;

  // Under umask 0 a file keeps exactly the mode it is created with, so a lax mode shows.
  beforeEach(() => {
    savedUmask = process.umask(0);
  });

  afterEach(() => {
    process.umask(savedUmask);
  });

  it('writes a 0600 record with the job', () => {
    const dataDir = makeTempDir();
    const job = spooledJob('11111111-1111-4111-8111-111111111111', 'a1', { payload: { files: 3 }, priority: 'high' });

    const file = writeSpool(dataDir, job, 1_700_000_000_000);

    expect(path.dirname(file)).toBe(path.join(dataDir, SPOOL_DIR));
    expect(path.basename(file)).toMatch(/^001700000000000-\d+-.*\.json$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as SpoolRecord;
    expect(record).toEqual({ version: 1, spooledAt: 1_700_000_000_000, job });
  });

  it('creates a missing spool folder with mode 0700', () => {
    const dataDir = makeTempDir();

    writeSpool(dataDir, spooledJob('a'));

    expect(fs.statSync(path.join(dataDir, SPOOL_DIR)).mode & 0o777).toBe(0o700);
  });

  it('leaves no temporary file', () => {
    const dataDir = makeTempDir();

    const file = writeSpool(dataDir, spooledJob('a'));

    expect(spoolNames(dataDir)).toEqual([path.basename(file)]);
  });
});

describe('ingestSpool', () => {
  it('adds records oldest first', () => {
    const { dataDir, queue } = setup();
    writeSpool(dataDir, spooledJob('c'), 3000);
    writeSpool(dataDir, spooledJob('a'), 1000);
    writeSpool(dataDir, spooledJob('b'), 2000);

    const result = ingestSpool(queue, dataDir);

    expect(result.ingested.map((entry) => entry.result.job.id)).toEqual(['a', 'b', 'c']);
    expect(result.rejected).toEqual([]);
    // getJobs lists newest first, so insertion order shows reversed.
    expect(queue.getJobs().map((job) => job.id)).toEqual(['c', 'b', 'a']);
  });

  it('keeps write order within one millisecond', () => {
    const { dataDir, queue } = setup();
    const ids = ['f', 'e', 'd', 'c', 'b', 'a', 'z', 'y'];
    for (const id of ids) {
      writeSpool(dataDir, spooledJob(id), 5000);
    }

    const result = ingestSpool(queue, dataDir);

    expect(result.ingested.map((entry) => entry.result.job.id)).toEqual(ids);
  });

  it('deletes each ingested file', () => {
    const { dataDir, queue } = setup();
    const file = writeSpool(dataDir, spooledJob('a'));

    const result = ingestSpool(queue, dataDir);

    expect(result.ingested.map((entry) => entry.file)).toEqual([file]);
    expect(fs.existsSync(file)).toBe(false);
    expect(spoolNames(dataDir)).toEqual([]);
  });

  it('keeps the job fields', () => {
    const { dataDir, queue } = setup();
    const job = spooledJob('a', 'a1', { payload: { files: 3 }, priority: 'high', maxAttempts: 2 });
    writeSpool(dataDir, job);

    ingestSpool(queue, dataDir);

    const stored = queue.getJob('a');
    expect(stored?.commitSha).toBe(fakeSha('a1'));
    expect(stored?.payload).toEqual({ files: 3 });
    expect(stored?.priority).toBe(1);
    expect(stored?.maxAttempts).toBe(2);
    expect(stored?.state).toBe('waiting');
  });

  it('skips a job id already stored', () => {
    const { dataDir, queue } = setup();
    queue.add(spooledJob('a', 'a1'));
    const file = writeSpool(dataDir, spooledJob('a', 'a1'));

    const result = ingestSpool(queue, dataDir);

    expect(result.ingested).toHaveLength(1);
    expect(result.ingested[0]?.result.deduplicated).toBe(true);
    expect(result.ingested[0]?.result.job.id).toBe('a');
    expect(queue.getJobs()).toHaveLength(1);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('adds a record read twice once', () => {
    const { dataDir, queue } = setup();
    const file = writeSpool(dataDir, spooledJob('a'));
    const copy = fs.readFileSync(file);

    ingestSpool(queue, dataDir);
    // The same file again, as after a crash between the insert and the delete.
    fs.writeFileSync(file, copy);
    const second = ingestSpool(queue, dataDir);

    expect(second.ingested[0]?.result.deduplicated).toBe(true);
    expect(queue.getJobs().map((job) => job.id)).toEqual(['a']);
  });

  it('returns the live job for the same commit', () => {
    const { dataDir, queue } = setup();
    const live = queue.add(spooledJob('live', 'a1')).job;
    writeSpool(dataDir, spooledJob('spooled', 'a1'));

    const result = ingestSpool(queue, dataDir);

    expect(result.ingested[0]?.result.deduplicated).toBe(true);
    expect(result.ingested[0]?.result.job.id).toBe(live.id);
    expect(queue.getJob('spooled')).toBeUndefined();
  });

  it('rejects malformed records and ingests the rest', () => {
    const { dataDir, queue } = setup();
    writeSpool(dataDir, spooledJob('good-1'), 1000);
    const malformed = {
      '000000000002000-1-bad-json.json': '{"version": 1, "job": ',
      '000000000003000-1-version-0.json': JSON.stringify({ version: 0, spooledAt: 3000, job: spooledJob('v0') }),
      '000000000003500-1-version-text.json': JSON.stringify({ version: '2', spooledAt: 3500, job: spooledJob('v-text') }),
      '000000000004000-1-no-job.json': JSON.stringify({ version: 1, spooledAt: 4000 }),
      '000000000005000-1-no-id.json': JSON.stringify({ version: 1, spooledAt: 5000, job: { kind: 'commit-report', repository: '/r', commitSha: 'x' } }),
      '000000000006000-1-no-kind.json': JSON.stringify({ version: 1, spooledAt: 6000, job: { id: 'no-kind', repository: '/r', commitSha: 'x' } }),
      '000000000007000-1-null.json': 'null',
      '000000000008000-1-short-sha.json': JSON.stringify({ version: 1, spooledAt: 8000, job: { ...spooledJob('short'), commitSha: 'abc1234' } }),
    };
    for (const [name, content] of Object.entries(malformed)) {
      writeRaw(dataDir, name, content);
    }
    writeSpool(dataDir, spooledJob('good-2'), 9000);

    const result = ingestSpool(queue, dataDir);

    expect(result.ingested.map((entry) => entry.result.job.id)).toEqual(['good-1', 'good-2']);
    expect(result.rejected.map((entry) => path.basename(entry.file))).toEqual(Object.keys(malformed));
    const rejectedDir = path.join(dataDir, SPOOL_DIR, 'rejected');
    for (const entry of result.rejected) {
      expect(entry.movedTo).toBe(path.join(rejectedDir, path.basename(entry.file)));
      expect(fs.readFileSync(entry.movedTo, 'utf8')).toBe(malformed[path.basename(entry.file) as keyof typeof malformed]);
      expect(fs.existsSync(entry.file)).toBe(false);
      expect(entry.reason).not.toBe('');
    }
    expect(spoolNames(dataDir)).toEqual(['rejected']);
    expect(result.skipped).toEqual([]);
    expect(queue.getJobs().map((job) => job.id).sort()).toEqual(['good-1', 'good-2']);
  });

  it('leaves records of a newer format in place', () => {
    const { dataDir, queue } = setup();
    writeSpool(dataDir, spooledJob('current'), 1000);
    const newer = {
      '000000000002000-1-v2.json': JSON.stringify({ version: 2, spooledAt: 2000, job: spooledJob('v2') }),
      '000000000003000-1-v9.json': JSON.stringify({ version: 9, written: 'by a later stepper' }),
    };
    const files = Object.entries(newer).map(([name, content]) => writeRaw(dataDir, name, content));

    const result = ingestSpool(queue, dataDir);
    const again = ingestSpool(queue, dataDir);

    expect(result.ingested.map((entry) => entry.result.job.id)).toEqual(['current']);
    expect(result.rejected).toEqual([]);
    expect(result.skipped).toEqual([
      { file: files[0], version: 2 },
      { file: files[1], version: 9 },
    ]);
    expect(again.skipped.map((entry) => entry.file)).toEqual(files);
    expect(files.map((file) => fs.readFileSync(file, 'utf8'))).toEqual(Object.values(newer));
    expect(queue.getJob('v2')).toBeUndefined();
    expect(countSpooled(dataDir)).toBe(2);
  });

  it('names the problem in each rejection', () => {
    const { dataDir, queue } = setup();
    writeRaw(dataDir, '1-version.json', JSON.stringify({ version: 1.5, job: spooledJob('v1.5') }));
    writeRaw(dataDir, '2-id.json', JSON.stringify({ version: 1, job: { kind: 'k', repository: '/r', commitSha: 'x' } }));
    writeRaw(dataDir, '3-kind.json', JSON.stringify({ version: 1, job: { id: 'j', repository: '/r', commitSha: 'x' } }));

    const result = ingestSpool(queue, dataDir);

    expect(result.rejected.map((entry) => entry.reason)).toEqual([
      expect.stringContaining('version 1'),
      expect.stringContaining('job.id'),
      expect.stringContaining('kind'),
    ]);
  });

  it('removes an abandoned temporary file', () => {
    const { dataDir, queue } = setup();
    const abandoned = writeRaw(dataDir, '.000000000001000-1-old.json.tmp', '{"version": 1');
    const fresh = writeRaw(dataDir, '.000000000002000-1-new.json.tmp', '{"version": 1');
    const now = Date.now();
    const twoHoursAgo = new Date(now - 2 * HOUR);
    fs.utimesSync(abandoned, twoHoursAgo, twoHoursAgo);

    const result = ingestSpool(queue, dataDir, now);

    expect(fs.existsSync(abandoned)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
    expect(result.ingested).toEqual([]);
    expect(result.rejected).toEqual([]);
  });

  it('leaves files that are not records alone', () => {
    const { dataDir, queue } = setup();
    const notes = writeRaw(dataDir, 'notes.txt', 'kept by the user');

    const result = ingestSpool(queue, dataDir);

    expect(fs.readFileSync(notes, 'utf8')).toBe('kept by the user');
    expect(result).toEqual({ ingested: [], rejected: [], skipped: [] });
  });

  it('returns nothing without a spool folder', () => {
    const { dataDir, queue } = setup();
    fs.rmSync(path.join(dataDir, SPOOL_DIR), { recursive: true });

    const result = ingestSpool(queue, dataDir);

    expect(result).toEqual({ ingested: [], rejected: [], skipped: [] });
  });

  it('keeps the files after a database error', () => {
    const { dataDir, queue } = setup();
    const files = [writeSpool(dataDir, spooledJob('a'), 1000), writeSpool(dataDir, spooledJob('b'), 2000)];
    // The payload needs overflow pages, and max_page_count forbids new ones, as a full disk would.
    const big = writeSpool(dataDir, spooledJob('c', 'c1', { payload: { diff: 'z'.repeat(16 * 1024) } }), 500);
    const pageCount = queue.database.pragma('page_count', { simple: true }) as number;
    queue.database.pragma(`max_page_count = ${pageCount}`);

    let error: unknown;
    try {
      ingestSpool(queue, dataDir);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('DATABASE_FULL');
    expect(fs.existsSync(big)).toBe(true);
    expect(files.map((file) => fs.existsSync(file))).toEqual([true, true]);
    expect(countSpooled(dataDir)).toBe(3);

    const reopened = openQueue({ dataDir });
    openQueues.push(reopened);
    const retry = ingestSpool(reopened, dataDir);

    expect(retry.ingested.map((entry) => entry.result.job.id)).toEqual(['c', 'a', 'b']);
    expect(countSpooled(dataDir)).toBe(0);
  });
});

describe('countSpooled', () => {
  it('counts records only', () => {
    const dataDir = makeTempDir();
    writeSpool(dataDir, spooledJob('a'), 1000);
    writeSpool(dataDir, spooledJob('b'), 2000);
    writeSpool(dataDir, spooledJob('c'), 3000);
    writeRaw(dataDir, '.000000000004000-1-d.json.tmp', '{}');
    writeRaw(dataDir, 'notes.txt', 'not a record');
    fs.mkdirSync(path.join(dataDir, SPOOL_DIR, 'rejected'));
    writeRaw(dataDir, path.join('rejected', 'old.json'), '{}');

    expect(countSpooled(dataDir)).toBe(3);
  });

  it('returns 0 after ingestion', () => {
    const { dataDir, queue } = setup();
    writeSpool(dataDir, spooledJob('a'));
    writeSpool(dataDir, spooledJob('b'));

    ingestSpool(queue, dataDir);

    expect(countSpooled(dataDir)).toBe(0);
  });

  it('returns 0 without a spool folder', () => {
    expect(countSpooled(path.join(makeTempDir(), 'missing'))).toBe(0);
  });
});

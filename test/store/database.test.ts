import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DatabaseError, InvalidOptionError } from '../../src/errors.js';
import { type Queue, openExistingQueue, openQueue } from '../../src/queue/queue.js';
import type { NewJob } from '../../src/queue/types.js';
import { DATABASE_FILE } from '../../src/store/data-dir.js';
import { openDatabase } from '../../src/store/database.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { FIXTURES, waitForExit } from '../helpers/processes.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';

const PAGE_SIZE = 4096;
const NOBODY_ID = 65534;
const RUNS_AS_ROOT = process.getuid?.() === 0;
const OPEN_QUEUE_FIXTURE = path.join(FIXTURES, 'store', 'open-queue.mjs');
const DIST_INDEX = path.resolve(FIXTURES, '..', '..', 'dist', 'index.js');

function commitJob(sha: string, extra: Partial<NewJob> = {}): NewJob {
  return { kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha(sha), ...extra };
}

function hashFile(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function modeOf(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** Returns the shell command of the error messages, which moves the file with its -wal and -shm into `<file>.<label>/`. */
function moveAsideCommand(file: string, label: string): string {
  return `mkdir "${file}.${label}" && mv "${file}" "${file}-wal" "${file}-shm" "${file}.${label}/"`;
}

/** Returns the first command in backquotes of an error message. */
function commandIn(message: string): string {
  const match = /`([^`]+)`/.exec(message);
  if (!match?.[1]) {
    throw new Error(`no command in backquotes in: ${message}`);
  }

  return match[1];
}

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }

  throw new Error('expected the call to throw');
}

/** Creates a database in a new data directory with `count` jobs, closes it and returns the job ids. */
function makeDatabase(count: number, payload: unknown = {}): { dataDir: string; file: string; ids: string[] } {
  // One level below the temporary folder, so that giveToTestUser can open up the parent alone.
  const dataDir = path.join(makeTempDir(), 'data');
  const queue = openQueue({ dataDir });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(queue.add(commitJob(`sha-${i}`, { payload })).job.id);
  }

  queue.close();
  return { dataDir, file: path.join(dataDir, DATABASE_FILE), ids };
}

/** Asserts that every id is stored and that SQLite finds no damage. */
function expectJobsIntact(dataDir: string, ids: readonly string[]): void {
  const queue = openQueue({ dataDir });
  try {
    expect(queue.database.pragma('quick_check', { simple: true })).toBe('ok');
    const stored = new Set(queue.getJobs({ limit: ids.length + 100 }).map((job) => job.id));
    expect(ids.filter((id) => !stored.has(id))).toEqual([]);
  } finally {
    queue.close();
  }
}

describe('openDatabase file modes', () => {
  let savedUmask: number;

  // Under umask 0 a file keeps exactly the mode it is created with, so a lax mode shows.
  beforeEach(() => {
    savedUmask = process.umask(0);
  });

  afterEach(() => {
    process.umask(savedUmask);
  });

  it('creates a new database with mode 0600', () => {
    const file = path.join(makeTempDir(), DATABASE_FILE);

    const { db } = openDatabase(file);
    db.close();

    expect(modeOf(file)).toBe(0o600);
  });

  it('gives -wal and -shm mode 0600 after a write', () => {
    const dataDir = makeTempDir();
    const queue = openQueue({ dataDir });

    try {
      queue.add(commitJob('a1'));

      expect(modeOf(queue.file)).toBe(0o600);
      expect(modeOf(`${queue.file}-wal`)).toBe(0o600);
      expect(modeOf(`${queue.file}-shm`)).toBe(0o600);
    } finally {
      queue.close();
    }
  });

  it('tightens an existing 0644 database to 0600', () => {
    const { file } = makeDatabase(1);
    fs.chmodSync(file, 0o644);

    const { db } = openDatabase(file);
    db.close();

    expect(modeOf(file)).toBe(0o600);
  });

  it('tightens an empty 0644 file to 0600', () => {
    const file = path.join(makeTempDir(), DATABASE_FILE);
    fs.writeFileSync(file, '', { mode: 0o644 });

    const { db } = openDatabase(file);
    db.close();

    expect(modeOf(file)).toBe(0o600);
  });

  it('gives leftover -wal and -shm the database mode', () => {
    const dataDir = makeTempDir();
    // The first connection keeps -wal and -shm in place, as a crashed or read-only process leaves them.
    const holder = openQueue({ dataDir });

    try {
      holder.add(commitJob('a1'));
      fs.chmodSync(`${holder.file}-wal`, 0o400);
      fs.chmodSync(`${holder.file}-shm`, 0o644);

      const { db } = openDatabase(holder.file);
      db.close();

      expect(modeOf(`${holder.file}-wal`)).toBe(0o600);
      expect(modeOf(`${holder.file}-shm`)).toBe(0o600);
    } finally {
      holder.close();
    }
  });
});

describe('openDatabase settings', () => {
  it('uses WAL, synchronous FULL and the current schema', () => {
    const file = path.join(makeTempDir(), DATABASE_FILE);

    const { db, warnings } = openDatabase(file);
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      // SQLite reports synchronous as a number, and 2 is FULL.
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(warnings).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('keeps the settings when reopened', () => {
    const { file } = makeDatabase(3);

    const { db } = openDatabase(file);
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });
});

describe('file that is not SQLite', () => {
  const contents: Array<[string, () => Buffer]> = [
    ['random bytes', () => randomBytes(64 * 1024)],
    ['text', () => Buffer.from('# notes\nthis file is not a database\n'.repeat(50))],
  ];

  it.each(contents)('openQueue rejects %s', (_label, makeContent) => {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    fs.writeFileSync(file, makeContent(), { mode: 0o600 });
    const before = hashFile(file);

    const error = catchError(() => openQueue({ dataDir }));

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('DATABASE_NOT_SQLITE');
    expect((error as DatabaseError).path).toBe(file);
    expect((error as DatabaseError).message).toContain(file);
    expect((error as DatabaseError).message).toContain(moveAsideCommand(file, 'bad'));
    expect(hashFile(file)).toBe(before);
  });

  it('read-only open rejects it too', () => {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    fs.writeFileSync(file, randomBytes(8192), { mode: 0o600 });
    const before = hashFile(file);

    const error = catchError(() => openQueue({ dataDir, readonly: true }));

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('DATABASE_NOT_SQLITE');
    expect((error as DatabaseError).message).toContain(file);
    expect(hashFile(file)).toBe(before);
  });

  it('keeps the mode of the file', () => {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    fs.writeFileSync(file, randomBytes(8192));
    fs.chmodSync(file, 0o644);

    const error = catchError(() => openQueue({ dataDir }));

    expect((error as DatabaseError).code).toBe('DATABASE_NOT_SQLITE');
    expect(modeOf(file)).toBe(0o644);
  });

  it('advised command moves the file with its -wal and -shm', () => {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    fs.writeFileSync(file, randomBytes(8192), { mode: 0o600 });
    const error = catchError(() => openQueue({ dataDir })) as DatabaseError;
    // Left by a worker that crashed: the WAL would hold jobs not yet copied into the main file.
    fs.writeFileSync(`${file}-wal`, randomBytes(4096), { mode: 0o600 });
    fs.writeFileSync(`${file}-shm`, randomBytes(32 * 1024), { mode: 0o600 });
    const hashes = [file, `${file}-wal`, `${file}-shm`].map(hashFile);

    const shell = spawnSync('sh', ['-c', commandIn(error.message)], { encoding: 'utf8' });

    expect(shell.stderr).toBe('');
    expect(shell.status).toBe(0);
    const folder = `${file}.bad`;
    expect(fs.readdirSync(folder).sort()).toEqual([DATABASE_FILE, `${DATABASE_FILE}-shm`, `${DATABASE_FILE}-wal`]);
    expect([DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`].map((name) => hashFile(path.join(folder, name)))).toEqual(hashes);
    expect(fs.readdirSync(dataDir).filter((name) => name.startsWith(`${DATABASE_FILE}-`))).toEqual([]);
    const queue = openQueue({ dataDir });
    queue.close();
  });

  it('advised command moves the file alone', () => {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    fs.writeFileSync(file, randomBytes(8192), { mode: 0o600 });
    const before = hashFile(file);
    const error = catchError(() => openQueue({ dataDir })) as DatabaseError;

    // mv reports the missing -wal and -shm and exits with 1, after moving the file it found.
    spawnSync('sh', ['-c', commandIn(error.message)], { encoding: 'utf8' });

    expect(hashFile(path.join(`${file}.bad`, DATABASE_FILE))).toBe(before);
    const queue = openQueue({ dataDir });
    try {
      expect(queue.getJobs()).toEqual([]);
    } finally {
      queue.close();
    }
  });
});

describe('SQLite database of another program', () => {
  /** Writes a rollback-journal SQLite file with mode 0644, as the sqlite3 shell leaves one. */
  function makeForeignDatabase(sql: string): { dataDir: string; file: string } {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    const db = new Database(file);
    db.exec(sql);
    db.close();
    fs.chmodSync(file, 0o644);
    return { dataDir, file };
  }

  it.each([
    ['a notes table', `CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('precious')`],
    ['its own jobs table', `CREATE TABLE jobs (name TEXT); INSERT INTO jobs VALUES ('backup')`],
  ])('openQueue rejects one with %s', (_label, sql) => {
    const { dataDir, file } = makeForeignDatabase(sql);
    const before = hashFile(file);

    const error = catchError(() => openQueue({ dataDir }));

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('DATABASE_NOT_SQLITE');
    expect((error as DatabaseError).path).toBe(file);
    expect((error as DatabaseError).message).toContain('stepper did not create');
    expect((error as DatabaseError).message).toContain(moveAsideCommand(file, 'foreign'));
    expect(hashFile(file)).toBe(before);
    expect(modeOf(file)).toBe(0o644);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    expect(fs.existsSync(`${file}-shm`)).toBe(false);
  });

  it('read-only open rejects it too', () => {
    const { dataDir, file } = makeForeignDatabase(`CREATE TABLE notes (text TEXT)`);
    const before = hashFile(file);

    const error = catchError(() => openQueue({ dataDir, readonly: true }));

    expect((error as DatabaseError).code).toBe('DATABASE_NOT_SQLITE');
    expect(hashFile(file)).toBe(before);
  });

  it('adopts a SQLite file without tables', () => {
    // A table created and dropped again leaves a valid file of more than one page with no tables.
    const { dataDir, file } = makeForeignDatabase(`CREATE TABLE scratch (x TEXT); DROP TABLE scratch`);
    expect(fs.statSync(file).size).toBeGreaterThan(0);

    const queue = openQueue({ dataDir });
    try {
      expect(queue.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(modeOf(file)).toBe(0o600);
    } finally {
      queue.close();
    }
  });

  it('read-only open of a file without tables reports it empty', () => {
    const { dataDir } = makeForeignDatabase(`CREATE TABLE scratch (x TEXT); DROP TABLE scratch`);

    const error = catchError(() => openQueue({ dataDir, readonly: true }));

    expect((error as DatabaseError).code).toBe('DATABASE_EMPTY');
    expect((error as DatabaseError).message).toContain('has no stepper schema yet');
  });

  it('read-only open of an older schema asks for a write open', () => {
    const { dataDir } = makeForeignDatabase(`${MIGRATIONS[0]}; PRAGMA user_version = 1`);

    const error = catchError(() => openQueue({ dataDir, readonly: true }));

    expect((error as DatabaseError).code).toBe('DATABASE_UNAVAILABLE');
    expect((error as DatabaseError).message).toContain(`schema version 1, older than this stepper's ${SCHEMA_VERSION}`);
    expect((error as DatabaseError).message).toContain('open it once for writing');
  });
});

describe('openDatabase busyTimeoutMs', () => {
  it.each([-1, 1.5, Number.NaN, '100' as unknown as number])('rejects %o before creating the file', (busyTimeoutMs) => {
    const file = path.join(makeTempDir(), DATABASE_FILE);

    const error = catchError(() => openDatabase(file, { busyTimeoutMs }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).message).toContain('invalid busyTimeoutMs: expected an integer >= 0');
    expect(fs.existsSync(file)).toBe(false);
  });

  it('openQueue rejects an invalid one', () => {
    const error = catchError(() => openQueue({ dataDir: makeTempDir(), busyTimeoutMs: -1 }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).message).toContain('busyTimeoutMs');
  });

  it('accepts 0', () => {
    const file = path.join(makeTempDir(), DATABASE_FILE);

    const { db } = openDatabase(file, { busyTimeoutMs: 0 });
    try {
      expect(db.pragma('busy_timeout', { simple: true })).toBe(0);
    } finally {
      db.close();
    }
  });
});

describe('openDatabase pageCacheKiB', () => {
  it('sets cache_size in KiB', () => {
    const file = path.join(makeTempDir(), DATABASE_FILE);

    const { db } = openDatabase(file, { pageCacheKiB: 2048 });
    try {
      expect(db.pragma('cache_size', { simple: true })).toBe(-2048);
    } finally {
      db.close();
    }
  });

  it('keeps the build default without it', () => {
    const file = path.join(makeTempDir(), DATABASE_FILE);

    const { db } = openDatabase(file);
    try {
      expect(db.pragma('cache_size', { simple: true })).toBe(-16000);
    } finally {
      db.close();
    }
  });

  it('applies to a read-only queue', () => {
    const dataDir = makeTempDir();
    openQueue({ dataDir }).close();

    const queue = openQueue({ dataDir, readonly: true, pageCacheKiB: 512 });
    try {
      expect(queue.database.pragma('cache_size', { simple: true })).toBe(-512);
    } finally {
      queue.close();
    }
  });

  it.each([0, -5, 2.5, '2048' as unknown as number])('openQueue rejects %o before creating anything', (pageCacheKiB) => {
    const dataDir = path.join(makeTempDir(), 'stepper');

    const error = catchError(() => openQueue({ dataDir, pageCacheKiB }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).message).toContain('invalid pageCacheKiB: expected an integer >= 1');
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});

describe('corrupted pages', () => {
  const JOB_COUNT = 300;
  const GARBAGE_BYTES = 16 * 1024;

  /** Fills a database, closes it, and overwrites 16 KiB from a jobs table page in the middle of the file. */
  function makeCorruptDatabase(): { dataDir: string; file: string } {
    const { dataDir, file } = makeDatabase(JOB_COUNT, { note: 'x'.repeat(300) });

    // dbstat lists the table's pages, so the garbage lands on pages every full scan of jobs reads.
    // A read-write connection removes the -wal when it closes, and a read-only one would not.
    const db = new Database(file);
    const pages = db
      .prepare(`SELECT pageno FROM dbstat WHERE name = 'jobs' AND pagetype = 'leaf' ORDER BY pageno`)
      .pluck()
      .all() as number[];
    db.close();

    // The -wal must be gone, or SQLite would read the intact copies of the pages from it.
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const middlePage = pages[Math.floor(pages.length / 2)] as number;
    const fd = fs.openSync(file, 'r+');
    try {
      fs.writeSync(fd, Buffer.alloc(GARBAGE_BYTES, 0xa5), 0, GARBAGE_BYTES, (middlePage - 1) * PAGE_SIZE);
    } finally {
      fs.closeSync(fd);
    }

    return { dataDir, file };
  }

  it('verifyIntegrity raises DATABASE_CORRUPT', () => {
    const { dataDir, file } = makeCorruptDatabase();
    const before = hashFile(file);

    const error = catchError(() => openQueue({ dataDir, verifyIntegrity: true }));

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('DATABASE_CORRUPT');
    expect((error as DatabaseError).path).toBe(file);
    expect((error as DatabaseError).message).toContain(file);
    expect((error as DatabaseError).message).toContain(moveAsideCommand(file, 'corrupt'));
    expect((error as DatabaseError).message).toContain("stop stepper's worker");
    expect(hashFile(file)).toBe(before);
  });

  it('reading damaged pages raises DATABASE_CORRUPT', () => {
    const { dataDir, file } = makeCorruptDatabase();
    const before = hashFile(file);

    // Without the check the open succeeds, because it reads only the header and the schema.
    const queue = openQueue({ dataDir });
    let error: unknown;
    try {
      error = catchError(() => queue.getJobs({ limit: JOB_COUNT }));
    } finally {
      queue.close();
    }

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('DATABASE_CORRUPT');
    expect((error as DatabaseError).message).toContain(file);
    expect((error as DatabaseError).message).toContain(moveAsideCommand(file, 'corrupt'));
    expect((error as DatabaseError).message).toContain("stop stepper's worker");
    expect(hashFile(file)).toBe(before);
  });
});

interface ChildOutcome {
  write: { jobId: string } | { error: { name: string; code: string; path: string; message: string } };
  read: { jobIds: string[] } | { error: { name: string; code: string; path: string; message: string } };
}

/**
 * Returns why the read-only tests cannot run, or undefined when they can. Root ignores file
 * modes, so as root the fixture runs as user nobody, who must be able to reach node and dist/.
 */
function readOnlySkipReason(): string | undefined {
  if (!RUNS_AS_ROOT) {
    return undefined;
  }

  const probe = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(DIST_INDEX).href)});`],
    { uid: NOBODY_ID, gid: NOBODY_ID, encoding: 'utf8', cwd: '/' },
  );
  if (probe.status === 0) {
    return undefined;
  }

  const detail = (probe.stderr || probe.error?.message || `exit code ${String(probe.status)}`).split('\n')[0];
  return `running as root, and user nobody (uid ${NOBODY_ID}) cannot load ${DIST_INDEX} with ${process.execPath}: ${detail}`;
}

const READ_ONLY_SKIP_REASON = readOnlySkipReason();
if (READ_ONLY_SKIP_REASON !== undefined) {
  console.warn(`skipping the read-only database tests: ${READ_ONLY_SKIP_REASON}`);
}

/** Hands the data directory to user nobody when running as root, so that its modes apply to the fixture. */
function giveToTestUser(dataDir: string): void {
  if (!RUNS_AS_ROOT) {
    return;
  }

  // makeTempDir's folder is 0700 and owned by root, and user nobody must pass through it.
  fs.chmodSync(path.dirname(dataDir), 0o711);
  const entries = [dataDir, ...fs.readdirSync(dataDir, { recursive: true }).map((name) => path.join(dataDir, String(name)))];
  for (const entry of entries) {
    fs.chownSync(entry, NOBODY_ID, NOBODY_ID);
  }
}

async function runOpenQueueFixture(dataDir: string): Promise<ChildOutcome> {
  const child = spawn(process.execPath, [OPEN_QUEUE_FIXTURE, dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: '/',
    ...(RUNS_AS_ROOT ? { uid: NOBODY_ID, gid: NOBODY_ID } : {}),
  });
  const result = await waitForExit(child);
  if (result.code !== 0) {
    throw new Error(`open-queue fixture exited with ${String(result.code)}: ${result.stderr}`);
  }

  return JSON.parse(result.stdout) as ChildOutcome;
}

describe('read-only database', () => {
  it.skipIf(READ_ONLY_SKIP_REASON !== undefined)('read-only file rejects writes and keeps jobs', async () => {
    const { dataDir, file, ids } = makeDatabase(20);
    giveToTestUser(dataDir);
    fs.chmodSync(file, 0o444);
    const before = hashFile(file);

    const outcome = await runOpenQueueFixture(dataDir);

    expect(outcome.write).toHaveProperty('error');
    const writeError = (outcome.write as Extract<ChildOutcome['write'], { error: unknown }>).error;
    expect(writeError.name).toBe('DatabaseError');
    expect(writeError.code).toBe('DATABASE_READONLY');
    expect(writeError.path).toBe(file);
    expect(writeError.message).toContain(file);
    expect(writeError.message).toContain('writable by your user');
    expect(outcome.read).toEqual({ jobIds: expect.arrayContaining(ids) });
    expect(hashFile(file)).toBe(before);

    // SQLite created the -wal and -shm files with the read-only mode of the database file.
    // Once that file is writable again, the leftover files must not keep the database read-only.
    fs.chmodSync(file, 0o600);
    const retry = await runOpenQueueFixture(dataDir);

    expect(retry.write).toHaveProperty('jobId');
    expectJobsIntact(dataDir, ids);
  });

  it.skipIf(READ_ONLY_SKIP_REASON !== undefined)('read-only folder rejects opening and keeps jobs', async () => {
    const { dataDir, file, ids } = makeDatabase(20);
    giveToTestUser(dataDir);
    fs.chmodSync(dataDir, 0o500);
    const before = hashFile(file);

    let outcome: ChildOutcome;
    try {
      outcome = await runOpenQueueFixture(dataDir);
    } finally {
      fs.chmodSync(dataDir, 0o700);
    }

    expect(outcome.write).toHaveProperty('error');
    const writeError = (outcome.write as Extract<ChildOutcome['write'], { error: unknown }>).error;
    expect(writeError.name).toBe('DatabaseError');
    expect(writeError.code).toBe('DATABASE_READONLY');
    expect(writeError.path).toBe(file);
    expect(writeError.message).toContain(file);
    expect(writeError.message).toContain('its folder writable by your user');
    // A WAL database cannot be read either while SQLite cannot create its -shm file next to it.
    expect(outcome.read).toHaveProperty('error.code', 'DATABASE_READONLY');
    expect(hashFile(file)).toBe(before);
    expectJobsIntact(dataDir, ids);
  });
});

describe('full disk', () => {
  it('raises DATABASE_FULL and keeps stored jobs', () => {
    const dataDir = makeTempDir();
    const queue = openQueue({ dataDir });
    const ids: string[] = [];
    let error: unknown;

    try {
      for (let i = 0; i < 20; i++) {
        ids.push(queue.add(commitJob(`sha-${i}`)).job.id);
      }

      // SQLite fails with SQLITE_FULL once the file would grow past max_page_count, as on a full disk.
      const pageCount = queue.database.pragma('page_count', { simple: true }) as number;
      queue.database.pragma(`max_page_count = ${pageCount}`);

      for (let i = 20; i < 10_000 && error === undefined; i++) {
        try {
          ids.push(queue.add(commitJob(`sha-${i}`, { payload: { note: 'y'.repeat(500) } })).job.id);
        } catch (caught) {
          error = caught;
        }
      }
    } finally {
      queue.close();
    }

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('DATABASE_FULL');
    expect((error as DatabaseError).path).toBe(path.join(dataDir, DATABASE_FILE));
    expect((error as DatabaseError).message).toContain(path.join(dataDir, DATABASE_FILE));
    expect((error as DatabaseError).message).toContain('free disk space');
    expect(ids.length).toBeGreaterThan(20);
    expectJobsIntact(dataDir, ids);
  });
});

describe('newer schema', () => {
  function makeNewerDatabase(): { dataDir: string; file: string } {
    const { dataDir, file } = makeDatabase(2);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    return { dataDir, file };
  }

  it('openQueue raises SCHEMA_TOO_NEW', () => {
    const { dataDir, file } = makeNewerDatabase();
    const before = hashFile(file);

    const error = catchError(() => openQueue({ dataDir }));

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('SCHEMA_TOO_NEW');
    expect((error as DatabaseError).path).toBe(file);
    expect((error as DatabaseError).message).toContain(file);
    expect((error as DatabaseError).message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect((error as DatabaseError).message).toContain('upgrade stepper');
    expect(hashFile(file)).toBe(before);
  });

  it('read-only open raises SCHEMA_TOO_NEW', () => {
    const { dataDir, file } = makeNewerDatabase();
    const before = hashFile(file);

    const error = catchError(() => openQueue({ dataDir, readonly: true }));

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('SCHEMA_TOO_NEW');
    expect((error as DatabaseError).message).toContain('upgrade stepper');
    expect(hashFile(file)).toBe(before);
  });
});

describe('first open of a new file', () => {
  it('several opens create one schema', () => {
    const dataDir = makeTempDir();
    const queues: Queue[] = [];

    try {
      // Each queue opens before any of them writes a job, as several git hooks starting together would.
      for (let i = 0; i < 4; i++) {
        queues.push(openQueue({ dataDir }));
      }

      const ids = queues.map((queue, i) => queue.add(commitJob(`sha-${i}`)).job.id);
      const db = queues[0]?.database as Database.Database;
      const tables = db
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
        .pluck()
        .all();

      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(tables).toEqual(['daemon', 'job_counts', 'job_events', 'jobs', 'reports', 'summaries']);
      expect(queues.map((queue) => queue.getJobs().length)).toEqual([4, 4, 4, 4]);
      expect(new Set(ids).size).toBe(4);
    } finally {
      for (const queue of queues) {
        queue.close();
      }
    }
  });
});

describe('WAL growth', () => {
  it('sets a journal size limit', () => {
    const dataDir = makeTempDir();
    const queue = openQueue({ dataDir });

    try {
      expect(queue.database.pragma('journal_size_limit', { simple: true })).toBe(64 * 1024 * 1024);
      expect(queue.database.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    } finally {
      queue.close();
    }
  });

  it('checkpoint truncates the WAL', () => {
    const dataDir = makeTempDir();
    const queue = openQueue({ dataDir });
    const wal = path.join(dataDir, `${DATABASE_FILE}-wal`);

    try {
      for (let index = 0; index < 300; index++) {
        queue.add(commitJob(`wal${index}`, { payload: { filler: 'x'.repeat(2000) } }));
      }

      expect(fs.statSync(wal).size).toBeGreaterThan(0);
      queue.checkpoint();
      expect(fs.statSync(wal).size).toBe(0);
      expect(queue.getCounts().waiting).toBe(300);
    } finally {
      queue.close();
    }
  });
});

describe('schema migration', () => {
  it('migrates a version 1 database and keeps its rows', async () => {
    const { MIGRATIONS } = await import('../../src/store/migrations.js');
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    const old = new Database(file);
    old.exec(MIGRATIONS[0] as string);
    old.pragma('user_version = 1');
    old.prepare(`INSERT INTO reports (id, kind, repository, commit_sha, content, created_at) VALUES ('r1', 'k', '/r', ?, '{"title":"kept"}', 1)`).run(fakeSha('old'));
    old.close();

    const queue = openQueue({ dataDir });
    try {
      expect(queue.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      const report = queue.getReport('r1');
      expect(report?.content).toEqual({ title: 'kept' });
      expect(report?.cacheKey).toBeNull();
    } finally {
      queue.close();
    }
  });
});

describe('openExistingQueue', () => {
  it('returns undefined without a database file', () => {
    const dataDir = makeTempDir();

    expect(openExistingQueue({ dataDir })).toBeUndefined();
    expect(fs.existsSync(path.join(dataDir, DATABASE_FILE))).toBe(false);
  });

  it('returns undefined for a file not yet migrated', () => {
    // An enqueue creates the file empty first and migrates it a moment later.
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    fs.writeFileSync(file, '', { mode: 0o600 });

    expect(openExistingQueue({ dataDir })).toBeUndefined();
    expect(fs.statSync(file).size).toBe(0);
  });

  it('opens a migrated database read-only', () => {
    const { dataDir, ids } = makeDatabase(3);

    const queue = openExistingQueue({ dataDir });
    try {
      expect(queue).toBeDefined();
      expect(queue?.getJobs({ limit: 10 }).map((job) => job.id).sort()).toEqual([...ids].sort());
      expect(() => queue?.add(commitJob('sha-new'))).toThrow();
    } finally {
      queue?.close();
    }
  });

  it('still rejects a newer schema', () => {
    const { dataDir, file } = makeDatabase(1);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();

    const error = catchError(() => openExistingQueue({ dataDir }));

    expect((error as DatabaseError).code).toBe('SCHEMA_TOO_NEW');
  });
});

import fs from 'node:fs';
import path from 'node:path';

import { InvalidOptionError, StepperError } from '../errors.js';
import { SPOOL_DIR } from '../store/data-dir.js';
import type { Queue } from './queue.js';
import type { AddResult, NewJob } from './types.js';

/**
 * A job written to a file because the database could not take it. The file name starts
 * with the time, so ingestion keeps the order in which jobs were enqueued.
 */
export interface SpoolRecord {
  version: 1;
  spooledAt: number;
  job: NewJob & { id: string };
}

export interface IngestResult {
  ingested: Array<{ file: string; result: AddResult }>;
  /** Files that are not valid spool records, moved to `spool/rejected/` for inspection. */
  rejected: Array<{ file: string; movedTo: string; reason: string }>;
  /** Records written by a newer stepper, left in place for a stepper that can read them. */
  skipped: Array<{ file: string; version: unknown }>;
}

/** Format version of the records this stepper writes. */
const SPOOL_VERSION = 1;

/** A temporary file older than this was left by a writer that died before its rename. */
const ABANDONED_TMP_AGE_MS = 60 * 60_000;

/** Counts records this process wrote, so that names written in one millisecond sort in write order. */
let writeSequence = 0;

/**
 * Writes `job` durably to the spool folder: a temporary file is written, synced and
 * renamed into place, so a reader sees either nothing or the whole record.
 * Returns the path of the record.
 */
export function writeSpool(dataDir: string, job: NewJob & { id: string }, now = Date.now()): string {
  const dir = path.join(dataDir, SPOOL_DIR);
  writeSequence += 1;
  const name = `${String(now).padStart(15, '0')}-${process.pid}-${String(writeSequence).padStart(9, '0')}-${job.id}.json`;
  const target = path.join(dir, name);
  const temporary = path.join(dir, `.${name}.tmp`);
  const record: SpoolRecord = { version: SPOOL_VERSION, spooledAt: now, job };

  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

    const fd = fs.openSync(temporary, 'wx', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(record));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }

    fs.renameSync(temporary, target);
    syncDirectory(dir);
    return target;
  } catch (error) {
    try {
      fs.rmSync(temporary, { force: true });
    } catch {
      // The write error is the one to report, even when removal fails too, as under a path that is a file.
    }

    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new StepperError('SPOOL_FAILED', `cannot write job ${job.id} to the spool folder ${dir} (${code})`, {
      cause: error,
    });
  }
}

/**
 * Moves every spool record into the queue, oldest first, then deletes its file. A record
 * keeps the job id given at spool time, so a file read twice (a crash between the insert
 * and the delete, or two ingesters at once) adds the job once. Database errors propagate
 * and leave the remaining files in place for the next run.
 */
export function ingestSpool(queue: Queue, dataDir: string, now = Date.now()): IngestResult {
  const dir = path.join(dataDir, SPOOL_DIR);
  const result: IngestResult = { ingested: [], rejected: [], skipped: [] };

  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return result;
    }

    throw error;
  }

  for (const name of names) {
    const file = path.join(dir, name);
    if (name.startsWith('.') && name.endsWith('.tmp')) {
      removeIfAbandoned(file, now);
      continue;
    }

    if (!name.endsWith('.json')) {
      continue;
    }

    const text = readIfPresent(file);
    if (text === undefined) {
      continue;
    }

    try {
      const record = parseSpoolRecord(text);
      if (record === 'newer') {
        result.skipped.push({ file, version: spoolVersion(text) });
        continue;
      }

      const added = queue.add(record.job);
      result.ingested.push({ file, result: added });
    } catch (error) {
      if (!(error instanceof InvalidOptionError) && !(error instanceof SyntaxError)) {
        throw error;
      }

      result.rejected.push({ file, movedTo: reject(dir, name), reason: error.message });
      continue;
    }

    fs.rmSync(file, { force: true });
  }

  return result;
}

/** Returns whether a record of the job with `jobId` waits in the spool folder. */
export function isSpooled(dataDir: string, jobId: string): boolean {
  try {
    return fs.readdirSync(path.join(dataDir, SPOOL_DIR)).some((name) => name.endsWith(`-${jobId}.json`) && !name.startsWith('.'));
  } catch {
    return false;
  }
}

/** Counts the records waiting in the spool folder. */
export function countSpooled(dataDir: string): number {
  try {
    return fs.readdirSync(path.join(dataDir, SPOOL_DIR)).filter((name) => name.endsWith('.json') && !name.startsWith('.')).length;
  } catch {
    return 0;
  }
}

/** Parses a record, or returns 'newer' for a record of a later format version. */
function parseSpoolRecord(text: string): SpoolRecord | 'newer' {
  const record = JSON.parse(text) as Partial<SpoolRecord> | null;
  const version = (record as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && Number.isInteger(version) && version > SPOOL_VERSION) {
    return 'newer';
  }

  if (record?.version !== 1 || typeof record.job !== 'object' || record.job === null) {
    throw new InvalidOptionError('spool record', 'an object with version 1 and a job', record?.version);
  }

  if (typeof record.job.id !== 'string' || record.job.id.length === 0) {
    throw new InvalidOptionError('spool record job.id', 'a non-empty string', record.job.id);
  }

  return record as SpoolRecord;
}

function spoolVersion(text: string): unknown {
  return (JSON.parse(text) as { version?: unknown }).version;
}

function readIfPresent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    // Another ingester took the file between readdir and read.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }

    throw error;
  }
}

function reject(dir: string, name: string): string {
  const rejectedDir = path.join(dir, 'rejected');
  const target = path.join(rejectedDir, name);
  fs.mkdirSync(rejectedDir, { recursive: true, mode: 0o700 });
  fs.renameSync(path.join(dir, name), target);
  return target;
}

function removeIfAbandoned(file: string, now: number): void {
  try {
    if (now - fs.statSync(file).mtimeMs > ABANDONED_TMP_AGE_MS) {
      fs.rmSync(file, { force: true });
    }
  } catch {
    // Gone already, or renamed into place meanwhile.
  }
}

function syncDirectory(dir: string): void {
  // The rename is durable only once the directory entry is synced. Some filesystems
  // refuse fsync on a directory; the record itself is synced already.
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // NOTE: without the directory sync a power loss right after the rename may lose the entry.
  }
}

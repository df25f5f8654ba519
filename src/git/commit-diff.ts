import { StepperError } from '../errors.js';
import { buildChanges } from './changes.js';
import { COMMIT_FIELDS, FULL_OBJECT_ID, parseCommitFields, readShallowCommits } from './commit.js';
import { parseDiffTreeOutput } from './diff-tree-output.js';
import { GitError } from './errors.js';
import { streamGit } from './git.js';
import { PATCH_ARGS } from './patch-id.js';
import { objectContext } from './repository.js';
import type { CommitInfo, FileChange, Repository } from './types.js';

/** A commit read by one `git diff-tree` process: its metadata, its file listing, then its patch. */
export interface CommitDiff {
  commit: CommitInfo;
  /**
   * The changed files against the first parent, or the empty tree for a root commit, as
   * readChanges lists them without line counts. Null for a merge: git prints no diff for
   * a merge in this form, so the caller reads it with readChanges and its merge policy.
   */
  files: FileChange[] | null;
  /**
   * The patch, byte for byte what `git diff-tree` with PATCH_ARGS prints for the same
   * commit, so it can feed `git patch-id`. It is an async generator, so it is read once.
   */
  patch: AsyncIterable<Buffer>;
  /** Stops git when the patch is not read to its end. */
  close(): Promise<void>;
}

/**
 * Arguments of the single read, before the commit id. `--always` prints the metadata of an
 * empty commit and of a merge too. Under `-z` the output starts with the COMMIT_FIELDS
 * values, each followed by NUL: `tformat` ends the last one too, which separates it from
 * the listing. When the commit changed anything, a newline, the `--raw` records, one more
 * NUL and the patch follow. Rename and copy detection are PATCH_ARGS', which are also the
 * listing's in readChanges. Exported for the evidence benchmark.
 */
export const COMMIT_DIFF_ARGS = [
  'diff-tree',
  '--always',
  '-z',
  '--raw',
  '--date=raw',
  `--format=tformat:${COMMIT_FIELDS.join('%x00')}`,
  ...PATCH_ARGS.filter((arg) => arg !== '--no-commit-id'),
  '--root',
];

const NUL = 0x00;
const NEWLINE = 0x0a;

/**
 * Reads commit `sha` with one git process where readCommit, readChanges and a patch read
 * would take three. Returns null when this form cannot stand in for them, and the caller
 * then uses those functions, which name the error. That is the case when `sha` is not a
 * full commit id or names a tree or a tag, and for a commit on a shallow clone's boundary,
 * which git would show as a root commit. It is also the case when git fails before the
 * listing is read, for example on an unknown commit or a missing parent.
 */
export async function readCommitDiff(repo: Repository, sha: string): Promise<CommitDiff | null> {
  if (typeof sha !== 'string' || !FULL_OBJECT_ID.test(sha) || readShallowCommits(repo).has(sha)) {
    return null;
  }

  const stream = streamGit(objectContext(repo), [...COMMIT_DIFF_ARGS, sha]);
  const reader = new PrefixReader(stream);
  const close = async (): Promise<void> => {
    await stream.return(undefined);
  };

  let commit: CommitInfo;
  let files: FileChange[] | null;
  try {
    const headerEnd = await reader.findNul(COMMIT_FIELDS.length);
    if (headerEnd === -1 && reader.buffer.length === 0) {
      // git prints nothing, and exits with 0, for the id of a tree.
      return null;
    }
    if (headerEnd === -1) {
      throw malformed(`the output ends inside the commit's ${COMMIT_FIELDS.length} fields`);
    }
    // The last field's NUL is a terminator, not a separator, so it is left out of the split.
    commit = parseCommitFields(reader.buffer.subarray(0, headerEnd - 1).toString('utf8').split('\0'));
    if (commit.sha !== sha) {
      // An annotated tag's id shows the commit it points to, which readCommit rejects.
      await close();
      return null;
    }

    files = await readListing(reader, headerEnd, commit);
  } catch (error) {
    await close();
    if (error instanceof GitError) {
      return null;
    }
    throw error;
  }

  const rest = reader.buffer.subarray(reader.consumed);
  async function* patch(): AsyncGenerator<Buffer, void, undefined> {
    if (rest.length > 0) {
      yield rest;
    }
    for (let next = await stream.next(); !next.done; next = await stream.next()) {
      yield next.value;
    }
  }

  return { commit, files, patch: patch(), close };
}

/** Parses the `--raw` records after the commit's fields and marks the bytes up to the patch consumed. */
async function readListing(reader: PrefixReader, headerEnd: number, commit: CommitInfo): Promise<FileChange[] | null> {
  const hasDiff = await reader.fill(headerEnd + 1);
  if (!hasDiff) {
    reader.consumed = headerEnd;
    return commit.parents.length > 1 ? null : [];
  }
  if (reader.buffer[headerEnd] !== NEWLINE) {
    throw malformed('no newline after the commit fields');
  }

  // Paths are never empty, so the first empty field (two NULs in a row) ends the listing.
  const listingStart = headerEnd + 1;
  const separator = await reader.findDoubleNul(listingStart);
  const listingEnd = separator === -1 ? reader.buffer.length : separator + 1;
  reader.consumed = separator === -1 ? reader.buffer.length : separator + 2;

  const files = buildChanges(parseDiffTreeOutput(reader.buffer.subarray(listingStart, listingEnd)));
  return commit.parents.length > 1 ? null : files;
}

/** Buffers the start of a stream until a parser has found what it needs there. */
class PrefixReader {
  buffer: Buffer = Buffer.alloc(0);
  /** Bytes of `buffer` the parser has used; the rest belongs to the patch. */
  consumed = 0;
  #ended = false;
  #source: AsyncIterator<Buffer>;

  constructor(source: AsyncIterator<Buffer>) {
    this.#source = source;
  }

  /** Reads until `buffer` contains at least `length` bytes; returns false when the stream ends first. */
  async fill(length: number): Promise<boolean> {
    while (this.buffer.length < length) {
      if (!(await this.#pull())) {
        return false;
      }
    }
    return true;
  }

  /** Returns the index just after the `count`-th NUL, or -1 when the stream ends before it. */
  async findNul(count: number): Promise<number> {
    let found = 0;
    let from = 0;
    for (;;) {
      for (let index = this.buffer.indexOf(NUL, from); index !== -1; index = this.buffer.indexOf(NUL, from)) {
        found += 1;
        from = index + 1;
        if (found === count) {
          return from;
        }
      }
      if (!(await this.#pull())) {
        return -1;
      }
    }
  }

  /**
   * Returns the index of the first of two NULs in a row at or after `start`, or -1 when the
   * stream ends first. A NUL at `start` itself counts as the second of a pair.
   */
  async findDoubleNul(start: number): Promise<number> {
    if ((await this.fill(start + 1)) && this.buffer[start] === NUL) {
      // An empty listing: the separator follows the newline at once.
      return start - 1;
    }

    let from = start;
    for (;;) {
      const index = this.buffer.indexOf('\0\0', from);
      if (index !== -1) {
        return index;
      }
      // The pair may straddle two chunks, so the search resumes one byte back.
      from = Math.max(start, this.buffer.length - 1);
      if (!(await this.#pull())) {
        return -1;
      }
    }
  }

  async #pull(): Promise<boolean> {
    if (this.#ended) {
      return false;
    }
    const next = await this.#source.next();
    if (next.done) {
      this.#ended = true;
      return false;
    }
    this.buffer = this.buffer.length === 0 ? next.value : Buffer.concat([this.buffer, next.value]);
    return true;
  }
}

function malformed(detail: string): StepperError {
  return new StepperError('GIT_FAILED', `cannot parse git diff-tree output: ${detail}`);
}

import { createHash } from 'node:crypto';

import { InvalidOptionError, StepperError } from '../errors.js';
import { GitError } from '../git/errors.js';
import { readGit, runGit } from '../git/git.js';
import { objectContext } from '../git/repository.js';
import type { Repository } from '../git/types.js';
import type { ExportEntry } from './collect.js';
import { isStepperNote, renderNoteText } from './note-text.js';

export const DEFAULT_NOTES_REF = 'refs/notes/stepper';

/** Message of the notes commit, in the form `git notes add` uses. */
const NOTES_COMMIT_MESSAGE = "Notes added by 'stepper export'\n";

/** Identity of the notes commit when git has none configured, so an export works without user.name and user.email. */
const FALLBACK_IDENTITY = 'stepper <stepper@localhost>';

export interface WriteNotesOptions {
  /** The notes ref, already expanded and checked with {@link resolveNotesRef}. */
  ref: string;
  /** Called after the tip is read and before fast-import starts; tests move the ref here to provoke a conflict. */
  beforeWrite?: () => Promise<void> | void;
}

export interface NotesResult {
  ref: string;
  /** Notes added or replaced. */
  written: number;
  /** Notes that already had the exported text. */
  unchanged: number;
  /** Commits whose note on the ref was not written by stepper, and was kept as it was. */
  foreign: string[];
  /** The new notes commit, or null when nothing changed and no commit was made. */
  commit: string | null;
  /** The ref's value before the export, or null when it did not exist. */
  previousTip: string | null;
}

/**
 * Expands a notes ref as `git notes --ref` does (`stepper` and `notes/stepper` both mean
 * `refs/notes/stepper`) and checks it with `git check-ref-format`.
 *
 * @throws InvalidOptionError naming `--ref` when git rejects the name
 */
export async function resolveNotesRef(value: string): Promise<string> {
  const expanded = value.startsWith('refs/notes/') ? value : value.startsWith('notes/') ? `refs/${value}` : `refs/notes/${value}`;
  const expected = 'a notes ref such as refs/notes/stepper, in the form `git check-ref-format` accepts';
  if (value.trim() === '' || expanded === 'refs/notes/') {
    throw new InvalidOptionError('--ref', expected, value);
  }

  try {
    await runGit({ cwd: process.cwd() }, ['check-ref-format', expanded]);
  } catch (error) {
    if (error instanceof GitError && error.exitCode !== null) {
      throw new InvalidOptionError('--ref', expected, value);
    }
    throw error;
  }
  return expanded;
}

/**
 * Writes one note per entry on the notes ref with a single `git fast-import` run: one commit
 * whose parent is the ref's current tip, with an `N` command per changed note. fast-import
 * spreads the notes over fan-out folders as `git notes` does. Notes of other commits stay.
 * A note that stepper did not write is kept and reported in `foreign`. When every note has
 * its text already, no commit is made.
 *
 * @throws StepperError with code NOTES_REF_MOVED when another process updated the ref meanwhile
 */
export async function writeNotes(repo: Repository, entries: readonly ExportEntry[], options: WriteNotesOptions): Promise<NotesResult> {
  const context = objectContext(repo);
  const ref = options.ref;
  const previousTip = await readTip(repo, ref);
  const result: NotesResult = { ref, written: 0, unchanged: 0, foreign: [], commit: null, previousTip };

  const objectFormat = (await runGit(context, ['rev-parse', '--show-object-format'])).trim();
  const existing = previousTip === null ? new Map<string, string>() : await listNotes(repo, previousTip);

  const changed: Array<{ sha: string; text: string }> = [];
  const replaced: Array<{ sha: string; blob: string }> = [];
  for (const entry of entries) {
    const text = renderNoteText(entry.report);
    const current = existing.get(entry.commit.sha);
    if (current === hashBlob(text, objectFormat)) {
      result.unchanged++;
      continue;
    }
    if (current !== undefined) {
      replaced.push({ sha: entry.commit.sha, blob: current });
    }
    changed.push({ sha: entry.commit.sha, text });
  }

  // Only the notes about to be replaced are read, because their text decides whether stepper wrote them.
  const foreign = new Set<string>();
  const texts = await readBlobs(repo, replaced.map((note) => note.blob));
  for (const note of replaced) {
    if (!isStepperNote(texts.get(note.blob) ?? '')) {
      foreign.add(note.sha);
    }
  }
  result.foreign = [...foreign];

  const writes = changed.filter((note) => !foreign.has(note.sha));
  if (writes.length === 0) {
    return result;
  }

  await options.beforeWrite?.();
  result.commit = await importNotes(repo, ref, previousTip, writes);
  result.written = writes.length;
  return result;
}

async function readTip(repo: Repository, ref: string): Promise<string | null> {
  try {
    return (await runGit(objectContext(repo), ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim();
  } catch (error) {
    if (error instanceof GitError && error.exitCode === 1) {
      return null;
    }
    throw error;
  }
}

/** Reads the notes tree of `tip`: note blob by annotated object id. Paths are fanned out as `ab/cdef…`. */
async function listNotes(repo: Repository, tip: string): Promise<Map<string, string>> {
  const output = await readGit(objectContext(repo), ['ls-tree', '-r', '-z', '--end-of-options', tip]);
  const notes = new Map<string, string>();
  for (const record of output.toString('utf8').split('\0')) {
    const match = /^\d+ blob ([0-9a-f]+)\t(.+)$/s.exec(record);
    if (!match?.[1] || !match[2]) {
      continue;
    }
    const annotated = match[2].replace(/\//g, '');
    if (/^[0-9a-f]+$/.test(annotated)) {
      notes.set(annotated, match[1]);
    }
  }
  return notes;
}

/** Reads blobs with one `git cat-file --batch` call. */
async function readBlobs(repo: Repository, blobs: readonly string[]): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  const unique = [...new Set(blobs)];
  if (unique.length === 0) {
    return texts;
  }

  const output = await readGit(objectContext(repo), ['cat-file', '--batch'], { input: `${unique.join('\n')}\n` });
  let offset = 0;
  while (offset < output.length) {
    const headerEnd = output.indexOf(0x0a, offset);
    const [name = '', , size = ''] = output.subarray(offset, headerEnd).toString('utf8').split(' ');
    const length = Number(size);
    if (headerEnd === -1 || !Number.isInteger(length)) {
      break;
    }
    texts.set(name, output.subarray(headerEnd + 1, headerEnd + 1 + length).toString('utf8'));
    offset = headerEnd + 1 + length + 1;
  }
  return texts;
}

/** Computes the id git gives a blob with this content, in the repository's object format. */
function hashBlob(text: string, objectFormat: string): string {
  const content = Buffer.from(text, 'utf8');
  return createHash(objectFormat === 'sha256' ? 'sha256' : 'sha1')
    .update(`blob ${content.length}\0`)
    .update(content)
    .digest('hex');
}

/**
 * Runs `git fast-import` once and returns the new notes commit. fast-import refuses to move a
 * ref to a commit that does not contain its current value, so a ref updated by another
 * process after `previousTip` was read is left alone and the export fails.
 */
async function importNotes(repo: Repository, ref: string, previousTip: string | null, notes: ReadonlyArray<{ sha: string; text: string }>): Promise<string> {
  const identity = await readCommitterIdentity(repo);
  const chunks: Buffer[] = [];
  const push = (text: string): void => {
    chunks.push(Buffer.from(text, 'utf8'));
  };

  push('feature done\n');
  push(`commit ${ref}\nmark :1\ncommitter ${identity}\n`);
  push(`data ${Buffer.byteLength(NOTES_COMMIT_MESSAGE)}\n${NOTES_COMMIT_MESSAGE}`);
  if (previousTip !== null) {
    push(`from ${previousTip}\n`);
  }
  for (const note of notes) {
    push(`N inline ${note.sha}\ndata ${Buffer.byteLength(note.text)}\n${note.text}\n`);
  }
  push('\nget-mark :1\ndone\n');

  let output: Buffer;
  try {
    output = await readGit(objectContext(repo), ['fast-import', '--quiet'], { input: Buffer.concat(chunks) });
  } catch (error) {
    if (error instanceof GitError && /Not updating/.test(error.stderr)) {
      throw new StepperError(
        'NOTES_REF_MOVED',
        `${ref} was updated by another process during the export, so it was left as it was: run \`stepper export\` again`,
        { cause: error },
      );
    }
    throw error;
  }

  const commit = output.toString('utf8').trim();
  const tip = await readTip(repo, ref);
  if (tip !== commit) {
    throw new StepperError('NOTES_REF_MOVED', `${ref} points to ${tip ?? 'nothing'} after the export, not to the new notes commit ${commit}: run \`stepper export\` again`);
  }
  return commit;
}

/** Returns `Name <email> <epoch> <offset>` as git would record the committer, or stepper's own identity when none is configured. */
async function readCommitterIdentity(repo: Repository): Promise<string> {
  try {
    return (await runGit(objectContext(repo), ['var', 'GIT_COMMITTER_IDENT'])).trim();
  } catch (error) {
    if (error instanceof GitError && error.exitCode !== null) {
      return `${FALLBACK_IDENTITY} ${Math.floor(Date.now() / 1000)} +0000`;
    }
    throw error;
  }
}

import type { Writable } from 'node:stream';

import { InvalidOptionError, StepperError } from '../errors.js';
import { type GitContext, spawnGit } from './git.js';

/** An object as `git cat-file --batch` prints it. */
export interface BatchObject {
  /** Full object id. */
  object: string;
  /** `blob`, `tree`, `commit` or `tag`. */
  type: string;
  content: Buffer;
}

// The header of a found object: `<object id> <type> <size>`.
const FOUND_HEADER = /^([0-9a-f]{40}|[0-9a-f]{64}) ([a-z]+) (\d+)$/;

/** A running `git cat-file --batch`, started before the names are known so that its start overlaps other work. */
export interface ObjectReader {
  /**
   * Reads objects by name (`<commit>:<path>`, an object id…) and returns them in the order
   * of `names`. A name that names no object, or more than one, gives null. A name must not
   * contain a newline, because the batch reads one name per line. A second call, or a call
   * after cancel, raises an error.
   */
  read(names: readonly string[]): Promise<Array<BatchObject | null>>;
  /** Ends the process when no read is needed. */
  cancel(): void;
}

/** Starts `git cat-file --batch`, which waits for names until read or cancel is called. */
export function startObjectReader(context: GitContext): ObjectReader {
  const git = spawnGit(context, ['cat-file', '--batch'], { stdin: 'pipe' });
  const stdin = git.stdin as Writable;
  // cat-file exiting early closes the pipe; its own exit status reports why.
  stdin.on('error', () => undefined);
  const chunks: Buffer[] = [];
  git.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));

  let used = false;
  return {
    async read(names) {
      if (used) {
        throw new Error('ObjectReader.read was called after a read or a cancel: start one reader per batch of names');
      }
      used = true;
      for (const name of names) {
        if (name.includes('\n')) {
          stdin.end();
          throw new InvalidOptionError('object name', 'a name without a newline', name);
        }
      }

      stdin.end(names.length === 0 ? undefined : `${names.join('\n')}\n`);
      await git.finished;
      return parseBatchOutput(Buffer.concat(chunks), names);
    },
    cancel() {
      used = true;
      stdin.end();
    },
  };
}

/** Reads objects by name with one `git cat-file --batch` process; see {@link ObjectReader.read}. */
export async function readObjects(context: GitContext, names: readonly string[]): Promise<Array<BatchObject | null>> {
  return names.length === 0 ? [] : startObjectReader(context).read(names);
}

function parseBatchOutput(output: Buffer, names: readonly string[]): Array<BatchObject | null> {
  const objects: Array<BatchObject | null> = [];
  let position = 0;

  for (const name of names) {
    const lineEnd = output.indexOf(0x0a, position);
    if (lineEnd === -1) {
      throw malformed(`the output ends before the object named ${JSON.stringify(name)}`);
    }

    // A name that was not found comes back as `<name> missing` or `<name> ambiguous`.
    const header = FOUND_HEADER.exec(output.toString('latin1', position, lineEnd));
    if (!header) {
      objects.push(null);
      position = lineEnd + 1;
      continue;
    }

    const size = Number(header[3]);
    const contentStart = lineEnd + 1;
    if (contentStart + size > output.length) {
      throw malformed(`the content of ${JSON.stringify(name)} is cut short`);
    }
    const content = output.subarray(contentStart, contentStart + size);
    objects.push({ object: header[1] as string, type: header[2] as string, content });
    // Each object's content is followed by a newline.
    position = contentStart + size + 1;
  }

  return objects;
}

function malformed(detail: string): StepperError {
  return new StepperError('GIT_FAILED', `cannot parse git cat-file --batch output: ${detail}`);
}

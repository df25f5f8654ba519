import { StepperError } from '../errors.js';

/**
 * One `--raw` record of `git diff-tree -z`. A combined diff of a merge with N parents
 * has N old modes, N old objects and N status letters, and under
 * `--combined-all-paths` N + 1 paths (one per parent, then the merge's own).
 */
export interface RawRecord {
  oldModes: string[];
  newMode: string;
  oldObjects: string[];
  newObject: string;
  /** Status letters, one per parent: `M`, `A`, `R`, `RM`… */
  status: string;
  /** Similarity of a rename or copy (`R086`); absent otherwise and in combined diffs. */
  score?: number;
  /** Paths as stored, before and after for renames and copies. */
  paths: Buffer[];
}

/** One `--numstat` record: line counts, null for a binary file (`-`). */
export interface NumstatRecord {
  additions: number | null;
  deletions: number | null;
  /** One path, or the old and new path of a rename or copy. */
  paths: Buffer[];
}

export interface DiffTreeOutput {
  raw: RawRecord[];
  numstat: NumstatRecord[];
}

const COLON = 0x3a;
const TAB = 0x09;

/**
 * Parses the output of `git diff-tree -z --raw --numstat` into its records. Paths are
 * NUL-terminated and never quoted under `-z`, so they keep every byte. Each record header
 * determines how many path fields follow it, so a path that looks like a header is read
 * as a path. Raw and numstat records may come in either order: a combined diff prints its
 * numstat records first.
 */
export function parseDiffTreeOutput(output: Buffer, options: { combinedAllPaths?: boolean } = {}): DiffTreeOutput {
  const fields = splitNul(output);
  const result: DiffTreeOutput = { raw: [], numstat: [] };

  let index = 0;
  const takePaths = (count: number): Buffer[] => {
    const paths = fields.slice(index, index + count);
    if (paths.length !== count) {
      throw malformed(`a record ends after ${paths.length} of its ${count} paths`);
    }
    index += count;
    return paths;
  };

  while (index < fields.length) {
    const header = fields[index++] as Buffer;
    if (header.length === 0) {
      continue;
    }

    if (header[0] === COLON) {
      const record = parseRawHeader(header);
      const parentCount = record.oldModes.length;
      let pathCount = 1;
      if (parentCount > 1) {
        pathCount = options.combinedAllPaths ? parentCount + 1 : 1;
      } else if (record.status === 'R' || record.status === 'C') {
        pathCount = 2;
      }
      result.raw.push({ ...record, paths: takePaths(pathCount) });
      continue;
    }

    const { additions, deletions, path } = parseNumstatHeader(header);
    // A rename or copy prints an empty path, then the old and new paths as two fields.
    const paths = path.length > 0 ? [path] : takePaths(2);
    result.numstat.push({ additions, deletions, paths });
  }

  return result;
}

function parseRawHeader(header: Buffer): Omit<RawRecord, 'paths'> {
  const text = header.toString('latin1');
  let parentCount = 0;
  while (text[parentCount] === ':') {
    parentCount += 1;
  }

  const words = text.slice(parentCount).split(' ');
  if (words.length !== 2 * parentCount + 3) {
    throw malformed(`unexpected raw record ${JSON.stringify(text)}`);
  }

  const oldModes = words.slice(0, parentCount);
  const newMode = words[parentCount] as string;
  const oldObjects = words.slice(parentCount + 1, 2 * parentCount + 1);
  const newObject = words[2 * parentCount + 1] as string;
  const statusWord = words[2 * parentCount + 2] as string;

  if (parentCount === 1) {
    const letter = statusWord.slice(0, 1);
    const digits = statusWord.slice(1);
    const record = { oldModes, newMode, oldObjects, newObject, status: letter };
    return (letter === 'R' || letter === 'C') && digits !== '' ? { ...record, score: Number(digits) } : record;
  }
  return { oldModes, newMode, oldObjects, newObject, status: statusWord };
}

function parseNumstatHeader(header: Buffer): { additions: number | null; deletions: number | null; path: Buffer } {
  const firstTab = header.indexOf(TAB);
  const secondTab = firstTab === -1 ? -1 : header.indexOf(TAB, firstTab + 1);
  if (secondTab === -1) {
    throw malformed(`unexpected numstat record ${JSON.stringify(header.toString('latin1').slice(0, 100))}`);
  }

  return {
    additions: parseCount(header.subarray(0, firstTab).toString('latin1')),
    deletions: parseCount(header.subarray(firstTab + 1, secondTab).toString('latin1')),
    path: header.subarray(secondTab + 1),
  };
}

function parseCount(text: string): number | null {
  if (text === '-') {
    return null;
  }
  if (!/^\d+$/.test(text)) {
    throw malformed(`unexpected line count ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function splitNul(output: Buffer): Buffer[] {
  const fields: Buffer[] = [];
  let start = 0;
  for (let end = output.indexOf(0, start); end !== -1; end = output.indexOf(0, start)) {
    fields.push(output.subarray(start, end));
    start = end + 1;
  }
  if (start < output.length) {
    fields.push(output.subarray(start));
  }
  return fields;
}

function malformed(detail: string): StepperError {
  return new StepperError('GIT_FAILED', `cannot parse git diff-tree output: ${detail}`);
}

import { type Hash, createHash } from 'node:crypto';

/**
 * One file's part of a `git diff-tree -p` stream. Only hunk lines are kept, never
 * git's own header lines, and never more bytes than the caller's limit allowed.
 */
export interface PatchSection {
  /** The caller's index for the section: by default its position, as git prints files in the order of its `--raw` listing. */
  index: number;
  /** The section's first line as git printed it (`diff --git a/x b/x`), decoded as UTF-8. */
  header: string;
  /** Bytes of hunk text in the stream, kept or not. */
  totalBytes: number;
  /** Hunk lines kept, each ending in a newline, `@@` headers included but never one without any of its lines. */
  lines: Buffer[];
  keptBytes: number;
  /** True when some hunk text was not kept, a long line cut included. */
  truncated: boolean;
  hunkCount: number;
  /** True when the new version of the file does not end in a newline (git's `\ No newline` marker, which is dropped). */
  noTrailingNewline: boolean;
  /** True when the old version did not end in a newline. */
  oldLacksNewline: boolean;
  /** True when every hunk removes and adds the same lines except for carriage returns. */
  lineEndingOnly: boolean;
  /** True when git printed `Binary files … differ` for this file. */
  binary: boolean;
  /** Added and deleted lines of the section's hunks, as numstat counts them. */
  additions: number;
  deletions: number;
  /** True when a line longer than 64 KiB was cut. Its kept part ends at a whole UTF-8 character. */
  longLines: boolean;
}

export interface PatchStreamOptions {
  /** Bytes of hunk text the section at `index` may keep; read when the section starts. */
  limitFor(index: number): number;
  /**
   * Whether to check the section at `index` for a line-ending-only change, which costs a
   * hash of every changed line. Only a file with as many added as deleted lines can be one.
   * @default every section
   */
  compareLineEndings?(index: number): boolean;
  /** Called with each finished section, in stream order. */
  onSection(section: PatchSection): void;
  /**
   * Maps a section to the index its caller knows it by, from its header and its position
   * among sections. A combined diff leaves out files, so position alone cannot identify the file.
   * @default the position
   */
  indexFor?(header: string, position: number): number;
}

/**
 * Lines longer than this are cut in memory. Such a line is most likely minified or
 * generated, so it is never shown whole, and line-ending detection gives up on its file.
 */
const MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Hash state of one hunk, comparing removed and added lines with and without CR. */
interface HunkComparison {
  removed: Hash;
  added: Hash;
  removedStripped: Hash;
  addedStripped: Hash;
  removedCount: number;
  addedCount: number;
}

/**
 * Parses `git diff-tree -p` output as it streams, in bounded memory: per section it keeps at
 * most `limitFor(index)` bytes of hunk text and per line at most 64 KiB, whatever the size
 * of the diff. Feed chunks with `write`, then call `end`.
 */
export class PatchStream {
  readonly #options: PatchStreamOptions;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes of the current line as git printed it, which is more than `#pendingBytes` once it is cut. */
  #lineBytes = 0;
  #lineTooLong = false;
  #section?: PatchSection & {
    limit: number;
    inHunks: boolean;
    hunk?: HunkComparison;
    comparable: boolean;
    crDiffers: boolean;
    /** Whether the first removed and the first added line ended in CR; every other must match. */
    removedCr?: boolean;
    addedCr?: boolean;
    /** Set once a line did not fit: later lines are not kept either, so the kept text is a prefix. */
    stopped: boolean;
    /** First byte of the previous hunk line, which a `\ No newline` marker refers to. */
    lastMarker?: number;
  };
  #nextPosition = 0;

  constructor(options: PatchStreamOptions) {
    this.#options = options;
  }

  write(chunk: Buffer): void {
    let start = 0;

    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      const end = newline === -1 ? chunk.length : newline + 1;
      this.#appendPending(chunk.subarray(start, end));

      if (newline !== -1) {
        this.#takeLine();
      }

      start = end;
    }
  }

  end(): void {
    if (this.#pendingBytes > 0) {
      // git ends every line it prints with a newline; a missing one means a cut stream.
      this.#appendPending(Buffer.from('\n'));
      this.#takeLine();
    }

    this.#finishSection();
  }

  #appendPending(part: Buffer): void {
    this.#lineBytes += part.length;
    const room = MAX_LINE_BYTES - this.#pendingBytes;
    if (part.length > room) {
      this.#lineTooLong = true;
      // Keep the line's end (its newline) so the line stays one line.
      const tail = part[part.length - 1] === NEWLINE ? [Buffer.from('\n')] : [];
      if (room > 0) {
        this.#pending.push(part.subarray(0, room));
        this.#pendingBytes += room;
      }

      this.#pending.push(...tail);
      return;
    }

    this.#pending.push(part);
    this.#pendingBytes += part.length;
  }

  #takeLine(): void {
    const joined = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending);
    const tooLong = this.#lineTooLong;
    // The cut can fall inside a character, and a partial one would read as invalid UTF-8.
    const line = tooLong ? trimPartialCharacter(joined) : joined;
    const lineBytes = this.#lineBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#lineBytes = 0;
    this.#lineTooLong = false;
    this.#handleLine(line, tooLong, lineBytes);
  }

  #handleLine(line: Buffer, tooLong: boolean, lineBytes: number): void {
    const first = line[0];
    if (first === 0x64 /* d */ && isSectionHeader(line)) {
      const header = line.toString('utf8').replace(/\n$/, '');
      if (this.#section?.header === header) {
        // A type change (file to symlink) comes as a deletion and an addition of one path,
        // two sections with the same header: they stay one file.
        this.#closeHunk();
        this.#section.inHunks = false;
        return;
      }

      this.#finishSection();
      this.#startSection(header);
      return;
    }

    const section = this.#section;
    if (!section) {
      return;
    }

    const hunkHeader = first === 0x40 /* @ */ && startsWith(line, '@@');
    if (!section.inHunks) {
      if (!hunkHeader) {
        // `--binary` prints `GIT binary patch`, plain `-p` prints `Binary files … differ`.
        if ((first === 0x42 /* B */ && startsWith(line, 'Binary files ')) || (first === 0x47 /* G */ && startsWith(line, 'GIT binary patch'))) {
          section.binary = true;
        }

        return;
      }

      section.inHunks = true;
    }

    if (first === 0x5c /* backslash */) {
      // `\ No newline at end of file` describes the previous line, not content: after a
      // removed line the old file lacked the newline, after an added one the new file does.
      if (section.lastMarker !== 0x2b) {
        section.oldLacksNewline = true;
      }

      if (section.lastMarker !== 0x2d) {
        section.noTrailingNewline = true;
      }

      return;
    }

    section.lastMarker = first;

    if (hunkHeader) {
      this.#closeHunk();
      section.hunkCount += 1;
      section.hunk = section.comparable ? newHunkComparison() : undefined;
    } else {
      countLine(section, first);
      if (tooLong) {
        section.comparable = false;
        section.longLines = true;
        section.truncated = true;
      } else if (section.comparable) {
        this.#compareLine(line);
      }
    }

    section.totalBytes += lineBytes;
    if (!section.stopped && section.keptBytes + line.length <= section.limit) {
      section.lines.push(Buffer.from(line));
      section.keptBytes += line.length;
    } else {
      section.stopped = true;
      section.truncated = true;
    }
  }

  #compareLine(line: Buffer): void {
    const section = this.#section;
    const hunk = section?.hunk;
    if (!section || !hunk || line.length === 0) {
      return;
    }

    const marker = line[0];
    const body = line.subarray(1);
    const stripped = stripLineEnd(body);
    if ((marker === 0x2d || marker === 0x2b) && !keepsCrDirection(section, marker === 0x2b, stripped.length < lineContentLength(body))) {
      // Not a line-ending conversion, so the hashing stops here; most edits fail on their first pair.
      section.comparable = false;
      section.hunk = undefined;
      return;
    }

    if (marker === 0x2d) {
      hunk.removed.update(body);
      hunk.removedStripped.update(stripped).update('\n');
      hunk.removedCount += 1;
    } else if (marker === 0x2b) {
      hunk.added.update(body);
      hunk.addedStripped.update(stripped).update('\n');
      hunk.addedCount += 1;
    } else if (marker !== 0x20) {
      // Combined diffs have one marker column per parent; they are not compared.
      section.comparable = false;
    }
  }

  /** Folds the current hunk into the section's line-ending verdict. */
  #closeHunk(): void {
    const section = this.#section;
    const hunk = section?.hunk;
    if (!section || !hunk) {
      return;
    }

    section.hunk = undefined;
    const sameText =
      hunk.removedCount === hunk.addedCount &&
      hunk.removedStripped.digest('hex') === hunk.addedStripped.digest('hex');
    if (!sameText) {
      section.comparable = false;
      return;
    }

    if (hunk.removed.digest('hex') !== hunk.added.digest('hex')) {
      section.crDiffers = true;
    }
  }

  #startSection(header: string): void {
    const position = this.#nextPosition++;
    const index = this.#options.indexFor?.(header, position) ?? position;
    this.#section = {
      index,
      header,
      totalBytes: 0,
      lines: [],
      keptBytes: 0,
      truncated: false,
      hunkCount: 0,
      noTrailingNewline: false,
      oldLacksNewline: false,
      lineEndingOnly: false,
      binary: false,
      additions: 0,
      deletions: 0,
      longLines: false,
      limit: Math.max(0, this.#options.limitFor(index)),
      inHunks: false,
      comparable: this.#options.compareLineEndings?.(index) ?? true,
      crDiffers: false,
      stopped: false,
    };
  }

  #finishSection(): void {
    const section = this.#section;
    if (!section) {
      return;
    }

    this.#closeHunk();
    this.#section = undefined;
    // A hunk header whose lines were not kept would show a hunk that seems empty.
    while (section.stopped && section.lines.length > 0 && isHunkHeader(section.lines[section.lines.length - 1] as Buffer)) {
      section.keptBytes -= (section.lines.pop() as Buffer).length;
    }

    const {
      limit: _limit,
      inHunks: _inHunks,
      hunk: _hunk,
      comparable,
      crDiffers,
      stopped: _stopped,
      removedCr: _removedCr,
      addedCr: _addedCr,
      lastMarker: _lastMarker,
      ...finished
    } = section;
    finished.lineEndingOnly = comparable && crDiffers && finished.hunkCount > 0;
    this.#options.onSection(finished);
  }
}

function countLine(section: { additions: number; deletions: number }, marker: number | undefined): void {
  if (marker === 0x2b) {
    section.additions += 1;
  } else if (marker === 0x2d) {
    section.deletions += 1;
  }
}

/**
 * Records whether a changed line ends in CR and returns whether it fits the section so far.
 * A conversion removes lines that all end one way and adds lines that all end the other.
 */
function keepsCrDirection(section: { removedCr?: boolean; addedCr?: boolean }, added: boolean, hasCr: boolean): boolean {
  if (added) {
    section.addedCr ??= hasCr;
    if (section.addedCr !== hasCr) {
      return false;
    }
  } else {
    section.removedCr ??= hasCr;
    if (section.removedCr !== hasCr) {
      return false;
    }
  }

  return section.removedCr === undefined || section.addedCr === undefined || section.removedCr !== section.addedCr;
}

/** Returns the length of a line without its newline. */
function lineContentLength(line: Buffer): number {
  return line.length > 0 && line[line.length - 1] === NEWLINE ? line.length - 1 : line.length;
}

function newHunkComparison(): HunkComparison {
  return {
    removed: createHash('sha1'),
    added: createHash('sha1'),
    removedStripped: createHash('sha1'),
    addedStripped: createHash('sha1'),
    removedCount: 0,
    addedCount: 0,
  };
}

/** Returns the line without its newline and any carriage returns before it. */
function stripLineEnd(line: Buffer): Buffer {
  let end = line.length;
  if (end > 0 && line[end - 1] === NEWLINE) {
    end -= 1;
  }

  while (end > 0 && line[end - 1] === CARRIAGE_RETURN) {
    end -= 1;
  }

  return line.subarray(0, end);
}

/**
 * Drops an incomplete UTF-8 sequence at the end of a cut line, keeping its newline. In
 * text that is not UTF-8, a last byte that looks like the start of a sequence is dropped
 * too, which costs one byte of a line that is cut anyway.
 */
function trimPartialCharacter(line: Buffer): Buffer {
  const newline = line.length > 0 && line[line.length - 1] === NEWLINE ? 1 : 0;
  const end = line.length - newline;

  for (let start = end - 1; start >= 0 && start >= end - 3; start--) {
    const byte = line[start] as number;
    if ((byte & 0xc0) === 0x80) {
      continue;
    }

    if (end - start >= sequenceLength(byte)) {
      return line;
    }

    return newline ? Buffer.concat([line.subarray(0, start), line.subarray(end)]) : line.subarray(0, start);
  }

  return line;
}

/** Returns the length of the UTF-8 sequence that `lead` starts, by its high bits. */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0) {
    return 4;
  }

  if (lead >= 0xe0) {
    return 3;
  }

  return lead >= 0xc0 ? 2 : 1;
}

function isHunkHeader(line: Buffer): boolean {
  return line.length >= 2 && line[0] === 0x40 && line[1] === 0x40;
}

function isSectionHeader(line: Buffer): boolean {
  return startsWith(line, 'diff --git ') || startsWith(line, 'diff --cc ') || startsWith(line, 'diff --combined ');
}

function startsWith(line: Buffer, prefix: string): boolean {
  return line.length >= prefix.length && line.toString('latin1', 0, prefix.length) === prefix;
}

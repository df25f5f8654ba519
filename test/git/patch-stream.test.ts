import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { gitEnvironment } from '../../src/git/environment.js';
import { PATCH_ARGS } from '../../src/git/patch-id.js';
import { type PatchSection, type PatchStreamOptions, PatchStream } from '../../src/git/patch-stream.js';
import { buildRepo, type RepoName } from '../helpers/repos.js';

const MAX_LINE_BYTES = 64 * 1024;

/** Runs the diff the evidence builder runs, with git itself, so the parser gets real output. */
function diffOf(name: RepoName, role: string, extraArgs: readonly string[] = PATCH_ARGS): Buffer {
  const state = buildRepo(name);
  const sha = state.commits[role] as string;
  const parents = execFileSync('git', [`--git-dir=${state.gitDir}`, 'rev-list', '--parents', '-n', '1', sha], { env: gitEnvironment() })
    .toString('utf8')
    .trim()
    .split(' ')
    .slice(1);
  const range = parents.length === 0 ? ['--root', sha] : [parents[0] as string, sha];
  return execFileSync('git', [`--git-dir=${state.gitDir}`, 'diff-tree', ...extraArgs, ...range], {
    env: gitEnvironment(),
    maxBuffer: 64 * 1024 * 1024,
  });
}

interface ParseOptions extends Partial<Omit<PatchStreamOptions, 'onSection'>> {
  /** Sizes of the chunks the input is cut into. Without it, the input is fed whole. */
  chunkSizes?: (position: number) => number;
}

function parse(input: Buffer, options: ParseOptions = {}): PatchSection[] {
  const sections: PatchSection[] = [];
  const { chunkSizes, ...streamOptions } = options;
  const stream = new PatchStream({
    limitFor: () => Number.MAX_SAFE_INTEGER,
    ...streamOptions,
    onSection: (section) => sections.push(section),
  });

  if (chunkSizes === undefined) {
    stream.write(input);
  } else {
    for (let start = 0, position = 0; start < input.length; position += 1) {
      const end = Math.min(input.length, start + Math.max(1, chunkSizes(position)));
      stream.write(input.subarray(start, end));
      start = end;
    }
  }

  stream.end();
  return sections;
}

function text(section: PatchSection | undefined): string {
  return Buffer.concat(section?.lines ?? []).toString('utf8');
}

/**
 * Oracle: the hunk text of each `diff --git` section, everything from its first `@@`
 * line on, without `\` marker lines. Written independently of PatchStream, with string
 * splitting on the whole output.
 */
function hunkTexts(diff: Buffer): string[] {
  const sections = diff.toString('latin1').split(/^(?=diff --git )/m).filter((part) => part.startsWith('diff --git '));
  return sections.map((section) => {
    const lines = section.split(/(?<=\n)/);
    const first = lines.findIndex((line) => line.startsWith('@@'));
    return first === -1 ? '' : lines.slice(first).filter((line) => !line.startsWith('\\')).join('');
  });
}

/** A small seeded generator, so chunk boundaries differ per position but not per run. */
function seededSizes(seed: number, max: number): (position: number) => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return 1 + (state % max);
  };
}

const HAND_MADE = Buffer.from(
  [
    'diff --git a/one.txt b/one.txt',
    'index 1111111..2222222 100644',
    '--- a/one.txt',
    '+++ b/one.txt',
    '@@ -1,2 +1,2 @@',
    ' kept',
    '-old',
    '+new',
    '@@ -10 +10,2 @@ function context',
    ' ten',
    '+eleven',
    '\\ No newline at end of file',
    'diff --git a/two.txt b/two.txt',
    'new file mode 100644',
    'index 0000000..3333333',
    '--- /dev/null',
    '+++ b/two.txt',
    '@@ -0,0 +1 @@',
    '+only line',
    '',
  ].join('\n'),
);

describe('PatchStream sections', () => {
  it('real diff keeps only hunk lines', () => {
    const diff = diffOf('modify', 'modify');
    const sections = parse(diff);

    expect(sections.map((section) => section.header)).toEqual(['diff --git a/README.md b/README.md', 'diff --git a/src/app.ts b/src/app.ts']);
    expect(sections.map(text)).toEqual(hunkTexts(diff));
  });

  it('real diff counts hunks and bytes', () => {
    const diff = diffOf('modify', 'modify');
    const sections = parse(diff);
    const expected = hunkTexts(diff);

    expect(sections.map((section) => section.hunkCount)).toEqual(expected.map((hunks) => hunks.match(/^@@/gm)?.length ?? 0));
    expect(sections.map((section) => section.totalBytes)).toEqual(expected.map((hunks) => Buffer.byteLength(hunks, 'latin1')));
    expect(sections.map((section) => section.keptBytes)).toEqual(sections.map((section) => section.totalBytes));
    expect(sections.every((section) => !section.truncated)).toBe(true);
  });

  it('indexes follow stream positions', () => {
    const sections = parse(diffOf('odd-names', 'odd-add'));

    expect(sections.map((section) => section.index)).toEqual(sections.map((_, position) => position));
    expect(sections).toHaveLength(16);
  });

  it('quoted headers stay as git printed them', () => {
    const headers = parse(diffOf('odd-names', 'odd-add')).map((section) => section.header);

    expect(headers).toContain('diff --git "a/new\\nline.txt" "b/new\\nline.txt"');
    expect(headers).toContain('diff --git "a/tab\\there.txt" "b/tab\\there.txt"');
  });

  it('git header lines are never kept', () => {
    const sections = parse(HAND_MADE);
    const kept = sections.flatMap((section) => section.lines.map((line) => line.toString('utf8')));

    expect(kept.filter((line) => /^(?:index |--- |\+\+\+ |new file mode|diff --git)/.test(line))).toEqual([]);
    expect(kept[0]).toBe('@@ -1,2 +1,2 @@\n');
  });

  it('lines before the first header are ignored', () => {
    const input = Buffer.concat([Buffer.from('0123456789abcdef0123456789abcdef01234567\n@@ -1 +1 @@\n+stray\n'), HAND_MADE]);

    expect(parse(input)).toEqual(parse(HAND_MADE));
  });

  it('unterminated last line is still kept', () => {
    const input = Buffer.from('diff --git a/x b/x\n@@ -1 +1 @@\n-a\n+b');
    const [section] = parse(input);

    expect(text(section)).toBe('@@ -1 +1 @@\n-a\n+b\n');
  });

  it('empty input gives no sections', () => {
    expect(parse(Buffer.alloc(0))).toEqual([]);
  });

  it('section without hunks keeps nothing', () => {
    const [section] = parse(diffOf('rename', 'rename-only'));

    expect(section).toMatchObject({ header: 'diff --git a/docs/guide.md b/docs/manual.md', totalBytes: 0, hunkCount: 0, lines: [] });
  });

  it('mode change section has no hunks', () => {
    const [section] = parse(diffOf('mode', 'mode'));

    expect(section).toMatchObject({ header: 'diff --git a/script.sh b/script.sh', totalBytes: 0, hunkCount: 0 });
  });

  it('binary files line sets the flag', () => {
    const [section] = parse(diffOf('binary', 'binary-modify', ['-p', '--no-color']));

    expect(section?.binary).toBe(true);
    expect(section?.lines).toEqual([]);
  });

  it('binary patch keeps no lines', () => {
    const [section] = parse(diffOf('binary', 'binary-modify'));

    expect(section?.hunkCount).toBe(0);
    expect(section?.totalBytes).toBe(0);
  });
});

describe('PatchStream limits', () => {
  it('each section keeps at most its limit', () => {
    const diff = diffOf('huge-diff', 'huge');
    const [section] = parse(diff, { limitFor: () => 10_000 });

    expect(section?.keptBytes).toBeLessThanOrEqual(10_000);
    expect(section?.keptBytes).toBeGreaterThan(10_000 - 70);
    expect(section?.truncated).toBe(true);
  });

  it('limit is read per section index', () => {
    const requested: number[] = [];
    const sections = parse(diffOf('odd-names', 'odd-add'), {
      limitFor: (index) => {
        requested.push(index);
        return index % 2 === 0 ? 0 : 40;
      },
    });

    expect(requested).toEqual(sections.map((_, position) => position));
    for (const section of sections) {
      expect(section.keptBytes).toBeLessThanOrEqual(section.index % 2 === 0 ? 0 : 40);
    }
  });

  it('total bytes count what was not kept', () => {
    const diff = diffOf('huge-diff', 'huge');
    const [whole] = parse(diff);
    const [limited] = parse(diff, { limitFor: () => 1000 });

    expect(limited?.totalBytes).toBe(whole?.totalBytes);
    expect(limited?.totalBytes).toBe(Buffer.byteLength(hunkTexts(diff)[0] as string, 'latin1'));
  });

  it('kept lines are whole lines of the diff', () => {
    const diff = diffOf('modify', 'modify');
    const full = parse(diff);
    for (const limit of [0, 1, 15, 16, 17, 40, 100]) {
      const limited = parse(diff, { limitFor: () => limit });

      limited.forEach((section, position) => {
        const fullLines = full[position]?.lines ?? [];
        expect(section.lines).toEqual(fullLines.slice(0, section.lines.length));
        expect(section.lines.every((line) => line[line.length - 1] === 0x0a)).toBe(true);
      });
    }
  });

  it('kept prefix is the longest that fits', () => {
    const [section] = parse(HAND_MADE, { limitFor: () => 30 });

    // The header (16 bytes), " kept" (6) and "-old" (5) add up to 27 bytes, and "+new" would pass 30.
    expect(text(section)).toBe('@@ -1,2 +1,2 @@\n kept\n-old\n');
    expect(section?.keptBytes).toBe(27);
  });

  it('header without its lines is dropped', () => {
    const [section] = parse(HAND_MADE, { limitFor: () => 18 });

    expect(section?.lines).toEqual([]);
    expect(section?.keptBytes).toBe(0);
    expect(section?.truncated).toBe(true);
  });

  it('kept lines never end in a hunk header', () => {
    const inputs = [HAND_MADE, diffOf('mode', 'typechange'), diffOf('rename', 'rename-edit')];
    for (const input of inputs) {
      for (let limit = 0; limit <= 200; limit += 1) {
        for (const section of parse(input, { limitFor: () => limit })) {
          const last = section.lines[section.lines.length - 1];

          expect(last?.toString('utf8').startsWith('@@') ?? false).toBe(false);
          expect(section.keptBytes).toBe(section.lines.reduce((total, line) => total + line.length, 0));
        }
      }
    }
  });

  it('negative limit keeps nothing', () => {
    const [section] = parse(HAND_MADE, { limitFor: () => -5 });

    expect(section?.lines).toEqual([]);
    expect(section?.truncated).toBe(true);
  });
});

describe('PatchStream flags', () => {
  it('no-newline marker is dropped and flagged', () => {
    const diff = diffOf('no-newline', 'no-newline');
    const [section] = parse(diff);

    expect(diff.toString('utf8')).toContain('\\ No newline at end of file');
    expect(section?.noTrailingNewline).toBe(true);
    expect(text(section)).not.toContain('No newline');
    expect(text(section)).toBe('@@ -1,2 +1,3 @@\n alpha\n beta\n+gamma\n');
  });

  it('no-newline marker is not counted', () => {
    const [first, second] = parse(HAND_MADE);

    expect(first?.noTrailingNewline).toBe(true);
    expect(first?.totalBytes).toBe(Buffer.byteLength('@@ -1,2 +1,2 @@\n kept\n-old\n+new\n@@ -10 +10,2 @@ function context\n ten\n+eleven\n'));
    expect(second?.noTrailingNewline).toBe(false);
  });

  it('CRLF conversion is line-endings-only', () => {
    const [section] = parse(diffOf('crlf', 'crlf'));

    expect(section?.lineEndingOnly).toBe(true);
  });

  it('real change is not line-endings-only', () => {
    const [, app] = parse(diffOf('modify', 'modify'));

    expect(app?.lineEndingOnly).toBe(false);
  });

  it('comparison turned off is not line-endings-only', () => {
    const [section] = parse(diffOf('crlf', 'crlf'), { compareLineEndings: () => false });

    expect(section?.lineEndingOnly).toBe(false);
  });

  it('comparison is requested per section index', () => {
    const requested: number[] = [];
    const input = Buffer.concat([crlfSection('a.txt'), crlfSection('b.txt')]);
    const sections = parse(input, {
      compareLineEndings: (index) => {
        requested.push(index);
        return index === 1;
      },
    });

    expect(requested).toEqual([0, 1]);
    expect(sections.map((section) => section.lineEndingOnly)).toEqual([false, true]);
  });

  it('CRLF conversion with one edit is not line-endings-only', () => {
    const input = Buffer.from('diff --git a/x b/x\n@@ -1,2 +1,2 @@\n-one\n-two\n+one\r\n+TWO\r\n');

    expect(parse(input)[0]?.lineEndingOnly).toBe(false);
  });

  it('CRLF conversion in one hunk of two is not line-endings-only', () => {
    const input = Buffer.from('diff --git a/x b/x\n@@ -1 +1 @@\n-one\n+one\r\n@@ -9 +9 @@\n-nine\n+NINE\n');

    expect(parse(input)[0]?.lineEndingOnly).toBe(false);
  });

  it('reordered lines are not line-endings-only', () => {
    const input = Buffer.from('diff --git a/x b/x\n@@ -1,2 +1,2 @@\n-one\n-two\n+two\r\n+one\r\n');

    expect(parse(input)[0]?.lineEndingOnly).toBe(false);
  });

  it('CRLF to LF in two hunks is line-endings-only', () => {
    const input = Buffer.from('diff --git a/x b/x\n@@ -1 +1 @@\n-one\r\n+one\n@@ -9 +9 @@ ctx\n-nine\r\n+nine\n');

    expect(parse(input)[0]?.lineEndingOnly).toBe(true);
  });

  it('added lines only are not line-endings-only', () => {
    expect(parse(HAND_MADE)[1]?.lineEndingOnly).toBe(false);
  });

  it('line-ending check ignores the keep limit', () => {
    const [section] = parse(diffOf('crlf', 'crlf'), { limitFor: () => 0 });

    expect(section?.lineEndingOnly).toBe(true);
    expect(section?.lines).toEqual([]);
  });
});

/** Builds a section that changes two lines of `name` from LF to CRLF endings. */
function crlfSection(name: string): Buffer {
  return Buffer.from(`diff --git a/${name} b/${name}\n--- a/${name}\n+++ b/${name}\n@@ -1,2 +1,2 @@\n-a\n-b\n+a\r\n+b\r\n`);
}

describe('PatchStream long lines', () => {
  const longLine = `+${'y'.repeat(200 * 1024)}\n`;
  const input = Buffer.from(`diff --git a/min.js b/min.js\n@@ -1 +1,2 @@\n-x\n${longLine}+after\n`);

  it('long line is cut to 64 KiB', () => {
    const [section] = parse(input);
    const long = section?.lines[2] as Buffer;

    expect(long.length).toBeLessThanOrEqual(MAX_LINE_BYTES + 1);
    expect(long.length).toBeGreaterThan(MAX_LINE_BYTES - 1);
    expect(long[long.length - 1]).toBe(0x0a);
  });

  it('line after a long line is intact', () => {
    const [section] = parse(input);

    expect(section?.lines.map((line) => line.toString('utf8').slice(0, 8))).toEqual(['@@ -1 +1', '-x\n', `+${'y'.repeat(7)}`, '+after\n']);
  });

  it('long line sets the long-lines flag', () => {
    expect(parse(input)[0]?.longLines).toBe(true);
    expect(parse(HAND_MADE)[0]?.longLines).toBe(false);
  });

  it('long line marks the section truncated', () => {
    const [section] = parse(input);

    expect(section?.truncated).toBe(true);
    expect(section?.keptBytes).toBeLessThan(section?.totalBytes ?? 0);
  });

  it('total bytes count the whole long line', () => {
    const [section] = parse(input);

    expect(section?.totalBytes).toBe(input.length - 'diff --git a/min.js b/min.js\n'.length);
  });

  it('long line disables line-ending detection', () => {
    const line = `${'z'.repeat(100 * 1024)}`;
    const crlf = Buffer.from(`diff --git a/x b/x\n@@ -1 +1 @@\n-${line}\n+${line}\r\n`);

    expect(parse(crlf)[0]?.lineEndingOnly).toBe(false);
  });

  it('cut keeps UTF-8 characters whole', () => {
    // 'é' is two bytes; after the '+' marker, a cut at 64 KiB would split one.
    const utf8 = Buffer.from(`diff --git a/x b/x\n@@ -0,0 +1 @@\n+${'é'.repeat(60 * 1024)}\n`);
    const [section] = parse(utf8);
    const long = section?.lines[1] as Buffer;

    expect(long.toString('utf8')).not.toContain('\ufffd');
  });

  it('cut keeps UTF-8 characters whole in 1-byte chunks', () => {
    const utf8 = Buffer.from(`diff --git a/x b/x\n@@ -0,0 +1 @@\n+${'é'.repeat(40 * 1024)}\n`);

    expect(parse(utf8, { chunkSizes: () => 1 })).toEqual(parse(utf8));
  });

  it('memory stays bounded on a 64 MiB line', () => {
    // One chunk reused for every write: memory can only grow if the stream keeps what it was given.
    const chunk = Buffer.alloc(1024 * 1024, 0x78);
    const stream = new PatchStream({ limitFor: () => Number.MAX_SAFE_INTEGER, onSection: () => undefined });
    stream.write(Buffer.from('diff --git a/x b/x\n@@ -0,0 +1 @@\n+'));
    const before = process.memoryUsage();

    for (let written = 0; written < 64; written += 1) {
      stream.write(chunk);
    }
    const after = process.memoryUsage();
    stream.write(Buffer.from('\n'));
    stream.end();

    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(16 * 1024 * 1024);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('PatchStream chunk boundaries', () => {
  const mixed = Buffer.concat([
    HAND_MADE,
    crlfSection('crlf.txt'),
    Buffer.from(`diff --git a/long.txt b/long.txt\n@@ -0,0 +1,2 @@\n+${'é'.repeat(40 * 1024)}\n+short\n`),
    Buffer.from('diff --git a/t b/t\n@@ -1 +0,0 @@\n-file\ndiff --git a/t b/t\n@@ -0,0 +1 @@\n+link\n\\ No newline at end of file\n'),
  ]);

  it.each([
    ['1-byte chunks', () => 1],
    ['2-byte chunks', () => 2],
    ['random small chunks', seededSizes(7, 13)],
    ['random large chunks', seededSizes(11, 70_000)],
  ])('%s give the same sections', (_name, chunkSizes) => {
    expect(parse(mixed, { chunkSizes })).toEqual(parse(mixed));
  });

  it('limits apply the same in 1-byte chunks', () => {
    const limitFor = (index: number): number => 10 + index * 7;

    expect(parse(mixed, { chunkSizes: () => 1, limitFor })).toEqual(parse(mixed, { limitFor }));
  });

  it.each([
    ['modify', 'modify'],
    ['crlf', 'crlf'],
    ['no-newline', 'no-newline'],
    ['mode', 'typechange'],
    ['odd-names', 'odd-modify'],
    ['latin1', 'latin1'],
  ] as const)('real %s diff in 1-byte chunks', (name, role) => {
    const diff = diffOf(name, role);

    expect(parse(diff, { chunkSizes: () => 1 })).toEqual(parse(diff));
  });
});

describe('PatchStream type changes', () => {
  it('file to symlink is one section', () => {
    const diff = diffOf('mode', 'typechange');
    const sections = parse(diff);

    expect(diff.toString('utf8').match(/^diff --git /gm)).toHaveLength(2);
    expect(sections).toHaveLength(1);
  });

  it('both halves are kept in order', () => {
    const [section] = parse(diffOf('mode', 'typechange'));

    expect(text(section)).toBe('@@ -1 +0,0 @@\n-a regular file for now\n@@ -0,0 +1 @@\n+target.txt\n');
    expect(section?.hunkCount).toBe(2);
    expect(section?.noTrailingNewline).toBe(true);
  });

  it('merged section limit covers both halves', () => {
    const [section] = parse(diffOf('mode', 'typechange'), { limitFor: () => 40 });

    expect(text(section)).toBe('@@ -1 +0,0 @@\n-a regular file for now\n');
    expect(section?.totalBytes).toBe(Buffer.byteLength('@@ -1 +0,0 @@\n-a regular file for now\n@@ -0,0 +1 @@\n+target.txt\n'));
  });

  it('next file after a type change keeps its position', () => {
    const input = Buffer.from(
      'diff --git a/t b/t\n@@ -1 +0,0 @@\n-f\ndiff --git a/t b/t\n@@ -0,0 +1 @@\n+l\ndiff --git a/u b/u\n@@ -1 +1 @@\n-1\n+2\n',
    );

    expect(parse(input).map((section) => [section.index, section.header])).toEqual([
      [0, 'diff --git a/t b/t'],
      [1, 'diff --git a/u b/u'],
    ]);
  });

  it('type change halves are not line-endings-only', () => {
    const input = Buffer.from('diff --git a/t b/t\n@@ -1 +0,0 @@\n-same\ndiff --git a/t b/t\n@@ -0,0 +1 @@\n+same\r\n');

    expect(parse(input)[0]?.lineEndingOnly).toBe(false);
  });
});

describe('PatchStream indexFor', () => {
  const combined = Buffer.from(
    [
      'diff --cc a.txt',
      'index 1111111,2222222..3333333',
      '--- a/a.txt',
      '+++ b/a.txt',
      '@@@ -5,2 -5,2 +5,2 @@@',
      '  a 5',
      '--a 8',
      '++a eight',
      'diff --cc evil.txt',
      '@@@ -1,0 -1,0 +1,1 @@@',
      '++added by the merge',
      '',
    ].join('\n'),
  );

  it('maps headers to caller indexes', () => {
    const calls: Array<[string, number]> = [];
    const sections = parse(combined, {
      indexFor: (header, position) => {
        calls.push([header, position]);
        return header.endsWith('evil.txt') ? 7 : 3;
      },
    });

    expect(calls).toEqual([
      ['diff --cc a.txt', 0],
      ['diff --cc evil.txt', 1],
    ]);
    expect(sections.map((section) => section.index)).toEqual([3, 7]);
  });

  it('limits use the mapped index', () => {
    const limits: number[] = [];
    const sections = parse(combined, {
      indexFor: (header) => (header.endsWith('evil.txt') ? 7 : 3),
      limitFor: (index) => {
        limits.push(index);
        return index === 7 ? 0 : 1000;
      },
    });

    expect(limits).toEqual([3, 7]);
    expect(sections.map((section) => section.keptBytes > 0)).toEqual([true, false]);
  });

  it('combined sections are not line-endings-only', () => {
    const input = Buffer.from('diff --cc x\n@@@ -1 -1 +1 @@@\n--a\n++a\r\n');

    expect(parse(input)[0]?.lineEndingOnly).toBe(false);
  });

  it('combined hunk lines are kept', () => {
    const [first] = parse(combined);

    expect(text(first)).toBe('@@@ -5,2 -5,2 +5,2 @@@\n  a 5\n--a 8\n++a eight\n');
  });
});

/** Reads `git diff-tree --numstat` of a commit: added, deleted (null for binary), in git's order. */
function numstatOf(name: RepoName, role: string): Array<[number | null, number | null]> {
  const output = diffOf(name, role, ['-r', '-M', '-C', '--numstat', '--no-commit-id']).toString('utf8');
  return output
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [added, deleted] = line.split('\t');
      return [added === '-' ? null : Number(added), deleted === '-' ? null : Number(deleted)];
    });
}

describe('PatchStream counts', () => {
  it.each([
    ['modify', 'modify'],
    ['rename', 'rename-edit'],
    ['mode', 'typechange'],
    ['lockfiles', 'lockfiles'],
    ['crlf', 'crlf'],
    ['no-newline', 'no-newline'],
    ['binary', 'binary-modify'],
  ] as const)('match git numstat for %s %s', (name, role) => {
    const sections = parse(diffOf(name, role));

    const counts = sections.map((section): [number | null, number | null] =>
      section.binary ? [null, null] : [section.additions, section.deletions],
    );

    expect(counts).toEqual(numstatOf(name, role));
  });

  it('flags GIT binary patch as binary', () => {
    const sections = parse(diffOf('binary', 'binary-modify'));

    expect(sections.map((section) => section.binary)).toEqual([true]);
    expect(sections[0]?.keptBytes).toBe(0);
  });

  it('stops comparing at an ordinary edit', () => {
    const input = Buffer.from(
      ['diff --git a/x b/x', '@@ -1,2 +1,2 @@', '-one\r', '+one', '-two', '+two\r', ''].join('\n'),
    );

    const [section] = parse(input);

    expect(section?.lineEndingOnly).toBe(false);
    expect(section?.additions).toBe(2);
    expect(section?.deletions).toBe(2);
  });
});

describe('PatchStream final newline', () => {
  const section = (lines: string[]) => parse(Buffer.from(['diff --git a/f b/f', '@@ -1,2 +1,2 @@', ...lines, ''].join('\n')))[0];

  it('sees a newline added', () => {
    const added = section([' a', '-b', '\\ No newline at end of file', '+b']);

    expect(added?.noTrailingNewline).toBe(false);
    expect(added?.oldLacksNewline).toBe(true);
  });

  it('sees a newline removed', () => {
    const removed = section([' a', '-b', '+b', '\\ No newline at end of file']);

    expect(removed?.noTrailingNewline).toBe(true);
    expect(removed?.oldLacksNewline).toBe(false);
  });

  it('sees a context line without one', () => {
    const both = section(['-a', '+c', ' b', '\\ No newline at end of file']);

    expect(both?.noTrailingNewline).toBe(true);
    expect(both?.oldLacksNewline).toBe(true);
  });
});

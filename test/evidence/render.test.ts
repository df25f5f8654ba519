import { describe, expect, it } from 'vitest';

import { OTHER_DIRECTORIES } from '../../src/evidence/directories.js';
import { quotePath, renderEvidence, renderFileLine, renderFileSection, renderHeader } from '../../src/evidence/render.js';
import type { Evidence, EvidenceFile } from '../../src/evidence/types.js';
import type { CommitInfo } from '../../src/git/types.js';
import { evidenceFile } from '../helpers/evidence.js';

const SHA = '1'.repeat(40);
const PARENT = '2'.repeat(40);

function commit(overrides: Partial<CommitInfo> = {}): CommitInfo {
  const person = { name: 'Alice Example', email: 'alice@example.com', date: '2024-01-02T03:04:05+01:00', timestamp: 1_704_161_045, timezone: '+0100' };
  return {
    sha: SHA,
    parents: [PARENT],
    author: person,
    committer: person,
    subject: 'Fix the parser',
    body: '',
    trailers: [],
    ...overrides,
  };
}

function file(path: string, overrides: Partial<EvidenceFile> = {}): EvidenceFile {
  return evidenceFile(path, overrides);
}

function evidence(files: EvidenceFile[], overrides: Partial<Evidence> = {}): Evidence {
  return {
    repository: '/repo/.git',
    commit: commit(),
    identity: { id: 'f'.repeat(40), source: 'patch-id' },
    base: { kind: 'parent', parent: PARENT },
    mergePolicy: 'first-parent',
    files,
    directories: null,
    redactions: 0,
    notes: [],
    tokenBudget: 4000,
    estimatedTokens: 0,
    ...overrides,
  };
}

describe('renderHeader', () => {
  it('shows commit, parents and author', () => {
    const lines = renderHeader(commit(), []).split('\n');

    expect(lines.slice(0, 3)).toEqual([
      `Commit: ${SHA}`,
      `Parents: ${PARENT}`,
      'Author: Alice Example <alice@example.com> 2024-01-02T03:04:05+01:00',
    ]);
  });

  it('root commit says it has no parent', () => {
    expect(renderHeader(commit({ parents: [] }), [])).toContain('Parents: none (root commit)\n');
  });

  it('merge lists every parent', () => {
    expect(renderHeader(commit({ parents: [PARENT, '3'.repeat(40)] }), [])).toContain(`Parents: ${PARENT} ${'3'.repeat(40)}\n`);
  });

  it('committer appears only when different', () => {
    const cid = { name: 'Cid Committer', email: 'cid@example.com', date: '2024-01-03T00:00:00+00:00', timestamp: 1_704_240_000, timezone: '+0000' };

    expect(renderHeader(commit(), [])).not.toContain('Committer:');
    expect(renderHeader(commit({ committer: cid }), [])).toContain('Committer: Cid Committer <cid@example.com> 2024-01-03T00:00:00+00:00\n');
  });

  it('message has subject then body', () => {
    const text = renderHeader(commit({ body: 'Longer explanation.\n\nSigned-off-by: Alice Example <alice@example.com>' }), []);

    expect(text).toContain('Message:\nFix the parser\n\nLonger explanation.\n\nSigned-off-by: Alice Example <alice@example.com>\n');
  });

  it('empty body adds no blank paragraph', () => {
    expect(renderHeader(commit(), [])).toMatch(/Message:\nFix the parser\n$/);
  });

  it('notes are listed', () => {
    const text = renderHeader(commit(), ['Root commit.', 'Merge policy.']);

    expect(text).toMatch(/\nNotes:\n- Root commit\.\n- Merge policy\.\n$/);
  });

  it('no notes print no heading', () => {
    expect(renderHeader(commit(), [])).not.toContain('Notes:');
  });
});

describe('renderFileLine', () => {
  it('shows status, path, counts and coverage', () => {
    expect(renderFileLine(file('src/app.ts'))).toBe('- modified  src/app.ts  +2 -1  [full]');
  });

  it('binary file shows no counts', () => {
    expect(renderFileLine(file('a.png', { binary: true, additions: null, deletions: null, coverage: 'excluded: binary' }))).toBe(
      '- modified  a.png  binary  [excluded: binary]',
    );
  });

  it('rename shows both paths and similarity', () => {
    const line = renderFileLine(file('lib/new.ts', { status: 'renamed', oldPath: 'lib/old.ts', similarity: 85 }));

    expect(line).toBe('- renamed  lib/old.ts -> lib/new.ts (85% similar)  +2 -1  [full]');
  });

  it('mode change shows both modes', () => {
    const line = renderFileLine(
      file('run.sh', { modeChanged: true, newMode: '100755', additions: 0, deletions: 0, flags: ['mode-only'] }),
    );

    expect(line).toBe('- modified  run.sh  +0 -0  mode 100644 -> 100755  [full]');
  });

  it('submodule shows both commits', () => {
    const line = renderFileLine(
      file('libs/sub', { submodule: { oldCommit: 'c'.repeat(40), newCommit: null }, status: 'deleted', flags: ['submodule'] }),
    );

    expect(line).toBe(`- deleted  libs/sub  +2 -1  submodule ${'c'.repeat(40)} -> none  [full]`);
  });

  it('flags are spelled out', () => {
    const line = renderFileLine(file('a.txt', { flags: ['no-trailing-newline', 'non-utf8'] }));

    expect(line).toContain('(no newline at the end of the file; content is not valid UTF-8 and is shown with replacement characters)');
  });

  it('partial and stats-only marks are shown', () => {
    expect(renderFileLine(file('a.ts', { coverage: 'partial' }))).toMatch(/\[partial\]$/);
    expect(renderFileLine(file('a.ts', { coverage: 'stats only' }))).toMatch(/\[stats only\]$/);
  });
});

describe('quotePath', () => {
  it.each(['src/app.ts', 'with space.txt', 'naïve/日本語.ts', 'emoji 🎉.md', "single'quote.txt", '$(touch pwned).txt', 'back\\slash.txt'])(
    'leaves %j as it is',
    (path) => {
      expect(quotePath(path)).toBe(path);
    },
  );

  it.each([
    ['new\nline.txt', '"new\\nline.txt"'],
    ['tab\there.txt', '"tab\\there.txt"'],
    ['bell\u0007.txt', '"bell\\u0007.txt"'],
    ['delete\u007f.txt', '"delete\u007f.txt"'],
    [' leading space.txt', '" leading space.txt"'],
    ['trailing space.txt ', '"trailing space.txt "'],
    ['"quoted".txt', '"\\"quoted\\".txt"'],
  ])('quotes %j', (path, quoted) => {
    expect(quotePath(path)).toBe(quoted);
  });

  it('quoted path reads back exactly', () => {
    const path = 'moved\ttab\nand newline.txt';

    expect(JSON.parse(quotePath(path))).toBe(path);
  });
});

describe('renderFileSection', () => {
  it('lists files with totals', () => {
    const text = renderFileSection(evidence([file('a.ts'), file('b.ts', { additions: 5, deletions: 0 })]));

    expect(text).toBe('Changed files (2, +7 -1):\n- modified  a.ts  +2 -1  [full]\n- modified  b.ts  +5 -0  [full]\n');
  });

  it('control characters never break a file line', () => {
    const files = [file('new\nline.txt'), file('tab\there.txt'), file('carriage\rreturn.txt')];
    const lines = renderFileSection(evidence(files)).trimEnd().split('\n');

    expect(lines).toHaveLength(4);
    expect(lines.slice(1).every((line) => line.startsWith('- modified  "'))).toBe(true);
  });

  it('directory groups replace the list', () => {
    const files = [file('src/a.ts'), file('b.ts', { coverage: 'excluded: lockfile' })];
    const text = renderFileSection(
      evidence(files, {
        directories: [
          { directory: '', files: 1, additions: 2, deletions: 1, excluded: 1 },
          { directory: 'src', files: 1, additions: 2, deletions: 1, excluded: 0 },
          { directory: OTHER_DIRECTORIES, files: 30, additions: 60, deletions: 0, excluded: 0 },
        ],
      }),
    );

    expect(text).toBe(
      [
        'Changed files (2, +4 -2), too many to list, grouped by directory:',
        '- (top level)  1 files  +2 -1, 1 excluded',
        '- src/  1 files  +2 -1',
        '- (other directories)  30 files  +60 -0',
        '',
      ].join('\n'),
    );
  });

  it('directory names with control characters are quoted', () => {
    const text = renderFileSection(evidence([file('a\nb/c.ts')], { directories: [{ directory: 'a\nb', files: 1, additions: 2, deletions: 1, excluded: 0 }] }));

    expect(text.split('\n')[1]).toBe('- "a\\nb"/  1 files  +2 -1');
  });
});

describe('renderEvidence', () => {
  it('puts header, list and diffs in order', () => {
    const text = renderEvidence(
      evidence([file('a.ts', { patch: '@@ -1 +1 @@\n-x\n+y\n' }), file('b.ts', { coverage: 'stats only' })], { notes: ['A note.'] }),
    );

    const commitAt = text.indexOf('Commit: ');
    const notesAt = text.indexOf('Notes:');
    const listAt = text.indexOf('Changed files');
    const diffAt = text.indexOf('Diff of a.ts [full]:\n@@ -1 +1 @@\n-x\n+y\n');
    expect(commitAt).toBe(0);
    expect(notesAt).toBeGreaterThan(commitAt);
    expect(listAt).toBeGreaterThan(notesAt);
    expect(diffAt).toBeGreaterThan(listAt);
  });

  it('files without a patch get no diff section', () => {
    const text = renderEvidence(evidence([file('a.ts'), file('b.ts', { coverage: 'excluded: lockfile' })]));

    expect(text).not.toContain('Diff of');
  });

  it('diff heading quotes the path and shows coverage', () => {
    const text = renderEvidence(evidence([file('new\nline.txt', { coverage: 'partial', patch: '@@ -1 +1 @@\n+z\n' })]));

    expect(text).toContain('Diff of "new\\nline.txt" [partial]:\n');
  });
});

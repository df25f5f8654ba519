import { describe, expect, it } from 'vitest';

import { groupByDirectory, OTHER_DIRECTORIES } from '../../src/evidence/directories.js';
import { renderFileSection } from '../../src/evidence/render.js';
import type { DirectoryGroup, Evidence, EvidenceFile } from '../../src/evidence/types.js';
import { evidenceFile } from '../helpers/evidence.js';

function file(path: string, additions: number | null = 1, deletions: number | null = 0, coverage: EvidenceFile['coverage'] = 'full'): EvidenceFile {
  return evidenceFile(path, { additions, deletions, binary: additions === null, coverage });
}

function directories(groups: readonly DirectoryGroup[]): string[] {
  return groups.map((group) => group.directory);
}

function totals(groups: readonly DirectoryGroup[]): Omit<DirectoryGroup, 'directory'> {
  return groups.reduce(
    (sum, group) => ({
      files: sum.files + group.files,
      additions: sum.additions + group.additions,
      deletions: sum.deletions + group.deletions,
      excluded: sum.excluded + group.excluded,
    }),
    { files: 0, additions: 0, deletions: 0, excluded: 0 },
  );
}

/** Renders the groups the way the evidence shows them, without the heading line. */
function renderedGroupLines(files: EvidenceFile[], groups: DirectoryGroup[]): string {
  const evidence = { files, directories: groups } as Evidence;
  const text = renderFileSection(evidence);
  return text.slice(text.indexOf('\n') + 1);
}

describe('groupByDirectory depth', () => {
  const files = [file('src/git/a.ts'), file('src/git/b.ts'), file('src/evidence/c.ts'), file('test/d.ts'), file('README.md')];

  it('uses the deepest grouping that fits', () => {
    const groups = groupByDirectory(files, 10_000);

    expect(directories(groups)).toEqual(['', 'src/evidence', 'src/git', 'test']);
  });

  it('falls back to a shallower grouping', () => {
    const deep = groupByDirectory(files, 10_000);
    const shallow = groupByDirectory(files, 100);

    expect(Buffer.byteLength(renderedGroupLines(files, deep))).toBeGreaterThan(100);
    expect(directories(shallow)).toEqual(['', 'src', 'test']);
    expect(Buffer.byteLength(renderedGroupLines(files, shallow))).toBeLessThanOrEqual(100);
  });

  it('counts files and lines per group', () => {
    const groups = groupByDirectory([file('a/x', 3, 1), file('a/y', 2, 2), file('b/z', null, null)], 10_000);

    expect(groups).toEqual([
      { directory: 'a', files: 2, additions: 5, deletions: 3, excluded: 0 },
      { directory: 'b', files: 1, additions: 0, deletions: 0, excluded: 0 },
    ]);
  });

  it('counts excluded files', () => {
    const groups = groupByDirectory([file('lib/a.js', 1, 0, 'excluded: vendored'), file('lib/b.js')], 10_000);

    expect(groups[0]?.excluded).toBe(1);
  });

  it('top-level files group under the empty name', () => {
    const groups = groupByDirectory([file('a.txt'), file('b.txt')], 10_000);

    expect(groups).toEqual([{ directory: '', files: 2, additions: 2, deletions: 0, excluded: 0 }]);
  });

  it('groups are sorted by directory', () => {
    const groups = groupByDirectory([file('zeta/a'), file('alpha/b'), file('mid/c')], 10_000);

    expect(directories(groups)).toEqual(['alpha', 'mid', 'zeta']);
  });

  it('every file is counted once', () => {
    const many = Array.from({ length: 500 }, (_, index) => file(`d${index % 7}/e${index % 3}/f${index}.ts`, index % 5, index % 2));
    for (const maxBytes of [100, 400, 1000, 100_000]) {
      const sums = totals(groupByDirectory(many, maxBytes));

      expect(sums.files).toBe(500);
      expect(sums.additions).toBe(many.reduce((total, entry) => total + (entry.additions ?? 0), 0));
      expect(sums.deletions).toBe(many.reduce((total, entry) => total + (entry.deletions ?? 0), 0));
    }
  });
});

describe('groupByDirectory bounds', () => {
  /** 5,000 files in 5,000 top-level folders: even one level is far too long. */
  const scattered = Array.from({ length: 5000 }, (_, index) => file(`package-${String(index).padStart(4, '0')}/index.ts`, index, 0));

  it('folds the rest into other directories', () => {
    const groups = groupByDirectory(scattered, 600);

    expect(groups.length).toBeGreaterThan(1);
    expect(groups.length).toBeLessThan(20);
    expect(groups[groups.length - 1]?.directory).toBe(OTHER_DIRECTORIES);
  });

  it('keeps the directories with most changed lines', () => {
    const groups = groupByDirectory(scattered, 600);
    const kept = groups.filter((group) => group.directory !== OTHER_DIRECTORIES);

    expect(directories(kept)).toEqual(directories(kept).map((_, position) => `package-${4999 - position}`));
  });

  it('folded groups keep the totals', () => {
    const sums = totals(groupByDirectory(scattered, 600));

    expect(sums.files).toBe(5000);
    expect(sums.additions).toBe((4999 * 5000) / 2);
  });

  it.each([500, 5000, 50_000])('output stays bounded with %i files', (count) => {
    const spread = Array.from({ length: count }, (_, index) => file(`package-${index}/index.ts`, index, 0));
    const groups = groupByDirectory(spread, 600);

    expect(Buffer.byteLength(renderedGroupLines(spread, groups))).toBeLessThanOrEqual(600);
    expect(totals(groups).files).toBe(count);
  });

  it('no room for one line gives no groups', () => {
    expect(groupByDirectory(scattered, 0)).toEqual([]);
    expect(groupByDirectory(scattered, 40)).toEqual([]);
  });

  it('room for one line gives the other group', () => {
    const groups = groupByDirectory(scattered, 70);

    expect(groups).toEqual([{ directory: OTHER_DIRECTORIES, files: 5000, additions: (4999 * 5000) / 2, deletions: 0, excluded: 0 }]);
  });

  it.each([200, 600, 2000, 20_000])('rendered lines fit %i bytes', (maxBytes) => {
    const groups = groupByDirectory(scattered, maxBytes);

    expect(Buffer.byteLength(renderedGroupLines(scattered, groups))).toBeLessThanOrEqual(maxBytes);
  });

  it('rendered lines fit with quoted and non-ASCII names', () => {
    const named = Array.from({ length: 400 }, (_, index) => file(`${index % 2 === 0 ? '日本語' : 'tab\tnew\nline'}-${index}/x.ts`, index, 1));
    for (const maxBytes of [100, 300, 1000]) {
      const groups = groupByDirectory(named, maxBytes);

      expect(Buffer.byteLength(renderedGroupLines(named, groups))).toBeLessThanOrEqual(maxBytes);
    }
  });

  it('rendered lines fit with large counts', () => {
    // A vendor drop: folders of 20,000 files, each folder +5,000,000 -5,000,000 lines, half excluded.
    const crowded = Array.from({ length: 12 * 20_000 }, (_, index) =>
      file(`vendor-${index % 12}/lib/${index}.js`, 250, 250, index % 2 === 0 ? 'excluded: vendored' : 'full'),
    );
    for (const maxBytes of [150, 300, 600]) {
      const groups = groupByDirectory(crowded, maxBytes);

      expect(Buffer.byteLength(renderedGroupLines(crowded, groups))).toBeLessThanOrEqual(maxBytes);
    }
  });
});

import { describe, expect, it } from 'vitest';

import { allocateBudget, type BudgetClaim, PatchCollector, truncateLines } from '../../src/evidence/allocate.js';
import { type PatchSection, PatchStream } from '../../src/git/patch-stream.js';

/** Returns a seeded generator of floats in [0, 1), so every run gets the same cases. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

function lines(...texts: string[]): Buffer[] {
  return texts.map((text) => Buffer.from(`${text}\n`));
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const value of values) {
    total += value;
  }
  return total;
}

/**
 * Oracle for one priority level: the largest integer water level whose capped sizes fit
 * `budget`. Every claim gets min(size, level), and the bytes left over (fewer than the
 * claims above the level) go one each to claims above it.
 */
function waterLevel(sizes: readonly number[], budget: number): number {
  let low = 0;
  let high = Math.max(0, ...sizes);
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (sum(sizes.map((size) => Math.min(size, middle))) <= budget) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  return low;
}

describe('allocateBudget', () => {
  it('no claims give no shares', () => {
    expect(allocateBudget([], 100).size).toBe(0);
  });

  it('small claim gets its size', () => {
    expect(allocateBudget([{ key: 1, priority: 0, size: 40 }], 100).get(1)).toBe(40);
  });

  it('large claim gets the budget', () => {
    expect(allocateBudget([{ key: 1, priority: 0, size: 400 }], 100).get(1)).toBe(100);
  });

  it('equal claims share equally', () => {
    const shares = allocateBudget(
      [
        { key: 1, priority: 0, size: 500 },
        { key: 2, priority: 0, size: 500 },
      ],
      300,
    );

    expect([...shares.values()]).toEqual([150, 150]);
  });

  it('small claim leaves its rest to the others', () => {
    const shares = allocateBudget(
      [
        { key: 1, priority: 0, size: 1000 },
        { key: 2, priority: 0, size: 10 },
        { key: 3, priority: 0, size: 1000 },
      ],
      150,
    );

    expect(shares.get(2)).toBe(10);
    expect(shares.get(1)).toBe(70);
    expect(shares.get(3)).toBe(70);
  });

  it('higher priority is served first', () => {
    const shares = allocateBudget(
      [
        { key: 1, priority: 2, size: 100 },
        { key: 2, priority: 0, size: 80 },
        { key: 3, priority: 1, size: 100 },
      ],
      150,
    );

    expect(shares.get(2)).toBe(80);
    expect(shares.get(3)).toBe(70);
    expect(shares.get(1)).toBe(0);
  });

  it('lower priority gets only the rest', () => {
    const shares = allocateBudget(
      [
        { key: 1, priority: 1, size: 5 },
        { key: 2, priority: 0, size: 500 },
      ],
      100,
    );

    expect(shares.get(2)).toBe(100);
    expect(shares.get(1)).toBe(0);
  });

  it('uneven split hands out every byte', () => {
    const claims = [1, 2, 3].map((key) => ({ key, priority: 0, size: 100 }));
    const shares = allocateBudget(claims, 10);

    expect(sum(shares.values())).toBe(10);
    expect(Math.max(...shares.values()) - Math.min(...shares.values())).toBe(1);
  });

  it('fractional budget is rounded down', () => {
    expect(allocateBudget([{ key: 1, priority: 0, size: 100 }], 10.9).get(1)).toBe(10);
  });

  it('negative budget grants nothing', () => {
    expect(allocateBudget([{ key: 1, priority: 0, size: 100 }], -5).get(1)).toBe(0);
  });

  it('zero-size claim gets zero', () => {
    expect(allocateBudget([{ key: 1, priority: 0, size: 0 }], 100).get(1)).toBe(0);
  });

  it('matches the max-min oracle on random claims', () => {
    const next = random(3);
    for (let round = 0; round < 200; round += 1) {
      const claims: BudgetClaim[] = Array.from({ length: 1 + Math.floor(next() * 20) }, (_, key) => ({
        key,
        priority: Math.floor(next() * 3),
        size: Math.floor(next() * next() * 5000),
      }));
      const budget = Math.floor(next() * 20_000);
      const shares = allocateBudget(claims, budget);

      let remaining = budget;
      for (const priority of [0, 1, 2]) {
        const group = claims.filter((claim) => claim.priority === priority);
        const level = waterLevel(
          group.map((claim) => claim.size),
          remaining,
        );
        const granted = sum(group.map((claim) => shares.get(claim.key) ?? -1));

        expect(granted).toBe(Math.min(remaining, sum(group.map((claim) => claim.size))));
        for (const claim of group) {
          const share = shares.get(claim.key) ?? -1;
          expect(share === Math.min(claim.size, level) || (claim.size > level && share === level + 1)).toBe(true);
        }
        remaining -= granted;
      }
    }
  });
});

describe('truncateLines', () => {
  const hunks = lines('@@ -1,2 +1,2 @@', '-old', '+new', '@@ -9 +9 @@ context', '-nine', '+NINE');
  const total = sum(hunks.map((line) => line.length));

  it('everything fits', () => {
    const result = truncateLines(hunks, total);

    expect(result).toEqual({ lines: hunks, keptBytes: total, cut: false });
  });

  it('keeps a prefix of whole lines', () => {
    const result = truncateLines(hunks, 25);

    expect(result.lines).toEqual(hunks.slice(0, 2));
    expect(result.keptBytes).toBe(21);
    expect(result.cut).toBe(true);
  });

  it('drops a hunk header left alone', () => {
    // The first three lines and the second header fit, but the header's first line does not.
    const upToHeader = sum(hunks.slice(0, 4).map((line) => line.length));
    const result = truncateLines(hunks, upToHeader + 2);

    expect(result.lines).toEqual(hunks.slice(0, 3));
    expect(result.keptBytes).toBe(sum(hunks.slice(0, 3).map((line) => line.length)));
  });

  it('first header alone gives nothing', () => {
    const result = truncateLines(hunks, 18);

    expect(result.lines).toEqual([]);
    expect(result.keptBytes).toBe(0);
    expect(result.cut).toBe(true);
  });

  it('zero bytes keep nothing', () => {
    expect(truncateLines(hunks, 0)).toEqual({ lines: [], keptBytes: 0, cut: true });
  });

  it('no budget leaves a dangling header', () => {
    for (let bytes = 0; bytes <= total; bytes += 1) {
      const result = truncateLines(hunks, bytes);
      const last = result.lines[result.lines.length - 1];

      expect(last?.toString('utf8').startsWith('@@') ?? false).toBe(false);
      expect(result.keptBytes).toBeLessThanOrEqual(bytes);
      expect(result.keptBytes).toBe(sum(result.lines.map((line) => line.length)));
      expect(result.lines).toEqual(hunks.slice(0, result.lines.length));
    }
  });

  it('consecutive headers are all dropped', () => {
    const odd = lines('@@ -1 +1 @@', '+a', '@@ -5 +5 @@', '@@ -9 +9 @@', '+b');
    const result = truncateLines(odd, 12 + 3 + 12 + 12 + 2);

    expect(result.lines).toEqual(odd.slice(0, 2));
  });
});

/** Builds a section as PatchStream hands it over: `size` bytes of 1-byte lines, of which the first `limit` are kept. */
function byteSection(index: number, size: number, limit: number): PatchSection {
  const kept = Math.max(0, Math.min(size, limit));
  return {
    index,
    header: `diff --git a/f${index} b/f${index}`,
    totalBytes: size,
    lines: Array.from({ length: kept }, () => Buffer.from('\n')),
    keptBytes: kept,
    truncated: kept < size,
    hunkCount: 1,
    additions: 0,
    deletions: 0,
    noTrailingNewline: false,
    oldLacksNewline: false,
    lineEndingOnly: false,
    binary: false,
    longLines: false,
  };
}

interface CollectorRun {
  budget: number;
  priorities: number[];
  sizes: number[];
  final: Map<number, PatchSection>;
  /** The kept bytes of every section added so far, measured after each add. */
  keptAfterEachAdd: number[];
}

/** Streams sections of the given sizes into a collector, as the evidence builder does, limiting each when it starts. */
function collect(budget: number, priorities: number[], sizes: number[]): CollectorRun {
  const collector = new PatchCollector(budget, (index) => priorities[index] as number, { slackBytes: 0 });
  const added: PatchSection[] = [];
  const keptAfterEachAdd: number[] = [];

  sizes.forEach((size, index) => {
    const section = byteSection(index, size, collector.limitFor(index));
    added.push(section);
    collector.add(section);
    keptAfterEachAdd.push(sum(added.map((entry) => entry.keptBytes)));
  });

  return { budget, priorities, sizes, final: collector.finish(), keptAfterEachAdd };
}

function randomRun(seed: number, exactSplit: boolean): CollectorRun {
  const next = random(seed);
  const count = 20 + Math.floor(next() * 200);
  const priorities = Array.from({ length: count }, () => Math.floor(next() * 3));
  const sizes = Array.from({ length: count }, () => Math.floor(next() * next() * 4000));
  let budget = 500 + Math.floor(next() * 20_000);

  if (exactSplit) {
    // Lower the budget by the bytes the integer split hands out one by one, so that
    // every share is exactly min(size, level) and no rounding choice is left. Only the
    // priority where the budget runs out has such bytes.
    let remaining = budget;
    for (const priority of [0, 1, 2]) {
      const group = sizes.filter((_, key) => priorities[key] === priority);
      if (sum(group) <= remaining) {
        remaining -= sum(group);
        continue;
      }

      const level = waterLevel(group, remaining);
      budget -= remaining - sum(group.map((size) => Math.min(size, level)));
      break;
    }
  }

  return collect(budget, priorities, sizes);
}

describe('PatchCollector', () => {
  it('keeps memory near the budget while sections stream', () => {
    for (let seed = 1; seed <= 50; seed += 1) {
      const run = randomRun(seed, false);

      expect(Math.max(...run.keptAfterEachAdd)).toBeLessThanOrEqual(2 * run.budget);
    }
  });

  it('many sections never hold more than twice the budget', () => {
    const run = collect(
      1000,
      Array.from({ length: 5000 }, (_, index) => index % 3),
      Array.from({ length: 5000 }, () => 700),
    );

    expect(Math.max(...run.keptAfterEachAdd)).toBeLessThanOrEqual(2000);
    expect(sum([...run.final.values()].map((section) => section.keptBytes))).toBe(1000);
  });

  it('final shares equal the oracle when the split is exact', () => {
    for (let seed = 1; seed <= 100; seed += 1) {
      const run = randomRun(seed, true);
      const oracle = allocateBudget(
        run.sizes.map((size, key) => ({ key, priority: run.priorities[key] as number, size })),
        run.budget,
      );

      const kept = run.sizes.map((_, index) => run.final.get(index)?.keptBytes ?? -1);
      expect(kept).toEqual(run.sizes.map((_, index) => oracle.get(index)));
    }
  });

  it('final shares match the oracle up to rounding', () => {
    for (let seed = 101; seed <= 200; seed += 1) {
      const run = randomRun(seed, false);
      const oracle = allocateBudget(
        run.sizes.map((size, key) => ({ key, priority: run.priorities[key] as number, size })),
        run.budget,
      );
      const kept = run.sizes.map((_, index) => run.final.get(index)?.keptBytes ?? -1);

      // The integer split hands single leftover bytes to claims in size order, which
      // may differ between kept and full sizes. The total never differs.
      expect(sum(kept)).toBe(sum(oracle.values()));
      for (const [index, bytes] of kept.entries()) {
        expect(Math.abs(bytes - (oracle.get(index) as number))).toBeLessThanOrEqual(1);
      }
    }
  });

  it('cut sections are marked truncated', () => {
    const run = collect(100, [0, 0], [80, 80]);

    expect(run.final.get(0)).toMatchObject({ keptBytes: 50, truncated: true });
    expect(run.final.get(1)).toMatchObject({ keptBytes: 50, truncated: true });
  });

  it('limit leaves room after higher priorities', () => {
    const collector = new PatchCollector(100, (index) => (index === 0 ? 0 : 1), { slackBytes: 0 });
    collector.add(byteSection(0, 70, collector.limitFor(0)));

    expect(collector.limitFor(1)).toBe(30);
    expect(collector.limitFor(0)).toBe(100);
  });

  it('real sections keep whole lines within the budget', () => {
    const next = random(17);
    const budget = 3000;
    const priorities: number[] = [];
    let diff = '';
    for (let index = 0; index < 60; index += 1) {
      priorities.push(Math.floor(next() * 3));
      diff += `diff --git a/f${index} b/f${index}\n@@ -1,2 +1,2 @@\n`;
      const count = Math.floor(next() * next() * 120);
      for (let line = 0; line < count; line += 1) {
        diff += `+${'x'.repeat(Math.floor(next() * 90))}\n`;
      }
    }

    const full: PatchSection[] = [];
    const fullStream = new PatchStream({ limitFor: () => Number.MAX_SAFE_INTEGER, onSection: (section) => full.push(section) });
    fullStream.write(Buffer.from(diff));
    fullStream.end();

    const collector = new PatchCollector(budget, (index) => priorities[index] as number, { slackBytes: 0 });
    const added: PatchSection[] = [];
    let maxKept = 0;
    const stream = new PatchStream({
      limitFor: (index) => collector.limitFor(index),
      onSection: (section) => {
        added.push(section);
        collector.add(section);
        maxKept = Math.max(maxKept, sum(added.map((entry) => entry.keptBytes)));
      },
    });
    stream.write(Buffer.from(diff));
    stream.end();
    const final = collector.finish();

    const oracle = allocateBudget(
      full.map((section) => ({ key: section.index, priority: priorities[section.index] as number, size: section.totalBytes })),
      budget,
    );
    expect(maxKept).toBeLessThanOrEqual(2 * budget);
    expect(sum([...final.values()].map((section) => section.keptBytes))).toBeLessThanOrEqual(budget);
    for (const section of full) {
      const kept = final.get(section.index) as PatchSection;
      const share = oracle.get(section.index) as number;

      expect(kept.lines).toEqual(section.lines.slice(0, kept.lines.length));
      // Nothing the oracle's share needs is dropped, up to the rounding of the integer split.
      expect(kept.keptBytes).toBeGreaterThanOrEqual(truncateLines(section.lines, share - 1).keptBytes);
    }
  });
});

describe('allocateBudget floors', () => {
  it('shares among all when every floor fits', () => {
    const claims = [1, 2, 3].map((key) => ({ key, priority: 0, size: 1000, floor: 100, rank: key }));

    const shares = allocateBudget(claims, 600);

    expect([...shares.values()]).toEqual([200, 200, 200]);
  });

  it('gives the highest ranks whole floors', () => {
    const claims = [1, 2, 3, 4].map((key) => ({ key, priority: 0, size: 1000, floor: 300, rank: key * 10 }));

    const shares = allocateBudget(claims, 700);

    expect(shares.get(4)).toBe(350);
    expect(shares.get(3)).toBe(350);
    expect(shares.get(2)).toBe(0);
    expect(shares.get(1)).toBe(0);
  });

  it('counts a small claim at its size', () => {
    const claims = [
      { key: 1, priority: 0, size: 50, floor: 300, rank: 1 },
      { key: 2, priority: 0, size: 1000, floor: 300, rank: 2 },
    ];

    const shares = allocateBudget(claims, 350);

    expect(shares.get(1)).toBe(50);
    expect(shares.get(2)).toBe(300);
  });
});

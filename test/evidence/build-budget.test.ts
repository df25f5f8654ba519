import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { buildEvidence, type EvidenceOptions, MIN_TOKEN_BUDGET } from '../../src/evidence/build.js';
import { renderEvidence } from '../../src/evidence/render.js';
import { estimateTokens } from '../../src/evidence/tokens.js';
import type { Coverage, Evidence, EvidenceFile } from '../../src/evidence/types.js';
import { readCommit } from '../../src/git/commit.js';
import { changeIdentity } from '../../src/git/patch-id.js';
import { openRepository } from '../../src/git/repository.js';
import type { MergePolicy, Repository } from '../../src/git/types.js';
import { numberedLines, RepoBuilder } from '../helpers/repo-builder.js';
import { buildRepo, type RepoName } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';

async function evidenceOf(name: RepoName, role: string, options: Partial<EvidenceOptions> = {}, build = {}): Promise<Evidence> {
  const state = buildRepo(name, build);
  const repo = await openRepository(state.dir);
  return buildEvidence(repo, state.commits[role] as string, { tokenBudget: 4000, ...options });
}

function fileAt(evidence: Evidence, filePath: string): EvidenceFile {
  const found = evidence.files.find((entry) => entry.path === filePath);
  if (!found) {
    throw new Error(`file ${filePath} not found in the evidence, which lists ${evidence.files.map((entry) => entry.path).join(', ')}`);
  }
  return found;
}

/** Ranks how much of a file is shown, so that coverages compare as numbers. */
function rank(coverage: Coverage): number {
  return { full: 2, partial: 1, 'stats only': 0 }[coverage as string] ?? -1;
}

/** Returns the shown part of a partial patch, without the line that counts what was left out. */
function shownPart(patch: string | null): string {
  return (patch ?? '').replace(/… \(\d+ more bytes of this file's diff not shown\)\n$/, '');
}

interface CustomRepo {
  repo: Repository;
  sha: string;
}

/** Creates a commit that adds one source, one test and one docs file of 150 lines each. */
async function categoriesRepo(): Promise<CustomRepo> {
  const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
  builder.write('src/engine.ts', numberedLines(150, 'export const engineSetting ='));
  builder.write('test/engine.test.ts', numberedLines(150, 'expect(engineSetting).toBe'));
  builder.write('docs/engine.md', numberedLines(150, 'The engine documentation line'));
  const sha = builder.commit('Add the engine\n');
  return { repo: await openRepository(builder.dir), sha };
}

/** Creates a commit that adds two large source files and a small one. */
async function fairnessRepo(): Promise<CustomRepo> {
  const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
  builder.write('src/alpha.ts', numberedLines(600, 'export const alphaValue ='));
  builder.write('src/beta.ts', numberedLines(600, 'export const betaValue ='));
  builder.write('src/gamma.ts', numberedLines(3, 'export const gammaValue ='));
  const sha = builder.commit('Add three modules\n');
  return { repo: await openRepository(builder.dir), sha };
}

describe('buildEvidence token budget option', () => {
  it.each([0, -1, MIN_TOKEN_BUDGET - 1, 1000.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('rejects %s', async (tokenBudget) => {
    await expect(evidenceOf('modify', 'modify', { tokenBudget })).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('rejects a string', async () => {
    await expect(evidenceOf('modify', 'modify', { tokenBudget: '4000' as unknown as number })).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('error names the option and the minimum', async () => {
    await expect(evidenceOf('modify', 'modify', { tokenBudget: 10 })).rejects.toThrow(
      `invalid tokenBudget: expected an integer >= ${MIN_TOKEN_BUDGET}, received 10`,
    );
  });

  it('accepts the minimum', async () => {
    const evidence = await evidenceOf('modify', 'modify', { tokenBudget: MIN_TOKEN_BUDGET });

    expect(evidence.tokenBudget).toBe(MIN_TOKEN_BUDGET);
    expect(evidence.estimatedTokens).toBeLessThanOrEqual(MIN_TOKEN_BUDGET);
  });
});

describe('buildEvidence stays within the budget', () => {
  const cases: Array<[RepoName, string, MergePolicy]> = [
    ['modify', 'modify', 'first-parent'],
    ['odd-names', 'odd-add', 'first-parent'],
    ['odd-names', 'odd-modify', 'first-parent'],
    ['merge', 'evil-merge', 'combined'],
    ['secrets', 'secrets', 'first-parent'],
    ['root', 'root', 'first-parent'],
  ];

  it.each(cases)('%s %s at every budget', async (name, role, mergePolicy) => {
    for (const tokenBudget of [256, 300, 360, 450, 600, 900]) {
      const evidence = await evidenceOf(name, role, { tokenBudget, mergePolicy });

      expect(evidence.estimatedTokens).toBeLessThanOrEqual(tokenBudget);
      expect(evidence.estimatedTokens).toBe(estimateTokens(renderEvidence(evidence)));
    }
  });

  it('small budget keeps whole lines and a prefix', async () => {
    const { repo, sha } = await fairnessRepo();
    const whole = await buildEvidence(repo, sha, { tokenBudget: 100_000 });

    for (const tokenBudget of [300, 500, 700, 1100]) {
      const evidence = await buildEvidence(repo, sha, { tokenBudget });
      for (const entry of evidence.files.filter((file) => file.coverage === 'partial')) {
        const shown = shownPart(entry.patch);

        expect(fileAt(whole, entry.path).patch?.startsWith(shown)).toBe(true);
        expect(shown.endsWith('\n')).toBe(true);
        expect(shown).not.toMatch(/(^|\n)@@[^\n]*\n$/);
      }
    }
  });

  it('partial patch counts the bytes left out', async () => {
    const { repo, sha } = await fairnessRepo();
    const alpha = fileAt(await buildEvidence(repo, sha, { tokenBudget: 600 }), 'src/alpha.ts');
    const omitted = /… \((\d+) more bytes of this file's diff not shown\)\n$/.exec(alpha.patch ?? '');

    expect(alpha.coverage).toBe('partial');
    expect(Number(omitted?.[1])).toBe(alpha.patchBytes - Buffer.byteLength(shownPart(alpha.patch)));
  });

  it('header larger than the budget shows no diff', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('src/a.ts', numberedLines(20, 'export const a ='));
    const sha = builder.commit(`Add a\n\n${'A very long explanation of the change. '.repeat(60)}\n`);
    const evidence = await buildEvidence(await openRepository(builder.dir), sha, { tokenBudget: MIN_TOKEN_BUDGET });

    expect(evidence.files.map((entry) => entry.coverage)).toEqual(['stats only']);
    expect(evidence.files[0]?.patch).toBeNull();
  });
});

describe('buildEvidence priorities', () => {
  it('source comes before tests before docs', async () => {
    const { repo, sha } = await categoriesRepo();
    const evidence = await buildEvidence(repo, sha, { tokenBudget: 1200 });

    expect(fileAt(evidence, 'src/engine.ts').category).toBe('source');
    expect(['full', 'partial']).toContain(fileAt(evidence, 'src/engine.ts').coverage);
    expect(fileAt(evidence, 'docs/engine.md').coverage).toBe('stats only');
    expect(evidence.estimatedTokens).toBeLessThanOrEqual(1200);
  });

  it('full source leaves the rest to tests', async () => {
    const { repo, sha } = await categoriesRepo();
    const evidence = await buildEvidence(repo, sha, { tokenBudget: 2600 });

    expect(fileAt(evidence, 'src/engine.ts').coverage).toBe('full');
    expect(fileAt(evidence, 'test/engine.test.ts').coverage).toBe('partial');
    expect(fileAt(evidence, 'docs/engine.md').coverage).toBe('stats only');
  });

  it('order holds at every budget', async () => {
    const { repo, sha } = await categoriesRepo();
    for (let tokenBudget = 300; tokenBudget <= 6000; tokenBudget += 300) {
      const evidence = await buildEvidence(repo, sha, { tokenBudget });
      const source = rank(fileAt(evidence, 'src/engine.ts').coverage);
      const test = rank(fileAt(evidence, 'test/engine.test.ts').coverage);
      const docs = rank(fileAt(evidence, 'docs/engine.md').coverage);

      expect({ tokenBudget, sourceAtLeastTest: source >= test, testAtLeastDocs: test >= docs }).toEqual({
        tokenBudget,
        sourceAtLeastTest: true,
        testAtLeastDocs: true,
      });
      for (const entry of evidence.files.filter((file) => file.patch !== null)) {
        expect(shownPart(entry.patch)).not.toMatch(/(^|\n)@@[^\n]*\n$/);
      }
    }
  });

  it('large budget shows everything', async () => {
    const { repo, sha } = await categoriesRepo();
    const evidence = await buildEvidence(repo, sha, { tokenBudget: 20_000 });

    expect(evidence.files.map((entry) => entry.coverage)).toEqual(['full', 'full', 'full']);
  });
});

describe('buildEvidence fairness', () => {
  it('small source file is shown whole', async () => {
    const { repo, sha } = await fairnessRepo();
    const evidence = await buildEvidence(repo, sha, { tokenBudget: 1500 });

    expect(fileAt(evidence, 'src/gamma.ts').coverage).toBe('full');
  });

  it('two large source files get similar shares', async () => {
    const { repo, sha } = await fairnessRepo();
    for (const tokenBudget of [800, 1500, 3000]) {
      const evidence = await buildEvidence(repo, sha, { tokenBudget });
      const alpha = Buffer.byteLength(shownPart(fileAt(evidence, 'src/alpha.ts').patch));
      const beta = Buffer.byteLength(shownPart(fileAt(evidence, 'src/beta.ts').patch));

      expect(fileAt(evidence, 'src/alpha.ts').coverage).toBe('partial');
      expect(fileAt(evidence, 'src/beta.ts').coverage).toBe('partial');
      // Whole lines of about 30 bytes and the final trim of the largest diff keep them from being equal.
      expect(Math.abs(alpha - beta)).toBeLessThanOrEqual(Math.max(alpha, beta) * 0.1 + 64);
    }
  });

  it('shares use most of the budget', async () => {
    const { repo, sha } = await fairnessRepo();
    const evidence = await buildEvidence(repo, sha, { tokenBudget: 3000 });

    expect(evidence.estimatedTokens).toBeLessThanOrEqual(3000);
    expect(evidence.estimatedTokens).toBeGreaterThan(3000 * 0.9);
  });
});

describe('buildEvidence huge diffs', () => {
  it('3 MiB file is partial within the budget', async () => {
    const evidence = await evidenceOf('huge-diff', 'huge', { tokenBudget: 4000 });
    const data = fileAt(evidence, 'big/data.txt');

    expect(data.coverage).toBe('partial');
    expect(data.patchBytes).toBeGreaterThan(3 * 1024 * 1024);
    expect(evidence.estimatedTokens).toBeLessThanOrEqual(4000);
    expect(Buffer.byteLength(renderEvidence(evidence))).toBeLessThanOrEqual(4000 * 3);
  });

  it('huge diff shows its first lines', async () => {
    const data = fileAt(await evidenceOf('huge-diff', 'huge', { tokenBudget: 4000 }), 'big/data.txt');

    expect(data.patch).toMatch(/^@@ -0,0 \+1,\d+ @@\n\+row 0000000000 x{48}\n\+row 0000000001 /);
    expect(data.patch).toMatch(/… \(\d+ more bytes of this file's diff not shown\)\n$/);
  });

  it('32 MiB file is partial within the budget', async () => {
    const evidence = await evidenceOf('huge-diff', 'huge', { tokenBudget: 8000 }, { hugeDiffBytes: 32 * 1024 * 1024 });
    const data = fileAt(evidence, 'big/data.txt');

    expect(data.coverage).toBe('partial');
    expect(data.patchBytes).toBeGreaterThan(32 * 1024 * 1024);
    expect(evidence.estimatedTokens).toBeLessThanOrEqual(8000);
  });

  it('huge diff keeps its identity', async () => {
    const state = buildRepo('huge-diff');
    const repo = await openRepository(state.dir);
    const evidence = await buildEvidence(repo, state.commits.huge as string, { tokenBudget: 4000 });

    expect(evidence.identity).toEqual(await changeIdentity(repo, await readCommit(repo, state.commits.huge as string)));
  });
});

describe('buildEvidence identity', () => {
  const states: Array<[RepoName, MergePolicy]> = [
    ['root', 'first-parent'],
    ['modify', 'first-parent'],
    ['rename', 'first-parent'],
    ['mode', 'first-parent'],
    ['binary', 'first-parent'],
    ['crlf', 'first-parent'],
    ['latin1', 'first-parent'],
    ['no-newline', 'first-parent'],
    ['odd-names', 'first-parent'],
    ['submodule', 'first-parent'],
    ['empty', 'first-parent'],
    ['merge', 'first-parent'],
    ['merge', 'combined'],
    ['merge', 'skip'],
    ['rewrites', 'first-parent'],
  ];

  it.each(states)('%s (%s) agrees with changeIdentity', async (name, mergePolicy) => {
    const state = buildRepo(name);
    const repo = await openRepository(state.dir);
    for (const [role, sha] of Object.entries(state.commits)) {
      if (role.startsWith('sub-')) {
        continue;
      }

      const evidence = await buildEvidence(repo, sha, { tokenBudget: 2000, mergePolicy });
      const expected = await changeIdentity(repo, await readCommit(repo, sha));
      expect({ role, identity: evidence.identity }).toEqual({ role, identity: expected });
    }
  });

  it.each(['rebased', 'cherry-picked', 'amended'])('%s copy has the original identity', async (role) => {
    const original = await evidenceOf('rewrites', 'original');
    const copy = await evidenceOf('rewrites', role);

    expect(copy.commit.sha).not.toBe(original.commit.sha);
    expect(copy.identity).toEqual(original.identity);
    expect(copy.identity.source).toBe('patch-id');
  });

  it.each(['empty-rebased', 'empty-picked', 'empty-amended'])('%s empty copy has the original identity', async (role) => {
    const original = await evidenceOf('rewrites', 'empty-original');

    expect((await evidenceOf('rewrites', role)).identity).toEqual(original.identity);
  });

  it('other change has another identity', async () => {
    const original = await evidenceOf('rewrites', 'original');
    const other = await evidenceOf('rewrites', 'other');

    expect(other.identity.id).not.toBe(original.identity.id);
  });

  it('identity does not depend on the budget', async () => {
    const small = await evidenceOf('odd-names', 'odd-modify', { tokenBudget: MIN_TOKEN_BUDGET });
    const large = await evidenceOf('odd-names', 'odd-modify', { tokenBudget: 100_000 });

    expect(small.identity).toEqual(large.identity);
  });
});

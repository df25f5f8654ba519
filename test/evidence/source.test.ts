import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { buildEvidence, MIN_TOKEN_BUDGET, readEvidenceSource } from '../../src/evidence/build.js';
import { readCommit } from '../../src/git/commit.js';
import { changeIdentity } from '../../src/git/patch-id.js';
import { openRepository } from '../../src/git/repository.js';
import { logGitProcesses } from '../helpers/git-processes.js';
import { numberedLines, RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

/** Builds a commit that edits twelve source files, two tests and a README (150 KB of diff), with one secret in a diff. */
function mixedCommit(): { builder: RepoBuilder; sha: string } {
  const builder = RepoBuilder.init(`${makeTempDir('stepper-source-')}/repo`);
  const files = [
    ...Array.from({ length: 12 }, (_, index) => `src/module-${index}.ts`),
    'test/module-0.test.ts',
    'test/module-1.test.ts',
    'README.md',
  ];
  for (const file of files) {
    builder.write(file, numberedLines(80, `export const ${file.replace(/\W/g, '_')}`));
  }
  builder.commit('Add the modules\n');

  for (const [index, file] of files.entries()) {
    builder.write(file, numberedLines(80 + index * 6, `export const ${file.replace(/\W/g, '_')} = 'changed text of line'`));
  }
  builder.write('src/config.ts', "export const key = 'AKIAQ7ZT3KXWJ5M2RB4N';\n");
  return { builder, sha: builder.commit('Change every module\n\nThe values now carry text.\n') };
}

describe('readEvidenceSource', () => {
  it('commit and identity match git', async () => {
    const { builder, sha } = mixedCommit();
    const repo = await openRepository(builder.dir);
    const source = await readEvidenceSource(repo, sha, { maxTokenBudget: 20_000 });
    const commit = await readCommit(repo, sha);

    expect(source.commit).toEqual(commit);
    expect(source.identity).toEqual(await changeIdentity(repo, commit));
    expect(source.repository).toBe(repo.gitDir);
    expect(source.mergePolicy).toBe('first-parent');
    expect(source.maxTokenBudget).toBe(20_000);
  });

  it('smaller budgets equal their own builds', async () => {
    const { builder, sha } = mixedCommit();
    const repo = await openRepository(builder.dir);
    const source = await readEvidenceSource(repo, sha, { maxTokenBudget: 30_000 });

    for (const tokenBudget of [MIN_TOKEN_BUDGET, 600, 1500, 4000, 12_000, 30_000]) {
      const built = await buildEvidence(repo, sha, { tokenBudget });
      expect(source.evidenceFor(tokenBudget), `budget ${tokenBudget}`).toEqual(built);
    }
  });

  it('budgets fit and show more as they grow', async () => {
    const { builder, sha } = mixedCommit();
    const repo = await openRepository(builder.dir);
    const source = await readEvidenceSource(repo, sha, { maxTokenBudget: 30_000 });
    const small = source.evidenceFor(1500);
    const large = source.evidenceFor(30_000);
    const shownBytes = (files: typeof small.files): number => files.reduce((sum, file) => sum + (file.patch?.length ?? 0), 0);
    const withDiff = (files: typeof small.files): number => files.filter((file) => file.patch !== null).length;

    expect(small.estimatedTokens).toBeLessThanOrEqual(1500);
    expect(large.estimatedTokens).toBeLessThanOrEqual(30_000);
    expect(shownBytes(small.files)).toBeLessThan(shownBytes(large.files));
    expect(withDiff(large.files)).toBeGreaterThan(withDiff(small.files));
    expect(small.files.map((file) => file.path)).toEqual(large.files.map((file) => file.path));
  });

  it('repeated budget redacts alike', async () => {
    const { builder, sha } = mixedCommit();
    const repo = await openRepository(builder.dir);
    const source = await readEvidenceSource(repo, sha, { maxTokenBudget: 30_000 });
    const first = source.evidenceFor(30_000);
    const second = source.evidenceFor(30_000);
    const config = second.files.find((file) => file.path === 'src/config.ts');

    expect(second).toEqual(first);
    expect(second.redactions).toBe(1);
    expect(config?.patch).toContain('[REDACTED:aws-access-key]');
    expect(config?.patch).not.toContain('AKIAQ7ZT3KXWJ5M2RB4N');
  });

  it('evidence objects are not shared', async () => {
    const { builder, sha } = mixedCommit();
    const repo = await openRepository(builder.dir);
    const source = await readEvidenceSource(repo, sha, { maxTokenBudget: 30_000 });
    const first = source.evidenceFor(4000);
    const expected = structuredClone(first);
    const firstFile = first.files[0];
    if (firstFile) {
      firstFile.patch = 'changed';
      firstFile.flags.push('long-lines');
    }
    first.notes.push('changed');
    first.commit.subject = 'changed';

    expect(source.evidenceFor(4000)).toEqual(expected);
  });

  it('one read starts four git processes', async () => {
    const { builder, sha } = mixedCommit();
    const repo = await openRepository(builder.dir);
    const gitLog = logGitProcesses();
    const source = await readEvidenceSource(repo, sha, { maxTokenBudget: 30_000 });
    const afterRead = gitLog.count();
    source.evidenceFor(1500);
    source.evidenceFor(30_000);

    expect(gitLog.subcommands().sort()).toEqual(['cat-file', 'config', 'diff-tree', 'patch-id']);
    expect(gitLog.count()).toBe(afterRead);
  });
});

describe('readEvidenceSource bad budgets', () => {
  it('rejects a read budget below the minimum', async () => {
    const { builder, sha } = mixedCommit();
    const repo = await openRepository(builder.dir);

    await expect(readEvidenceSource(repo, sha, { maxTokenBudget: 10 })).rejects.toThrow(InvalidOptionError);
    await expect(readEvidenceSource(repo, sha, { maxTokenBudget: 10 })).rejects.toThrow(
      `invalid maxTokenBudget: expected an integer >= ${MIN_TOKEN_BUDGET}`,
    );
  });

  it('rejects a budget above the read', async () => {
    const { builder, sha } = mixedCommit();
    const repo = await openRepository(builder.dir);
    const source = await readEvidenceSource(repo, sha, { maxTokenBudget: 4000 });

    expect(() => source.evidenceFor(4001)).toThrow(InvalidOptionError);
    expect(() => source.evidenceFor(4001)).toThrow('invalid tokenBudget: expected an integer <= 4000, the budget the commit was read for');
  });

  it('rejects a budget below the minimum', async () => {
    const { builder, sha } = mixedCommit();
    const repo = await openRepository(builder.dir);
    const source = await readEvidenceSource(repo, sha, { maxTokenBudget: 4000 });

    expect(() => source.evidenceFor(MIN_TOKEN_BUDGET - 1)).toThrow(`invalid tokenBudget: expected an integer >= ${MIN_TOKEN_BUDGET}`);
    expect(() => source.evidenceFor(MIN_TOKEN_BUDGET + 0.5)).toThrow(InvalidOptionError);
  });
});

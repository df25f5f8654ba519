import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import type { Diary } from '../../src/diary/types.js';
import { commitAll, git, initRepository, ROOT, startUser, stepper, stepperJson } from '../helpers/e2e.js';
import { waitForExit } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';

const GIT_CLIFF = path.join(ROOT, 'node_modules', '.bin', 'git-cliff');

const CLIFF_CONFIG = `[changelog]
body = """
{% for commit in commits %}{{ commit.id | truncate(length=7, end="") }} {{ commit.extra.stepper.title }}
{% endfor %}"""
trim = true

[git]
conventional_commits = true
filter_unconventional = false
`;

/** A model response whose title and summary name the commit, so each output can be traced to its report. */
function answerFor(name: string): object {
  return {
    title: `Report on ${name}`,
    summary: `The ${name} commit, as the model saw it.`,
    changes: [`Change ${name}`],
    rationale: 'Asked for by users.',
    impact_and_tests: 'No tests changed.',
    next_steps: ['None'],
    tags: [name],
  };
}

describe('diary and export of reports the daemon wrote', () => {
  it('lists, exports and renders the reports', async () => {
    const user = await startUser();
    const repo = initRepository(user, path.join(user.root, 'shop'));
    const commits = [
      await commitAll(user, repo, { 'cart.ts': 'export const cart = [];\n' }, 'feat: add the cart', { index: 0 }),
      await commitAll(user, repo, { 'cart.ts': 'export const cart: string[] = [];\n' }, 'fix(cart): type the items', { index: 2 }),
      await commitAll(user, repo, { 'README.md': '# Shop\n' }, 'docs: start the README', { index: 2 }),
    ];
    const unreported = await commitAll(user, repo, { 'notes.txt': 'later\n' }, 'Keep notes', { index: 3 });

    // One report at a time, so each gets the response that names its commit.
    for (const [index, commit] of commits.entries()) {
      user.fake.setAnswer(answerFor(`commit${index}`));
      const result = await stepper(user, repo, ['report', '--wait', '-q', commit.sha]);
      expect(result.code, result.stderr).toBe(0);
    }

    // The diary groups by UTC day: 2025-01-01, an empty 2025-01-02, two commits on 2025-01-03, then one unreported.
    const diary = await stepperJson<Diary>(user, repo, ['diary', '--time-zone', 'UTC']);
    expect(diary.periods.map((period) => [period.key, period.commits.length])).toEqual([
      ['2025-01-01', 1],
      ['2025-01-02', 0],
      ['2025-01-03', 2],
      ['2025-01-04', 1],
    ]);
    const listed = diary.periods.flatMap((period) => period.commits);
    expect(listed.map((commit) => commit.report?.title ?? null)).toEqual(['Report on commit0', 'Report on commit1', 'Report on commit2', null]);
    expect(listed[3]).toMatchObject({ sha: unreported.sha, reportState: 'none', subject: 'Keep notes' });
    expect(diary.totals.types).toEqual({ feat: 1, fix: 1, docs: 1, other: 1 });
    expect(diary.totals.reported).toBe(3);

    const text = await stepper(user, repo, ['diary', '--time-zone', 'UTC', '--by', 'week']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Report on commit1');
    expect(text.stdout).toContain('Keep notes  [no report]');

    // Notes are written once and read back by git itself.
    const notes = await stepper(user, repo, ['export', '--format', 'git-notes']);
    const again = await stepperJson<{ notes: { written: number; unchanged: number } }>(user, repo, ['export', '--format', 'git-notes']);
    expect(notes.code, notes.stderr).toBe(0);
    expect(notes.stdout).toMatch(/^Wrote 3 notes to refs\/notes\/stepper \(0 unchanged\)\./);
    expect(again.notes).toMatchObject({ written: 0, unchanged: 3 });
    const logged = git(user, repo, ['log', '--notes=stepper', '--format=%H %N']);
    for (const [index, commit] of commits.entries()) {
      expect(logged).toContain(`${commit.sha} Report on commit${index}`);
    }
    expect(git(user, repo, ['notes', '--ref=stepper', 'list'])).not.toContain(unreported.sha);

    // JSON Lines: one object per reported commit.
    const jsonl = await stepper(user, repo, ['export', '--format', 'jsonl']);
    expect(jsonl.code, jsonl.stderr).toBe(0);
    const entries = jsonl.stdout.trim().split('\n').map((line) => JSON.parse(line) as { sha: string; report: { title: string } });
    expect(entries.map((entry) => [entry.sha, entry.report.title]).sort()).toEqual(commits.map((commit, index) => [commit.sha, `Report on commit${index}`]).sort());

    // The git-cliff context renders through the real git-cliff.
    const folder = makeTempDir('stepper-e2e-cliff-');
    const context = path.join(folder, 'context.json');
    fs.writeFileSync(path.join(folder, 'cliff.toml'), CLIFF_CONFIG);
    const exported = await stepper(user, repo, ['export', '--format', 'git-cliff', '--output', context]);
    expect(exported.code, exported.stderr).toBe(0);
    const cliff = await waitForExit(
      spawn(GIT_CLIFF, ['--config', path.join(folder, 'cliff.toml'), '--from-context', context], {
        cwd: repo,
        env: { PATH: process.env.PATH, HOME: makeTempDir('stepper-cliff-home-'), LC_ALL: 'C', NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    expect(cliff.code, cliff.stderr).toBe(0);
    expect(cliff.stdout.trim().split('\n').sort()).toEqual(commits.map((commit, index) => `${commit.sha.slice(0, 7)} Report on commit${index}`).sort());
  });
});

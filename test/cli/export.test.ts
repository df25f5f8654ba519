import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { gitIn, openTestQueue, storeReport } from '../export/helpers.js';
import { BIN } from '../helpers/e2e.js';
import { waitForExit } from '../helpers/processes.js';
import { gitDirOf, newRepo } from '../helpers/report-queue.js';
import { makeTempDir } from '../helpers/temp.js';

/** Runs the built CLI with its data directory at `dataDir` and a home of its own. */
function stepper(args: string[], cwd: string, dataDir: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, STEPPER_HOME: dataDir, HOME: makeTempDir('stepper-home-'), NO_COLOR: '1' };
  delete env.XDG_STATE_HOME;
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

async function setUp() {
  const builder = newRepo();
  builder.write('a.txt', 'a\n');
  const first = builder.commit('Add a\n');
  builder.write('b.txt', 'b\n');
  const second = builder.commit('Add b\n');

  const dataDir = makeTempDir('stepper-export-data-');
  const queue = openTestQueue(dataDir);
  const gitDir = await gitDirOf(builder);
  storeReport(queue.queue, gitDir, first, { title: 'Report of a' });
  storeReport(queue.queue, gitDir, second, { title: 'Report of b' });
  storeReport(queue.queue, gitDir, 'e'.repeat(40), { title: 'Report of a pruned commit' });
  queue.queue.close();
  return { builder, dataDir, first, second };
}

describe('stepper export', () => {
  it('writes notes and says how to share them', async () => {
    const { builder, dataDir, second } = await setUp();

    const result = await stepper(['export', '--format', 'git-notes'], builder.dir, dataDir);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(
      'Wrote 2 notes to refs/notes/stepper (0 unchanged, 1 skipped because the commit is no longer in the repository).\n' +
        'Read them:  git log --notes=stepper\n' +
        'Share them: git push origin refs/notes/stepper\n',
    );
    expect(result.stderr).toMatch(/^stepper: skipped 1 report of commits no longer in the repository \(such as e{40}\)/);
    expect(gitIn(builder.dir, ['log', '-1', '--notes=stepper', '--format=%N', second])).toMatch(/^Report of b\n/);
  });

  it('prints the notes outcome as JSON', async () => {
    const { builder, dataDir } = await setUp();
    await stepper(['export', '--format', 'git-notes'], builder.dir, dataDir);

    const result = await stepper(['export', '--format', 'git-notes', '--json'], builder.dir, dataDir);

    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, any>;
    expect(summary.format).toBe('git-notes');
    expect(summary.exported).toBe(2);
    expect(summary.missing).toEqual(['e'.repeat(40)]);
    expect(summary.notes).toMatchObject({ ref: 'refs/notes/stepper', written: 0, unchanged: 2, foreign: [], commit: null });
    expect(summary).not.toHaveProperty('content');
  });

  it('prints JSON Lines to stdout', async () => {
    const { builder, dataDir, first, second } = await setUp();

    const result = await stepper(['export', '--format', 'jsonl', 'HEAD~1..HEAD', first], builder.dir, dataDir);

    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { sha: string; report: { title: string } });
    expect(lines.map((line) => line.sha)).toEqual([second, first]);
    expect(lines[0]?.report.title).toBe('Report of b');
  });

  it('writes a git-cliff context file', async () => {
    const { builder, dataDir } = await setUp();
    const target = path.join(makeTempDir('stepper-export-out-'), 'context.json');

    const result = await stepper(['export', '--format', 'git-cliff', '--output', target], builder.dir, dataDir);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`Wrote 2 reports to ${target}.\n`);
    const context = JSON.parse(fs.readFileSync(target, 'utf8')) as Array<{ commits: Array<{ extra: { stepper: { title: string } } }> }>;
    expect(context[0]?.commits.map((commit) => commit.extra.stepper.title)).toEqual(['Report of b', 'Report of a']);
  });

  it('rejects bad input with exit 2', async () => {
    const { builder, dataDir } = await setUp();
    const outside = makeTempDir('stepper-not-a-repo-');
    const cases: Array<{ args: string[]; cwd?: string; message: RegExp }> = [
      { args: ['export', '--format', 'yaml'], message: /^stepper: invalid --format: expected git-notes, jsonl, git-cliff, received "yaml"/ },
      { args: ['export'], message: /^stepper: required option '--format <format>' not specified/ },
      { args: ['export', '--format', 'git-notes', '--ref', 'refs/notes/a..b'], message: /^stepper: invalid --ref: .*received "refs\/notes\/a\.\.b"/ },
      { args: ['export', '--format', 'jsonl', '--output', path.join(outside, 'no', 'such', 'file')], message: /^stepper: invalid --output: / },
      { args: ['export', '--format', 'jsonl', '--json'], message: /^stepper: invalid --json: expected --output <file> as well/ },
      { args: ['export', '--format', 'jsonl', 'no-such-branch'], message: /^stepper: .*no-such-branch/ },
      { args: ['export', '--format', 'git-notes'], cwd: outside, message: /^stepper: not a git repository: / },
    ];

    for (const { args, cwd, message } of cases) {
      const result = await stepper(args, cwd ?? builder.dir, dataDir);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(result.stdout, args.join(' ')).toBe('');
    }
    expect(() => gitIn(builder.dir, ['rev-parse', '--verify', '--quiet', 'refs/notes/stepper'])).toThrow();
  });

  it('exits 1 when there is nothing to export', async () => {
    const { builder } = await setUp();

    const result = await stepper(['export', '--format', 'jsonl'], builder.dir, makeTempDir('stepper-export-empty-'));

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stepper: no reports to export: the data directory .* has no database yet; make reports with `stepper report <revisions>` first\n$/);
    expect(result.stdout).toBe('');
  });
});

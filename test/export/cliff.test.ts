import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { exportReports } from '../../src/api/export.js';
import { waitForExit } from '../helpers/processes.js';
import { ROOT } from '../helpers/e2e.js';
import { gitDirOf, newRepo } from '../helpers/report-queue.js';
import { makeTempDir } from '../helpers/temp.js';
import { openTestQueue, storeReport } from './helpers.js';

const GIT_CLIFF = path.join(ROOT, 'node_modules', '.bin', 'git-cliff');

/** A template that prints each commit's conventional type, first message line and stepper title. */
const CLIFF_CONFIG = `[changelog]
body = """
{% for commit in commits %}* {{ commit.id | truncate(length=7, end="") }} [{{ commit.group | default(value="other") }}] {{ commit.message | split(pat="\\n") | first }} => {{ commit.extra.stepper.title }}
{% endfor %}"""
trim = true

[git]
conventional_commits = true
filter_unconventional = false
`;

/**
 * Runs git-cliff inside `cwd` with a home and environment of its own, so no user configuration
 * and no remote token (GITHUB_TOKEN and the like) can make it contact a server.
 */
function runGitCliff(cwd: string, args: string[]) {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: makeTempDir('stepper-cliff-home-'), LC_ALL: 'C', NO_COLOR: '1' };
  const child = spawn(GIT_CLIFF, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

async function setUp() {
  const builder = newRepo();
  builder.write('a.txt', 'a\n');
  const first = builder.commit('feat(api): add the endpoint\n\nIt returns "quoted" JSON.\n');
  builder.write('b.txt', 'b\n');
  const second = builder.commit('Tidy things up\n');
  builder.write('c.txt', 'c\n');
  const third = builder.commit('fix: handle an empty list\n');

  const dataDir = makeTempDir('stepper-export-data-');
  const gitDir = await gitDirOf(builder);
  const queue = openTestQueue(dataDir);
  storeReport(queue.queue, gitDir, first, { title: 'Add the endpoint report' });
  storeReport(queue.queue, gitDir, second, { title: 'Tidy report with "quotes"' });
  storeReport(queue.queue, gitDir, third, { title: 'Empty list report' });
  queue.queue.close();
  return { builder, dataDir, shas: [first, second, third] };
}

describe('git-cliff export', () => {
  it('writes a context with each report under extra', async () => {
    const { builder, dataDir, shas } = await setUp();
    const target = path.join(makeTempDir('stepper-export-out-'), 'context.json');

    await exportReports({ format: 'git-cliff', cwd: builder.dir, dataDir, output: target });

    const context = JSON.parse(fs.readFileSync(target, 'utf8')) as Array<Record<string, any>>;
    expect(Array.isArray(context)).toBe(true);
    expect(context).toHaveLength(1);
    const release = context[0]!;
    expect(release.version).toBeNull();
    expect(release.repository).toBe(fs.realpathSync(builder.dir));
    expect(release.commit_range).toEqual({ from: shas[0], to: shas[2] });
    expect(release.commits.map((commit: { id: string }) => commit.id)).toEqual([...shas].reverse());
    const byId = new Map(release.commits.map((commit: { id: string }) => [commit.id, commit]));
    const first = byId.get(shas[0]) as Record<string, any>;
    expect(first.message).toBe('feat(api): add the endpoint\n\nIt returns "quoted" JSON.');
    expect(first.raw_message).toBe(first.message);
    expect(first.author).toEqual({ name: 'Test Author', email: 'author@example.com', timestamp: 1_704_067_200 });
    expect(first.merge_commit).toBe(false);
    expect(first.extra.stepper.title).toBe('Add the endpoint report');
    expect(first.extra.stepper.changes).toEqual(['Change one of Add the endpoint report', 'Change two of Add the endpoint report']);
    expect(first.extra.stepper.model).toBe('qwen2.5-coder:7b');
    expect((byId.get(shas[1]) as Record<string, any>).extra.stepper.title).toBe('Tidy report with "quotes"');
    expect((byId.get(shas[2]) as Record<string, any>).extra.stepper.title).toBe('Empty list report');
  });

  it('renders with the real git-cliff', async () => {
    const { builder, dataDir, shas } = await setUp();
    const folder = makeTempDir('stepper-export-out-');
    const target = path.join(folder, 'context.json');
    const config = path.join(folder, 'cliff.toml');
    fs.writeFileSync(config, CLIFF_CONFIG);
    await exportReports({ format: 'git-cliff', cwd: builder.dir, dataDir, output: target });

    const result = await runGitCliff(builder.dir, ['--config', config, '--from-context', target]);

    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toEqual([
      `* ${shas[2]!.slice(0, 7)} [fix] handle an empty list => Empty list report`,
      `* ${shas[1]!.slice(0, 7)} [other] Tidy things up => Tidy report with "quotes"`,
      `* ${shas[0]!.slice(0, 7)} [feat] add the endpoint => Add the endpoint report`,
    ]);
  });
});

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { waitForExit } from '../helpers/processes.js';
import { addReportJob, newRepo, type Stand, startStand, waitForFinished } from '../helpers/report-queue.js';
import type { RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'stepper.js');

const ANSWER = {
  title: 'Add the greeting module',
  summary: 'The commit adds a greeting function and a lockfile.',
  changes: ['Add greet() to src/greet.ts', 'Add package-lock.json'],
  rationale: 'Users asked for a greeting.',
  impact_and_tests: 'No tests changed.',
  next_steps: ['Test greet() with an empty name'],
  tags: ['greeting', 'app'],
};

/** Runs the built CLI with its data directory at `dataDir` and a home of its own. */
function stepper(args: string[], cwd: string, dataDir: string, env: NodeJS.ProcessEnv = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, STEPPER_HOME: dataDir, HOME: makeTempDir('stepper-home-'), NO_COLOR: '1' };
  delete childEnv.XDG_STATE_HOME;
  delete childEnv.FORCE_COLOR;
  // An undefined value removes the variable.
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) {
      delete childEnv[name];
    } else {
      childEnv[name] = value;
    }
  }
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

interface Scene {
  stand: Stand;
  builder: RepoBuilder;
  first: string;
  second: string;
}

/** Builds a repository of two commits and stores a report of the second one through a real worker. */
async function setUp(): Promise<Scene> {
  const stand = await startStand({ fake: { answer: ANSWER } });
  const builder = newRepo();
  builder.write('README.md', 'Greeting\n');
  const first = builder.commit('Start the project\n');
  builder.write('src/greet.ts', 'export function greet(name: string) {\n  return `Hello, ${name}`;\n}\n');
  builder.write('package-lock.json', '{"lockfileVersion": 3}\n');
  const second = builder.commit('feat: add the greeting module\n\nUsers asked for a greeting.\n');

  const id = await addReportJob(stand, builder, second);
  const job = await waitForFinished(stand, id);
  expect(job.state, job.lastError ?? '').toBe('completed');
  return { stand, builder, first, second };
}

describe('stepper show', () => {
  it('prints sections, files, coverage and provenance', async () => {
    const { stand, builder, second } = await setUp();

    const result = await stepper(['show'], builder.dir, stand.dataDir);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('Add the greeting module');
    expect(lines[1]).toBe(`commit ${second}  feat: add the greeting module`);
    for (const section of ['Summary', 'Changes', 'Rationale', 'Impact and tests', 'Next steps']) {
      expect(lines, section).toContain(section);
    }
    expect(lines).toContain('  • Add greet() to src/greet.ts');
    expect(lines).toContain('  • Test greet() with an empty name');
    expect(lines).toContain('Tags: greeting, app');
    expect(lines).toContain('Files (2 changed, +4 -0)');
    expect(result.stdout).toMatch(/^ {2}added +src\/greet\.ts {2}\+3 -0 {2}\[full\]$/m);
    expect(result.stdout).toMatch(/^Coverage: 1 file in full, 1 excluded \(lockfile\) of 2 changed files$/m);
    expect(result.stdout).toMatch(/^Made by qwen2\.5-coder:7b in .+: 1 model call, [\d,]+ prompt \+ [\d,]+ output tokens; prompt v\d+, stepper \d+\.\d+\.\d+, \d{4}-\d\d-\d\d \d\d:\d\d UTC$/m);
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('prints Markdown', async () => {
    const { stand, builder, second } = await setUp();

    const result = await stepper(['show', second.slice(0, 10), '--format', 'markdown'], builder.dir, stand.dataDir);

    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('# Add the greeting module\n\nCommit `')).toBe(true);
    expect(result.stdout).toContain('\n## Changes\n\n- Add greet() to src/greet.ts\n- Add package-lock.json\n');
    expect(result.stdout).toContain('| added | `src/greet.ts` | 3 | 0 | full |');
    expect(result.stdout).toContain('| added | `package-lock.json` | 1 | 0 | excluded: lockfile |');
    expect(result.stdout).toMatch(/\n_Coverage: 1 file in full, 1 excluded \(lockfile\) of 2 changed files_\n/);
    expect(result.stdout).toMatch(/\n_Made by qwen2\.5-coder:7b in /);
  });

  it('escapes model text and file names in Markdown', async () => {
    const stand = await startStand({
      fake: {
        answer: {
          ...ANSWER,
          title: '<script>alert(1)</script>',
          summary: '<img src=x onerror=alert(1)> with *stars*',
          next_steps: ['- nested item', '1. numbered item'],
          tags: ['a`b'],
        },
      },
    });
    const builder = newRepo();
    builder.write('src/pipe|tick`name.js', 'export const odd = 1;\n');
    builder.commit('Add an oddly named file\n');
    const job = await waitForFinished(stand, await addReportJob(stand, builder, builder.head()));
    expect(job.state, job.lastError ?? '').toBe('completed');

    const result = await stepper(['show', '--format', 'markdown'], builder.dir, stand.dataDir);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.startsWith('# \\<script\\>alert(1)\\</script\\>\n')).toBe(true);
    expect(result.stdout).toContain('\n## Summary\n\n\\<img src=x onerror=alert(1)\\> with \\*stars\\*\n');
    expect(result.stdout).toContain('\n## Next steps\n\n- \\- nested item\n- 1\\. numbered item\n');
    expect(result.stdout).toContain('\nTags: ``a`b``\n');
    expect(result.stdout).toContain('| added | ``src/pipe\\|tick`name.js`` | 1 | 0 | full |');
  });

  it('prints the JSON contract', async () => {
    const { stand, builder, second } = await setUp();

    const result = await stepper(['show', 'HEAD', '--format', 'json'], builder.dir, stand.dataDir);

    expect(result.code).toBe(0);
    const shown = JSON.parse(result.stdout) as Record<string, any>;
    expect(Object.keys(shown)).toEqual(['sha', 'repo', 'subject', 'report', 'facts', 'coverage', 'provenance']);
    expect(shown.sha).toBe(second);
    expect(shown.repo).toBe(fs.realpathSync(path.join(builder.dir, '.git')));
    expect(shown.subject).toBe('feat: add the greeting module');
    expect(Object.keys(shown.report)).toEqual(['title', 'summary', 'changes', 'rationale', 'impact_and_tests', 'next_steps', 'tags']);
    expect(shown.report.changes).toEqual(ANSWER.changes);
    expect(shown.facts.totals).toEqual({ files: 2, additions: 4, deletions: 0 });
    expect(shown.coverage).toEqual({
      files: { 'package-lock.json': 'excluded: lockfile', 'src/greet.ts': 'full' },
      counts: { full: 1, partial: 0, statsOnly: 0, excluded: 1 },
      promptTruncated: false,
    });
    expect(shown.provenance.model).toBe('qwen2.5-coder:7b');
    expect(shown.provenance.commit).toBe(second);
    expect(shown.provenance.reportId).toMatch(/^[0-9a-f-]{36}$/);
    expect(shown.provenance.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('prints JSON alone with --json', async () => {
    const { stand, builder } = await setUp();

    const result = await stepper(['show', '--json'], builder.dir, stand.dataDir, { FORCE_COLOR: '1' });

    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('\u001b[');
    expect(() => JSON.parse(result.stdout) as unknown).not.toThrow();
  });

  it('colours text only when asked', async () => {
    const { stand, builder } = await setUp();

    const forced = await stepper(['show'], builder.dir, stand.dataDir, { NO_COLOR: undefined, FORCE_COLOR: '1' });
    const forcedOverNoColor = await stepper(['show'], builder.dir, stand.dataDir, { NO_COLOR: '1', FORCE_COLOR: '1' });
    const plain = await stepper(['show'], builder.dir, stand.dataDir, { NO_COLOR: '1' });

    expect(forced.stdout).toContain('\u001b[1mAdd the greeting module');
    expect(forcedOverNoColor.stdout).toContain('\u001b[1mAdd the greeting module');
    expect(plain.stdout).not.toContain('\u001b[');
  });

  it('tells how to make a missing report', async () => {
    const { stand, builder, first } = await setUp();

    const result = await stepper(['show', 'HEAD~1'], builder.dir, stand.dataDir);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`stepper: no report for commit ${first.slice(0, 12)}: make one with \`stepper report HEAD~1\`\n`);
  });

  it('names the live job of a missing report', async () => {
    const { stand, builder, first } = await setUp();
    await stand.worker.close({ graceMs: 0 });
    await addReportJob(stand, builder, first);

    const result = await stepper(['show', first], builder.dir, stand.dataDir);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`stepper: no report for commit ${first.slice(0, 12)} yet: its report job is waiting; follow it with \`stepper watch\`\n`);
  });

  it('names the failed job of a missing report', async () => {
    const { stand, builder, first } = await setUp();
    const failed = await waitForFinished(stand, await addReportJob(stand, builder, first, { model: 'absent-model:1b' }));
    expect(failed.state).toBe('failed');
    const firstLine = (failed.lastError ?? '').split('\n')[0]?.trim() ?? '';
    expect(firstLine).toContain('ollama pull absent-model:1b');

    const result = await stepper(['show', 'HEAD~1'], builder.dir, stand.dataDir);
    const json = await stepper(['show', 'HEAD~1', '--json'], builder.dir, stand.dataDir);
    const otherModel = await stepper(['show', 'HEAD~1', '--model', 'qwen2.5-coder:7b'], builder.dir, stand.dataDir);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `stepper: no report for commit ${first.slice(0, 12)}: its report job failed: ${firstLine}; ` +
        `see \`stepper status ${failed.id}\`, and run it again with \`stepper retry ${failed.id}\`\n`,
    );
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    expect(json.stderr).toBe(result.stderr);
    expect(otherModel.code).toBe(1);
    expect(otherModel.stderr).toMatch(/: make one with `stepper report --model qwen2\.5-coder:7b HEAD~1`\n$/);
  });

  it('prints the first line of a failed job error', async () => {
    const { stand, builder, first } = await setUp();
    await stand.worker.close({ graceMs: 0 });
    const id = await addReportJob(stand, builder, first);
    const claimed = stand.queue.claim('test');
    expect(claimed?.id).toBe(id);
    stand.queue.fail(claimed!, new Error(`\nOllama returned HTTP 500 \u001b[31mred\u001b[0m ${'x'.repeat(600)}\nsecond line`), { permanent: true });

    const result = await stepper(['show', first], builder.dir, stand.dataDir);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(': its report job failed: Ollama returned HTTP 500 ^[[31mred^[[0m xxx');
    expect(result.stderr).toContain(`${'x'.repeat(100)}…; see \`stepper status ${id}\``);
    expect(result.stderr).not.toContain('x'.repeat(400));
    expect(result.stderr).not.toContain('second line');
    expect(result.stderr).not.toContain('\u001b');
  });

  it('reports a missing database without creating one', async () => {
    const builder = newRepo();
    builder.write('a.txt', 'a\n');
    builder.commit('Add a\n');
    const dataDir = path.join(makeTempDir(), 'never-made');

    const result = await stepper(['show'], builder.dir, dataDir);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stepper: no report for commit [0-9a-f]{12} \(no report has been made in this data directory yet\): make one with `stepper report HEAD`\n$/);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('treats a database not yet migrated as missing', async () => {
    // The first enqueue creates the file empty and migrates it a moment later.
    const builder = newRepo();
    builder.write('a.txt', 'a\n');
    builder.commit('Add a\n');
    const dataDir = makeTempDir();
    const file = path.join(dataDir, 'stepper.db');
    fs.writeFileSync(file, '', { mode: 0o600 });

    const showResult = await stepper(['show'], builder.dir, dataDir);
    const status = await stepper(['status', '--json'], builder.dir, dataDir, { OLLAMA_HOST: '127.0.0.1:9' });

    expect(showResult.code).toBe(1);
    expect(showResult.stderr).toContain('no report has been made in this data directory yet');
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).counts).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0 });
    expect(fs.statSync(file).size).toBe(0);
  });

  it('filters by model', async () => {
    const { stand, builder } = await setUp();

    const found = await stepper(['show', '--model', 'qwen2.5-coder:7b'], builder.dir, stand.dataDir);
    const missing = await stepper(['show', '--model', 'qwen3:8b'], builder.dir, stand.dataDir);

    expect(found.code).toBe(0);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^stepper: no report for commit [0-9a-f]{12} by model qwen3:8b: make one with `stepper report --model qwen3:8b HEAD`\n$/);
  });

  it.each([
    [['show', 'no-such-revision'], /^stepper: unknown revision "no-such-revision"/],
    [['show', '--format', 'html'], /^stepper: invalid --format: expected text, markdown, json, received "html"/],
    [['show', '--json', '--format', 'text'], /^stepper: invalid --format: expected json or no --format together with --json, received "text"/],
    [['show', 'HEAD~1..HEAD'], /^stepper: invalid revision: expected one commit, not a range, received "HEAD~1\.\.HEAD"/],
    [['show', 'HEAD', 'extra'], /^stepper: too many arguments for 'show'/],
  ])('rejects %j with exit 2', async (args, message) => {
    const builder = newRepo();
    builder.write('a.txt', 'a\n');
    builder.commit('Add a\n');
    builder.write('a.txt', 'b\n');
    builder.commit('Change a\n');

    const result = await stepper(args, builder.dir, makeTempDir());

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('rejects a folder outside a repository with exit 2', async () => {
    const folder = makeTempDir();

    const result = await stepper(['show'], folder, makeTempDir());

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepper: not a git repository: /);
  });
});

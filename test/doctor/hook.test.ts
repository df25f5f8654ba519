import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, test } from 'vitest';

import { installHooks, VERSION } from '../../src/index.js';
import { ROOT } from '../helpers/e2e.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';
import { closedPort, diagnose, doctorEnvironment } from './helpers.js';

/** The built kick script, because the one beside the TypeScript sources does not exist. */
const KICK = path.join(ROOT, 'dist', 'hook', 'kick.js');

async function setUp(): Promise<{ env: NodeJS.ProcessEnv; repo: RepoBuilder; hooksDir: string }> {
  const env = doctorEnvironment(`127.0.0.1:${await closedPort()}`);
  const repo = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
  repo.write('README.md', 'demo\n');
  repo.commit('Start the project');
  return { env, repo, hooksDir: path.join(repo.dir, '.git', 'hooks') };
}

function editHook(file: string, edit: (content: string) => string): void {
  fs.writeFileSync(file, edit(fs.readFileSync(file, 'utf8')));
}

describe('hook check', () => {
  test('outside a repository skips', async () => {
    const env = doctorEnvironment(`127.0.0.1:${await closedPort()}`);
    const results = await diagnose(env);

    expect(results.hook).toEqual({ id: 'hook', title: 'git hooks', status: 'skip', detail: 'not inside a git repository' });
  });

  test('missing hooks warn', async () => {
    const { env, repo, hooksDir } = await setUp();
    const results = await diagnose(env, { cwd: repo.dir });

    expect(results.hook?.status).toBe('warn');
    expect(results.hook?.detail).toBe(`not installed in ${hooksDir}, so commits are reported only when you run stepper report`);
    expect(results.hook?.fix).toBe('run stepper hook install in this repository');
  });

  test('installed hooks pass', async () => {
    const { env, repo, hooksDir } = await setUp();
    await installHooks({ cwd: repo.dir, env, kick: KICK });

    const results = await diagnose(env, { cwd: repo.dir });

    expect(results.hook?.status).toBe('pass');
    expect(results.hook?.detail).toBe(`post-commit and post-rewrite installed in ${hooksDir} by stepper ${VERSION}`);
  });

  test('older hook version warns', async () => {
    const { env, repo, hooksDir } = await setUp();
    await installHooks({ cwd: repo.dir, env, kick: KICK });
    const file = path.join(hooksDir, 'post-commit');
    editHook(file, (content) => content.replace(`(stepper ${VERSION})`, '(stepper 0.0.1)'));

    const results = await diagnose(env, { cwd: repo.dir });

    expect(results.hook?.status).toBe('warn');
    expect(results.hook?.detail).toBe(`${file} was installed by stepper 0.0.1, this is ${VERSION}: run stepper hook install to update it`);
    expect(results.hook?.fix).toBe('run stepper hook install in this repository');
  });

  test('vanished node path warns', async () => {
    const { env, repo, hooksDir } = await setUp();
    await installHooks({ cwd: repo.dir, env, kick: KICK });
    const file = path.join(hooksDir, 'post-rewrite');
    const removedNode = path.join(makeTempDir(), 'node-that-was-removed');
    editHook(file, (content) => content.replace(/^stepper_node=.*$/m, `stepper_node='${removedNode}'`));

    const results = await diagnose(env, { cwd: repo.dir });

    expect(results.hook?.status).toBe('warn');
    expect(results.hook?.detail).toContain(`${file} runs ${removedNode}, which no longer exists`);
  });

  test('one missing hook warns', async () => {
    const { env, repo, hooksDir } = await setUp();
    await installHooks({ cwd: repo.dir, env, kick: KICK });
    fs.rmSync(path.join(hooksDir, 'post-rewrite'));

    const results = await diagnose(env, { cwd: repo.dir });

    expect(results.hook?.status).toBe('warn');
    expect(results.hook?.detail).toBe(`post-rewrite hook not installed in ${hooksDir}: run stepper hook install`);
  });

  test('damaged block fails', async () => {
    const { env, repo, hooksDir } = await setUp();
    await installHooks({ cwd: repo.dir, env, kick: KICK });
    const file = path.join(hooksDir, 'post-commit');
    editHook(file, (content) => content.replace('# <<< stepper hook <<<\n', ''));
    const last = fs.readFileSync(file, 'utf8').split('\n').indexOf('stepper_hook post-commit || :') + 1;

    const results = await diagnose(env, { cwd: repo.dir });

    expect(results.hook?.status).toBe('fail');
    expect(results.hook?.detail).toBe(`${file} is damaged: line 2 starts a stepper block that has no end line`);
    expect(results.hook?.fix).toBe(`delete lines 2-${last} of ${file}, then run stepper hook install`);
  });

  test('hook with a syntax error fails', async () => {
    const { env, repo, hooksDir } = await setUp();
    await installHooks({ cwd: repo.dir, env, kick: KICK });
    const file = path.join(hooksDir, 'post-rewrite');
    editHook(file, (content) => `${content}if true; then\n  echo unfinished\n`);

    const results = await diagnose(env, { cwd: repo.dir });

    expect(results.hook?.status).toBe('fail');
    expect(results.hook?.detail).toMatch(new RegExp(`^${escape(file)} does not parse as a sh script, so git stops it with an error: .+`));
    expect(results.hook?.fix).toBe(`fix the syntax error in ${file}; check it with sh -n ${file}`);
  });

  test('hook named with a quote is parsed', async () => {
    const { env, repo } = await setUp();
    const hooksDir = path.join(makeTempDir(), "it's hooks");
    repo.git(['config', 'core.hooksPath', hooksDir]);
    await installHooks({ cwd: repo.dir, env, kick: KICK });

    const results = await diagnose(env, { cwd: repo.dir });

    expect(results.hook?.status).toBe('pass');
  });

  test('non-executable hook fix runs chmod', async () => {
    const { env, repo, hooksDir } = await setUp();
    await installHooks({ cwd: repo.dir, env, kick: KICK });
    const file = path.join(hooksDir, 'post-commit');
    fs.chmodSync(file, 0o644);

    const results = await diagnose(env, { cwd: repo.dir });

    expect(results.hook?.status).toBe('warn');
    expect(results.hook?.detail).toBe(`${file} is not executable, so git does not run it: run chmod +x '${file}'`);
    expect(results.hook?.fix).toBe(`run chmod +x '${file}'`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

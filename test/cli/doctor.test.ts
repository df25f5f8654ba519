// `stepper doctor` as a user runs it: the built CLI against the fake Ollama, a real repository,
// the real hook installer and the real daemon. Run `npm run build` first.
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, test } from 'vitest';

import { VERSION } from '../../src/index.js';
import { closedPort } from '../doctor/helpers.js';
import { type E2eUser, initRepository, startUser, stepper } from '../helpers/e2e.js';

const CHECK_IDS = ['git', 'data-dir', 'free-space', 'database-integrity', 'database-journal', 'daemon', 'hook', 'ollama', 'model', 'context'];

interface DoctorJson {
  ok: boolean;
  checks: Array<{ id: string; title: string; status: string; detail: string; fix?: string }>;
}

/** A user with a repository whose hooks `stepper hook install` installed. */
async function userWithHooks(): Promise<{ user: E2eUser; repo: string }> {
  const user = await startUser();
  const repo = initRepository(user, path.join(user.root, 'repo'));
  const install = await stepper(user, repo, ['hook', 'install']);
  expect(install.code).toBe(0);
  return { user, repo };
}

function checkOf(json: DoctorJson, id: string): DoctorJson['checks'][number] | undefined {
  return json.checks.find((check) => check.id === id);
}

describe('stepper doctor', () => {
  test('healthy setup exits 0', async () => {
    const { user, repo } = await userWithHooks();
    const result = await stepper(user, repo, ['doctor']);
    const lines = result.stdout.split('\n');

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(lines[0]).toMatch(/^pass {2}git version {12}git \d+\.\d+\.\d+$/);
    expect(lines).toContain(`pass  Ollama                 reachable at ${user.fake.url} (OLLAMA_HOST="${user.fake.url}"), version ${user.fake.version}`);
    expect(result.stdout).toContain(`pass  git hooks              post-commit and post-rewrite installed in ${path.join(repo, '.git', 'hooks')} by stepper ${VERSION}`);
    expect(result.stdout).not.toContain('fix:');
    expect(result.stdout.endsWith('\n10 passed\n')).toBe(true);
  });

  test('json lists every check', async () => {
    const { user, repo } = await userWithHooks();
    const result = await stepper(user, repo, ['doctor', '--json']);
    const json = JSON.parse(result.stdout) as DoctorJson;

    expect(result.code).toBe(0);
    expect(json.ok).toBe(true);
    expect(json.checks.map((check) => check.id)).toEqual(CHECK_IDS);
    for (const check of json.checks) {
      expect(Object.keys(check).sort(), check.id).toEqual(['detail', 'id', 'status', 'title']);
      expect(check.status, check.id).toBe('pass');
    }
  });

  test('unreachable Ollama exits 1', async () => {
    const { user, repo } = await userWithHooks();
    const port = await closedPort();
    const result = await stepper(user, repo, ['doctor'], { OLLAMA_HOST: `127.0.0.1:${port}` });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`fail  Ollama                 not reachable at http://127.0.0.1:${port}`);
    expect(result.stdout).toContain('\n                             fix: start Ollama with "ollama serve"');
    expect(result.stdout).toMatch(/\n1 failed, 7 passed, 2 skipped\n$/);
  });

  test('json of a failure exits 1', async () => {
    const { user, repo } = await userWithHooks();
    const result = await stepper(user, repo, ['doctor', '--json'], { OLLAMA_HOST: 'http://127.0.0.1:0' });
    const json = JSON.parse(result.stdout) as DoctorJson;

    expect(result.code).toBe(1);
    expect(json.ok).toBe(false);
    expect(checkOf(json, 'ollama')?.status).toBe('fail');
    expect(checkOf(json, 'ollama')?.detail).toBe('invalid OLLAMA_HOST "http://127.0.0.1:0": port "0" is not a number from 1 to 65535');
    expect(checkOf(json, 'ollama')?.fix).toContain('set it to the address Ollama listens on');
  });

  test('relative STEPPER_HOME exits 1', async () => {
    const user = await startUser();
    const result = await stepper(user, user.root, ['doctor'], { STEPPER_HOME: 'relative/stepper' });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('fail  data directory         invalid STEPPER_HOME');
    expect(result.stdout).toContain('"relative/stepper"');
    expect(result.stdout).toContain('skip  daemon                 the data directory is invalid, see the data directory check');
    expect(fs.existsSync(path.join(user.root, 'relative'))).toBe(false);
  });

  test('warnings alone exit 0', async () => {
    const user = await startUser();
    const repo = initRepository(user, path.join(user.root, 'repo'));
    const result = await stepper(user, repo, ['doctor']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('warn  git hooks              not installed in ');
    expect(result.stdout).toContain('fix: run stepper hook install in this repository');
    expect(result.stdout).toMatch(/\n1 warning, 9 passed\n$/);
  });

  test('outdated hook warns', async () => {
    const { user, repo } = await userWithHooks();
    const file = path.join(repo, '.git', 'hooks', 'post-commit');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(`(stepper ${VERSION})`, '(stepper 0.0.1)'));

    const result = await stepper(user, repo, ['doctor', '--json']);
    const hook = checkOf(JSON.parse(result.stdout) as DoctorJson, 'hook');

    expect(result.code).toBe(0);
    expect(hook?.status).toBe('warn');
    expect(hook?.detail).toBe(`${file} was installed by stepper 0.0.1, this is ${VERSION}: run stepper hook install to update it`);
  });

  test('running daemon passes', async () => {
    const { user, repo } = await userWithHooks();
    const started = await stepper(user, repo, ['daemon', 'start', '--json']);
    const pid = (JSON.parse(started.stdout) as { pid: number }).pid;

    const result = await stepper(user, repo, ['doctor', '--json']);
    const json = JSON.parse(result.stdout) as DoctorJson;

    expect(started.code).toBe(0);
    expect(result.code).toBe(0);
    expect(checkOf(json, 'daemon')?.detail).toBe(`running (pid ${pid}, stepper ${VERSION})`);
    expect(checkOf(json, 'database-journal')?.status).toBe('pass');
    expect(checkOf(json, 'database-integrity')?.status).toBe('pass');
  });

  test('missing model exits 1', async () => {
    const { user, repo } = await userWithHooks();
    const result = await stepper(user, repo, ['doctor', '--model', 'llama3.2:3b']);

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('fail  model                  llama3.2:3b (from --model) is not installed on Ollama at ');
    expect(result.stdout).toContain('fix: run ollama pull llama3.2:3b');
    expect(result.stdout).toContain('skip  model context');
  });

  test('context length is shown', async () => {
    const user = await startUser({ models: [{ name: 'qwen2.5-coder:7b', contextLength: 16384 }] });
    const result = await stepper(user, user.root, ['doctor']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/pass {2}model context {10}qwen2\.5-coder:7b: context length 16,384 tokens; stepper sends num_ctx 4096 to 16384 by commit size/);
  });

  test.each([
    [['--timeout', '0'], 'stepper: invalid --timeout: expected a whole number of seconds from 1 to 3600, received 0 (number)\n'],
    [['--timeout', '3601'], 'stepper: invalid --timeout: expected a whole number of seconds from 1 to 3600, received 3601 (number)\n'],
    [['--timeout', 'soon'], `stepper: invalid --timeout: expected a whole number, received "soon" (run \`stepper doctor --help\` for usage)\n`],
    [['--model', 'bad name!'], 'stepper: invalid --model: expected an Ollama model name such as qwen2.5-coder:7b ([namespace/]model[:tag]), received "bad name!"\n'],
  ])('bad input %j exits 2', async (args, message) => {
    const user = await startUser();
    const result = await stepper(user, user.root, ['doctor', ...args]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(message);
    expect(fs.existsSync(user.dataDir)).toBe(false);
    expect(user.fake.requests).toEqual([]);
  });

  test('help lists doctor', async () => {
    const user = await startUser();
    const result = await stepper(user, user.root, ['--help']);

    expect(result.stdout).toMatch(/\n {2}doctor \[options\] +check git, the data directory/);
  });
});

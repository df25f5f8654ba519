import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { type E2eUser, git, initRepository, startUser, stepper } from '../helpers/e2e.js';

/** Runs the CLI with the user's global config file named by GIT_CONFIG_GLOBAL as well as HOME. */
function run(user: E2eUser, cwd: string, args: string[]) {
  return stepper(user, cwd, args, { GIT_CONFIG_GLOBAL: globalFile(user) });
}

function globalFile(user: E2eUser): string {
  return path.join(user.home, '.gitconfig');
}

function readGlobal(user: E2eUser): string {
  return fs.existsSync(globalFile(user)) ? fs.readFileSync(globalFile(user), 'utf8') : '';
}

async function setUp(): Promise<{ user: E2eUser; repo: string; outside: string }> {
  const user = await startUser();
  const repo = initRepository(user, path.join(user.root, 'repo'));
  const outside = path.join(user.root, 'outside');
  fs.mkdirSync(outside);
  return { user, repo, outside };
}

describe('stepper config', () => {
  it('local key round trip', async () => {
    const { user, repo } = await setUp();

    const set = await run(user, repo, ['config', 'set', 'stepper.model', 'llama3:8b']);
    expect(set.code).toBe(0);
    expect(set.stdout).toBe('set stepper.model = llama3:8b in the local config\n');
    expect(git(user, repo, ['config', '--local', '--get', 'stepper.model']).trim()).toBe('llama3:8b');

    const get = await run(user, repo, ['config', 'get', 'stepper.model']);
    expect(get.stdout).toBe('llama3:8b\n');

    const list = await run(user, repo, ['config', 'list']);
    expect(list.stdout).toBe('stepper.model = llama3:8b  (local: file:.git/config)\n');

    const unset = await run(user, repo, ['config', 'unset', 'stepper.model', '--json']);
    expect(JSON.parse(unset.stdout)).toEqual({ key: 'stepper.model', scope: 'local', removed: 1 });

    const after = await run(user, repo, ['config', 'get', 'stepper.model']);
    expect(after.code).toBe(1);
    expect(after.stdout).toBe('');
    expect(after.stderr).toBe('');
  });

  it('--global writes ~/.gitconfig anywhere', async () => {
    const { user, repo, outside } = await setUp();

    const set = await run(user, outside, ['config', 'set', '--global', 'stepper.exclude', '*.snap']);
    const added = await run(user, outside, ['config', 'set', '--global', '--add', 'stepper.exclude', 'docs/']);

    expect(set.code).toBe(0);
    expect(added.stdout).toContain('(2 values now)');
    expect(readGlobal(user)).toContain('exclude = *.snap');
    expect(readGlobal(user)).toContain('exclude = docs/');
    expect(git(user, repo, ['config', '--local', '--list'])).not.toContain('stepper');

    const get = await run(user, repo, ['config', 'get', 'stepper.exclude']);
    expect(get.stdout).toBe('*.snap\ndocs/\n');
  });

  it('list --all documents every key', async () => {
    const { user, repo } = await setUp();
    await run(user, repo, ['config', 'set', '--global', 'stepper.model', 'qwen3:4b']);
    await run(user, repo, ['config', 'set', 'stepper.model', 'llama3:8b']);

    const text = await run(user, repo, ['config', 'list', '--all']);
    const json = await run(user, repo, ['config', 'list', '--all', '--json']);

    expect(text.stdout).toContain('stepper.exclude\n  type     pattern, multi-valued\n  default  (none)\n');
    expect(text.stdout).toContain('  value    (not set)');
    expect(text.stdout).toContain(`  value    qwen3:4b  (global: file:${globalFile(user)})`);
    expect(text.stdout).toContain('  value    llama3:8b  (local: file:.git/config)');
    const model = (JSON.parse(json.stdout) as { keys: Array<{ key: string; value: string; defaultValue: string }> }).keys.find((key) => key.key === 'stepper.model');
    expect(model).toMatchObject({ value: 'llama3:8b', defaultValue: 'qwen2.5-coder:7b' });
  });

  it('stored model reaches stepper status', async () => {
    const { user, repo } = await setUp();
    await run(user, repo, ['config', 'set', 'stepper.model', 'llama3:8b']);

    const status = await run(user, repo, ['status', '--json']);

    expect((JSON.parse(status.stdout) as { ollama: { model: string } }).ollama.model).toBe('llama3:8b');
  });

  it.each([
    [['config', 'set', 'stepper.modle', 'x:1'], /^stepper: unknown config key "stepper\.modle": .*Did you mean stepper\.model\?/],
    [['config', 'get', 'colour'], /^stepper: unknown config key "colour"/],
    [['config', 'set', 'stepper.nothere', 'x:1'], /^stepper: unknown config key "stepper\.nothere": the known keys are stepper\.exclude, stepper\.model\. See stepper config list --all\n$/],
    [['config', 'set', 'stepper.model', 'two words'], /^stepper: invalid value of stepper\.model: expected an Ollama model name.*"two words"/],
    [['config', 'set', 'stepper.exclude', ' '], /^stepper: invalid value of stepper\.exclude/],
    [['config', 'set', '--add', 'stepper.model', 'x:1'], /^stepper: invalid --add: expected a multi-valued key/],
    [['config', 'set', 'stepper.model'], /^stepper: missing required argument 'value'/],
    [['config', 'frob'], /^stepper: /],
  ])('rejects %j with exit 2', async (args, message) => {
    const { user, repo } = await setUp();
    await run(user, repo, ['config', 'set', 'stepper.model', 'kept:1']);
    const before = git(user, repo, ['config', '--local', '--list']);

    const result = await run(user, repo, args);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(git(user, repo, ['config', '--local', '--list'])).toBe(before);
    expect(readGlobal(user)).toBe('');
  });

  it('local write outside repository rejected', async () => {
    const { user, outside } = await setUp();

    const result = await run(user, outside, ['config', 'set', 'stepper.model', 'x:1']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`stepper: ${outside} is not in a git repository: stepper config set writes the repository's config, so run it inside one, or add --global for ~/.gitconfig\n`);
    expect(readGlobal(user)).toBe('');
  });
});

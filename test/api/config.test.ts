import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { getConfig, listConfig, setConfig, unsetConfig } from '../../src/api/config.js';
import { readGitConfig } from '../../src/config/git-config.js';
import { MODEL_KEY } from '../../src/config/keys.js';
import { readExcludePatterns } from '../../src/evidence/repository-rules.js';
import { openRepository } from '../../src/git/repository.js';
import { expectStepperError } from '../helpers/maintenance.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

function newRepository(): RepoBuilder {
  return RepoBuilder.init(path.join(makeTempDir('stepper-config-'), 'repo'));
}

function localConfig(builder: RepoBuilder): string {
  return builder.git(['config', '--local', '--list']);
}

describe('config API', () => {
  it('stored model reaches readers', async () => {
    const builder = newRepository();

    const result = await setConfig('stepper.model', ' llama3:8b ', { cwd: builder.dir });

    expect(result).toEqual({ key: 'stepper.model', value: 'llama3:8b', scope: 'local', values: ['llama3:8b'] });
    expect(await readGitConfig(await openRepository(builder.dir), MODEL_KEY)).toBe('llama3:8b');
  });

  it('replaces single value', async () => {
    const builder = newRepository();
    await setConfig('stepper.model', 'a:1', { cwd: builder.dir });
    await setConfig('Stepper.Model', 'b:1', { cwd: builder.dir });

    const value = await getConfig('stepper.model', { cwd: builder.dir });

    expect(value.value).toBe('b:1');
    expect(value.entries.filter((entry) => entry.scope === 'local').map((entry) => entry.value)).toEqual(['b:1']);
    expect(value.entries.at(-1)?.origin).toBe('file:.git/config');
  });

  it('adds and replaces exclude patterns', async () => {
    const builder = newRepository();
    await setConfig('stepper.exclude', '*.snap', { cwd: builder.dir });
    const added = await setConfig('stepper.exclude', 'docs/', { cwd: builder.dir, add: true });

    expect(added.values).toEqual(['*.snap', 'docs/']);
    expect(await readExcludePatterns(await openRepository(builder.dir))).toEqual(['*.snap', 'docs/']);

    const replaced = await setConfig('stepper.exclude', 'vendor/', { cwd: builder.dir });
    expect(replaced.values).toEqual(['vendor/']);
  });

  it('unsets every value', async () => {
    const builder = newRepository();
    await setConfig('stepper.exclude', 'a', { cwd: builder.dir });
    await setConfig('stepper.exclude', 'b', { cwd: builder.dir, add: true });

    expect(await unsetConfig('stepper.exclude', { cwd: builder.dir })).toEqual({ key: 'stepper.exclude', scope: 'local', removed: 2 });
    expect(await unsetConfig('stepper.exclude', { cwd: builder.dir })).toEqual({ key: 'stepper.exclude', scope: 'local', removed: 0 });
    expect(localConfig(builder)).not.toContain('stepper.exclude');
  });

  it('lists set and unknown keys', async () => {
    const builder = newRepository();
    await setConfig('stepper.model', 'a:1', { cwd: builder.dir });
    builder.git(['config', 'stepper.colour', 'red']);

    const set = await listConfig({ cwd: builder.dir });
    const all = await listConfig({ cwd: builder.dir, all: true });

    expect(set.keys.map((key) => key.key)).toEqual(['stepper.model']);
    expect(set.unknown).toEqual([expect.objectContaining({ key: 'stepper.colour', value: 'red', scope: 'local', known: false })]);
    expect(all.keys.map((key) => [key.key, key.type, key.defaultValue])).toEqual([
      ['stepper.exclude', 'pattern', null],
      ['stepper.model', 'model', 'qwen2.5-coder:7b'],
    ]);
  });

  it('rejects bad input unchanged', async () => {
    const builder = newRepository();
    await setConfig('stepper.model', 'a:1', { cwd: builder.dir });
    const before = localConfig(builder);

    await expectStepperError(setConfig('stepper.modle', 'b:1', { cwd: builder.dir }), 'INVALID_OPTION', /unknown config key "stepper\.modle".*Did you mean stepper\.model\?/);
    await expectStepperError(setConfig('stepper.model', 'not a model', { cwd: builder.dir }), 'INVALID_OPTION', /"not a model"/);
    await expectStepperError(setConfig('stepper.model', 'b:1', { cwd: builder.dir, add: true }), 'INVALID_OPTION', /--add: expected a multi-valued key/);
    await expectStepperError(unsetConfig('nope', { cwd: builder.dir }), 'INVALID_OPTION', /unknown config key "nope"/);
    await expectStepperError(getConfig('stepper', { cwd: builder.dir }), 'INVALID_OPTION', /unknown config key/);
    expect(localConfig(builder)).toBe(before);
  });

  it('rejects write outside repository', async () => {
    const outside = makeTempDir('stepper-outside-');

    await expectStepperError(setConfig('stepper.model', 'a:1', { cwd: outside }), 'NOT_A_REPOSITORY', /is not in a git repository: .*add --global/);
    await expectStepperError(unsetConfig('stepper.model', { cwd: outside }), 'NOT_A_REPOSITORY', /stepper config unset/);
  });
});

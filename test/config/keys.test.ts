import { describe, expect, it } from 'vitest';

import { CONFIG_KEYS, checkConfigValue, findConfigKey, requireConfigKey } from '../../src/config/keys.js';
import { DEFAULT_MODEL } from '../../src/ollama/model.js';
import { expectStepperError } from '../helpers/maintenance.js';

const model = requireConfigKey('stepper.model');
const exclude = requireConfigKey('stepper.exclude');

describe('config key registry', () => {
  it('documents the default model', () => {
    expect(model.defaultValue).toBe(DEFAULT_MODEL);
  });

  it('lists keys sorted, in lower case and documented', () => {
    const names = CONFIG_KEYS.map((key) => key.name);
    expect(names).toEqual([...names].sort());
    for (const key of CONFIG_KEYS) {
      expect(key.name).toMatch(/^stepper\.[a-z]+$/);
      expect(key.description.length).toBeGreaterThan(20);
    }
  });

  it('finds keys regardless of case', () => {
    expect(findConfigKey('Stepper.Model')).toBe(model);
    expect(findConfigKey('stepper.nothing')).toBeUndefined();
  });

  it.each([
    ['stepper.modle', /Did you mean stepper\.model\?/],
    ['model', /Did you mean stepper\.model\?/],
    ['stepper.exlcude', /Did you mean stepper\.exclude\?/],
    ['core.editor', /known keys are stepper\.exclude, stepper\.model\. See/],
  ])('rejects unknown key %s', (name, message) => {
    expectStepperError(() => requireConfigKey(name), 'INVALID_OPTION', message);
  });

  it.each(['stepper.nothere', 'stepper.models2x', 'stepper.', 'nothere'])('suggests no key for %s', (name) => {
    expectStepperError(() => requireConfigKey(name), 'INVALID_OPTION', /known keys are stepper\.exclude, stepper\.model\. See stepper config list --all$/);
  });

  it.each([
    ['stepper.mdoel', 'stepper.model'],
    ['stepper.modl', 'stepper.model'],
    ['stepper.mod', 'stepper.model'],
    ['stepper.excludes', 'stepper.exclude'],
  ])('suggests a key within two edits for %s', (name, suggestion) => {
    expectStepperError(() => requireConfigKey(name), 'INVALID_OPTION', new RegExp(`Did you mean ${suggestion.replace('.', '\\.')}\\?`));
  });
});

describe('checkConfigValue', () => {
  it.each(['qwen2.5-coder:7b', 'llama3', 'library/llama3:8b', ' qwen3:4b '])('accepts model %j', (value) => {
    expect(checkConfigValue(model, value)).toBe(value.trim());
  });

  it.each(['', ' ', 'bad name', 'x:', ':tag', 'a'.repeat(351)])('rejects model %j', (value) => {
    expectStepperError(() => checkConfigValue(model, value), 'INVALID_OPTION', /value of stepper\.model: expected an Ollama model name/);
  });

  it.each(['*.snap', 'docs/generated/', '!keep.lock'])('accepts pattern %j', (value) => {
    expect(checkConfigValue(exclude, value)).toBe(value);
  });

  it.each(['', '   ', 'a\nb', 'a\rb'])('rejects pattern %j', (value) => {
    expectStepperError(() => checkConfigValue(exclude, value), 'INVALID_OPTION', /value of stepper\.exclude: expected a gitignore-style pattern/);
  });
});

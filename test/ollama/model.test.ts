import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { describe, expect, it, vi } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { OllamaClient } from '../../src/ollama/client.js';
import { ModelNotFoundError, OllamaUnreachableError, WatchdogTimeoutError } from '../../src/ollama/errors.js';
import { chooseModel, DEFAULT_MODEL, describeModel, supportsStructuredOutputs } from '../../src/ollama/model.js';
import { startFake } from '../fake-ollama/helpers.js';
import type { FakeOllama, FakeOllamaOptions } from '../fake-ollama/server.mjs';

async function setup(options: FakeOllamaOptions = {}): Promise<{ fake: FakeOllama; client: OllamaClient }> {
  const fake = await startFake(options);
  return { fake, client: new OllamaClient({ env: { OLLAMA_HOST: fake.url } }) };
}

function digestOf(fake: FakeOllama, name: string): string | undefined {
  return fake.models.find((model) => model.name === name)?.digest;
}

describe('describeModel', () => {
  it('reads the default coder model', async () => {
    const { client, fake } = await setup();

    const description = await describeModel(client, 'qwen2.5-coder:7b');

    expect(description).toEqual({
      name: 'qwen2.5-coder:7b',
      contextLength: 32_768,
      modelfileNumCtx: undefined,
      capabilities: ['completion', 'tools', 'insert'],
      digest: digestOf(fake, 'qwen2.5-coder:7b'),
      family: 'qwen2',
      parameterSize: '7.6B',
      quantizationLevel: 'Q4_K_M',
      serverVersion: fake.version,
      structuredOutputs: true,
    });
  });

  it('digest is the tags digest', async () => {
    const { client, fake } = await setup();

    const description = await describeModel(client, 'qwen2.5-coder:7b');

    expect(description.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(description.digest).toBe(digestOf(fake, 'qwen2.5-coder:7b'));
  });

  it('name without tag matches latest', async () => {
    const { client, fake } = await setup({ models: [{ name: 'tiny' }] });

    const description = await describeModel(client, 'library/tiny');

    expect(description.digest).toBe(digestOf(fake, 'tiny:latest'));
  });

  it('thinking capability is listed', async () => {
    const { client } = await setup();

    const description = await describeModel(client, 'qwen3:8b');

    expect(description.capabilities).toContain('thinking');
    expect(description.contextLength).toBe(40_960);
  });

  it('Modelfile num_ctx is read', async () => {
    const { client } = await setup({ models: [{ name: 'tuned:latest', parameters: { num_ctx: 16384, temperature: 0.2 } }] });

    const description = await describeModel(client, 'tuned');

    expect(description.modelfileNumCtx).toBe(16384);
  });

  it('context length falls back to any key', async () => {
    const { client } = await setup({
      models: [{ name: 'odd:1b', architecture: 'odd', modelInfo: { 'general.architecture': 'renamed', 'odd.context_length': 4096 } }],
    });

    const description = await describeModel(client, 'odd:1b');

    expect(description.contextLength).toBe(4096);
  });

  it('missing context length is undefined', async () => {
    const { client } = await setup({ models: [{ name: 'bare:1b', contextLength: null }] });

    const description = await describeModel(client, 'bare:1b');

    expect(description.contextLength).toBeUndefined();
  });

  it('old server reports no capabilities', async () => {
    const { client } = await setup({ version: '0.6.2' });

    const description = await describeModel(client, 'qwen2.5-coder:7b');

    expect(description.capabilities).toBeUndefined();
    expect(description.structuredOutputs).toBe(true);
  });

  it('server before 0.5.0 has no structured outputs', async () => {
    const { client } = await setup({ version: '0.4.7' });

    const description = await describeModel(client, 'qwen2.5-coder:7b');

    expect(description.serverVersion).toBe('0.4.7');
    expect(description.structuredOutputs).toBe(false);
  });

  it('missing version endpoint gives no version', async () => {
    const { client, fake } = await setup();
    fake.enqueue({ match: { path: '/api/version' }, fault: { kind: 'http_error_text', status: 404, body: '404 page not found' } });

    const description = await describeModel(client, 'qwen2.5-coder:7b');

    expect(description.serverVersion).toBeUndefined();
    expect(description.structuredOutputs).toBe(false);
  });

  it('missing model is not found', async () => {
    const { client } = await setup();

    const error = await describeModel(client, 'llama3.2:1b').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error).toMatchObject({ model: 'llama3.2:1b', pullCommand: 'ollama pull llama3.2:1b' });
  });

  it('refusing server is unreachable', async () => {
    const { client, fake } = await setup();
    await fake.refuseConnections();

    const error = await describeModel(client, 'qwen2.5-coder:7b').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(OllamaUnreachableError);
  });

  it('silent server trips the request limit', async () => {
    // The fake's delays apply to generation only, so this server accepts requests and never responds.
    const closed: string[] = [];
    const server = http.createServer((request) => request.on('close', () => closed.push(request.url ?? '')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new OllamaClient({ env: { OLLAMA_HOST: `127.0.0.1:${port}` }, timeouts: { requestTimeoutMs: 200 } });

    try {
      const error = await describeModel(client, 'qwen2.5-coder:7b').catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(WatchdogTimeoutError);
      expect(error).toMatchObject({ watchdog: 'request', limitMs: 200 });
      await vi.waitFor(() => expect(closed).toEqual(['/api/show']));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('caller abort rejects with the reason', async () => {
    const { client } = await setup();
    const reason = new Error('stopped');

    const error = await describeModel(client, 'qwen2.5-coder:7b', { signal: AbortSignal.abort(reason) }).catch((caught: unknown) => caught);

    expect(error).toBe(reason);
  });
});

describe('supportsStructuredOutputs', () => {
  it.each([
    ['0.5.0', true],
    ['0.32.15', true],
    ['1.0.0', true],
    ['v0.5.1', true],
    ['0.5.0-rc1', true],
    ['0.0.0', true],
    ['0.4.7', false],
    ['0.1.14', false],
    ['unknown', false],
    ['', false],
  ])('%s gives %s', (version, expected) => {
    expect(supportsStructuredOutputs(version)).toBe(expected);
  });
});

describe('chooseModel', () => {
  it('flag wins over everything', () => {
    const choice = chooseModel({ flag: 'llama3.2:3b', env: { STEPPER_MODEL: 'qwen3:8b' }, gitConfig: 'mistral' });

    expect(choice).toEqual({ name: 'llama3.2:3b', source: '--model' });
  });

  it('environment wins over git config', () => {
    expect(chooseModel({ env: { STEPPER_MODEL: 'qwen3:8b' }, gitConfig: 'mistral' })).toEqual({ name: 'qwen3:8b', source: 'STEPPER_MODEL' });
  });

  it('git config wins over the default', () => {
    expect(chooseModel({ env: {}, gitConfig: 'mistral' })).toEqual({ name: 'mistral', source: 'git config stepper.model' });
  });

  it('default applies last', () => {
    expect(chooseModel({ env: {} })).toEqual({ name: DEFAULT_MODEL, source: 'default' });
  });

  it('default is the 7B coder model', () => {
    expect(DEFAULT_MODEL).toBe('qwen2.5-coder:7b');
  });

  it('empty environment and git values count as unset', () => {
    expect(chooseModel({ env: { STEPPER_MODEL: '  ' }, gitConfig: '' })).toEqual({ name: DEFAULT_MODEL, source: 'default' });
  });

  it('values are trimmed', () => {
    expect(chooseModel({ env: { STEPPER_MODEL: ' qwen3:8b\n' } }).name).toBe('qwen3:8b');
  });

  it('reads process.env without env', () => {
    const saved = process.env.STEPPER_MODEL;
    process.env.STEPPER_MODEL = 'phi4-mini';
    try {
      expect(chooseModel({})).toEqual({ name: 'phi4-mini', source: 'STEPPER_MODEL' });
    } finally {
      if (saved === undefined) {
        delete process.env.STEPPER_MODEL;
      } else {
        process.env.STEPPER_MODEL = saved;
      }
    }
  });

  it.each(['hf.co/bartowski/Qwen2.5-Coder-7B-Instruct-GGUF:Q4_K_M', 'localhost:5000/team/model:v1', 'user/model', 'qwen2.5-coder:7b-instruct-q8_0'])(
    '%s is a valid name',
    (name) => {
      expect(chooseModel({ flag: name }).name).toBe(name);
    },
  );

  it.each([
    ['--model', { flag: '' }],
    ['--model', { flag: 'two words' }],
    ['STEPPER_MODEL', { env: { STEPPER_MODEL: 'model;rm -rf' } }],
    ['git config stepper.model', { env: {}, gitConfig: '-model' }],
    ['--model', { flag: 'model:' }],
    ['--model', { flag: 'a/' }],
  ])('%s rejects a malformed name', (option, settings) => {
    expect(() => chooseModel(settings)).toThrow(InvalidOptionError);
    expect(() => chooseModel(settings)).toThrow(`invalid ${option}: expected an Ollama model name`);
  });
});

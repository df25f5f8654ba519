import path from 'node:path';

import { describe, expect, test } from 'vitest';

import { type HostLookup, type OllamaProbe, UNKNOWN_CONTEXT_LENGTH } from '../../src/index.js';
import { probeOllama } from '../../src/ollama/probe.js';
import { startFake } from '../fake-ollama/helpers.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';
import { closedPort, diagnose, doctorEnvironment } from './helpers.js';

describe('Ollama check', () => {
  test('reachable fake passes', async () => {
    const fake = await startFake({ version: '0.32.15' });
    const results = await diagnose(doctorEnvironment(fake.url));

    expect(results.ollama?.status).toBe('pass');
    expect(results.ollama?.detail).toBe(`reachable at ${fake.url} (OLLAMA_HOST="${fake.url}"), version 0.32.15`);
  });

  test('closed port fails', async () => {
    const port = await closedPort();
    const results = await diagnose(doctorEnvironment(`127.0.0.1:${port}`));

    expect(results.ollama?.status).toBe('fail');
    expect(results.ollama?.detail).toBe(`not reachable at http://127.0.0.1:${port} (OLLAMA_HOST="127.0.0.1:${port}"): connection refused (ECONNREFUSED)`);
    expect(results.ollama?.fix).toContain('start Ollama with "ollama serve"');
    expect(results.model?.status).toBe('skip');
    expect(results.context?.status).toBe('skip');
  });

  test('invalid OLLAMA_HOST fails with value', async () => {
    const results = await diagnose(doctorEnvironment('127.0.0.1:99999'));

    expect(results.ollama?.status).toBe('fail');
    expect(results.ollama?.detail).toBe('invalid OLLAMA_HOST "127.0.0.1:99999": port "99999" is not a number from 1 to 65535');
    expect(results.ollama?.fix).toContain('set it to the address Ollama listens on');
    expect(results.model?.detail).toBe('qwen2.5-coder:7b (from default): OLLAMA_HOST is invalid, see the Ollama check');
    expect(results.git?.status).toBe('pass');
  });

  test('old server warns about schemas', async () => {
    const fake = await startFake({ version: '0.4.7' });
    const results = await diagnose(doctorEnvironment(fake.url));

    expect(results.ollama?.status).toBe('warn');
    expect(results.ollama?.detail).toContain('version 0.4.7, which accepts only format "json"');
    expect(results.ollama?.fix).toBe('upgrade Ollama to 0.5.0 or later');
  });
});

describe('localhost resolving to IPv6 first', () => {
  // The fake listens on 127.0.0.1 only. The injected probe fails every request to the name
  // localhost, as a client that tries only ::1 would, and the injected resolver returns ::1 first.
  // An invalid STEPPER_MODEL stops the model checks before they connect, because they would
  // resolve localhost with the machine's own resolver.
  const noModel = { STEPPER_MODEL: 'no model!' };
  const failLocalhost: OllamaProbe = (host, timeoutMs) =>
    new URL(host.url).hostname === 'localhost'
      ? Promise.resolve({ reachable: false, version: null, detail: 'connection refused (ECONNREFUSED); start Ollama with "ollama serve"' })
      : probeOllama(host, timeoutMs);
  const ipv6First: HostLookup = async () => [
    { address: '::1', family: 6 },
    { address: '127.0.0.1', family: 4 },
  ];
  const ipv4First: HostLookup = async () => [{ address: '127.0.0.1', family: 4 }];

  test('fallback to 127.0.0.1 warns', async () => {
    const fake = await startFake();
    const env = doctorEnvironment(`localhost:${fake.port}`, noModel);
    const results = await diagnose(env, { lookup: ipv6First, probe: failLocalhost });

    expect(results.ollama?.status).toBe('warn');
    expect(results.ollama?.detail).toBe(
      `not reachable at http://localhost:${fake.port}, because localhost resolves to ::1 first, but Ollama responds at http://127.0.0.1:${fake.port}`,
    );
    expect(results.ollama?.fix).toBe(`set OLLAMA_HOST=127.0.0.1:${fake.port}`);
    expect(fake.requests.filter((request) => request.path === '/api/version').length).toBeGreaterThan(0);
  });

  test('IPv4 first fails without fallback', async () => {
    const fake = await startFake();
    const env = doctorEnvironment(`localhost:${fake.port}`, noModel);
    const results = await diagnose(env, { lookup: ipv4First, probe: failLocalhost });

    expect(results.ollama?.status).toBe('fail');
    expect(results.ollama?.detail).toContain(`not reachable at http://localhost:${fake.port}`);
  });

  test('nothing on 127.0.0.1 fails', async () => {
    const port = await closedPort();
    const results = await diagnose(doctorEnvironment(`localhost:${port}`, noModel), { lookup: ipv6First, probe: failLocalhost });

    expect(results.ollama?.status).toBe('fail');
    expect(results.ollama?.fix).toBe('start Ollama with "ollama serve"');
  });
});

describe('model and context checks', () => {
  test('default model passes with context', async () => {
    const fake = await startFake();
    const results = await diagnose(doctorEnvironment(fake.url));

    expect(results.model?.status).toBe('pass');
    expect(results.model?.detail).toMatch(/^qwen2\.5-coder:7b \(from default\) is installed/);
    expect(results.context?.status).toBe('pass');
    expect(results.context?.detail).toMatch(/^qwen2\.5-coder:7b: context length 32,768 tokens; stepper sends num_ctx 4096 to 32768 by commit size, with up to [\d,]+ tokens of evidence$/);
  });

  test('missing model fails with pull', async () => {
    const fake = await startFake();
    const results = await diagnose(doctorEnvironment(fake.url, { STEPPER_MODEL: 'llama3.2:3b' }));

    expect(results.model?.status).toBe('fail');
    expect(results.model?.detail).toBe(`llama3.2:3b (from STEPPER_MODEL) is not installed on Ollama at ${fake.url}`);
    expect(results.model?.fix).toBe('run ollama pull llama3.2:3b, or choose an installed model ("ollama list" shows them)');
    expect(results.context?.status).toBe('skip');
  });

  test('model option wins', async () => {
    const fake = await startFake({ models: [{ name: 'tiny:1b', contextLength: 16384 }, { name: 'qwen2.5-coder:7b' }] });
    const results = await diagnose(doctorEnvironment(fake.url, { STEPPER_MODEL: 'qwen2.5-coder:7b' }), { model: 'tiny:1b' });

    expect(results.model?.detail).toMatch(/^tiny:1b \(from --model\) is installed/);
    expect(results.context?.detail).toMatch(/^tiny:1b: context length 16,384 tokens; stepper sends num_ctx 4096 to 16384 by commit size/);
  });

  test('git config stepper.model is read', async () => {
    const fake = await startFake({ models: [{ name: 'mine:2b', contextLength: 8192 }] });
    const repo = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    repo.git(['config', 'stepper.model', 'mine:2b']);

    const results = await diagnose(doctorEnvironment(fake.url), { cwd: repo.dir });

    expect(results.model?.status).toBe('pass');
    expect(results.model?.detail).toMatch(/^mine:2b \(from git config stepper\.model\) is installed/);
    expect(results.context?.detail).toMatch(/num_ctx 4096 to 8192 by commit size/);
  });

  test('unreported context length warns', async () => {
    const fake = await startFake({ models: [{ name: 'qwen2.5-coder:7b', contextLength: null }] });
    const results = await diagnose(doctorEnvironment(fake.url));

    expect(results.context?.status).toBe('warn');
    expect(results.context?.detail).toContain(`stepper assumes ${UNKNOWN_CONTEXT_LENGTH} tokens`);
  });

  test('too small context fails', async () => {
    const fake = await startFake({ models: [{ name: 'qwen2.5-coder:7b', contextLength: 2048 }] });
    const results = await diagnose(doctorEnvironment(fake.url));

    expect(results.model?.status).toBe('pass');
    expect(results.context?.status).toBe('fail');
    expect(results.context?.detail).toMatch(/^qwen2\.5-coder:7b: the model's context of 2048 tokens is too small for a report: at least \d+ tokens are needed$/);
    expect(results.context?.fix).toBe('use a model with a longer context');
  });

  test('embedding model fails', async () => {
    const fake = await startFake({ models: [{ name: 'qwen2.5-coder:7b', capabilities: ['embedding'] }] });
    const results = await diagnose(doctorEnvironment(fake.url));

    expect(results.model?.status).toBe('fail');
    expect(results.model?.detail).toContain('cannot generate text (capabilities: embedding)');
  });

  test('invalid STEPPER_MODEL fails', async () => {
    const fake = await startFake();
    const results = await diagnose(doctorEnvironment(fake.url, { STEPPER_MODEL: 'bad name!' }));

    expect(results.model?.status).toBe('fail');
    expect(results.model?.detail).toContain('invalid STEPPER_MODEL');
    expect(results.model?.detail).toContain('"bad name!"');
    expect(results.context?.status).toBe('skip');
  });
});

describe('runner', () => {
  test('throwing check fails alone', async () => {
    const fake = await startFake();
    const throwing: OllamaProbe = () => Promise.reject(new Error('probe exploded'));
    const results = await diagnose(doctorEnvironment(fake.url), { probe: throwing });

    expect(results.ollama).toEqual({ id: 'ollama', title: 'Ollama', status: 'fail', detail: 'probe exploded' });
    expect(results.model?.status).toBe('pass');
    expect(results.git?.status).toBe('pass');
  });

  test('hanging check times out alone', async () => {
    const fake = await startFake();
    const hanging: OllamaProbe = () => new Promise(() => {});
    const results = await diagnose(doctorEnvironment(fake.url), { probe: hanging, timeoutMs: 1000 });

    expect(results.ollama).toEqual({ id: 'ollama', title: 'Ollama', status: 'fail', detail: 'timed out after 1 s' });
    expect(results.model?.status).toBe('pass');
    expect(results.context?.status).toBe('pass');
  });

  test('results keep their order', async () => {
    const fake = await startFake();
    const results = await diagnose(doctorEnvironment(fake.url));

    expect(Object.keys(results)).toEqual([
      'git',
      'data-dir',
      'free-space',
      'database-integrity',
      'database-journal',
      'daemon',
      'hook',
      'ollama',
      'model',
      'context',
    ]);
  });
});

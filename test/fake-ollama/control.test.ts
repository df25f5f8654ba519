// Controlling a fake from outside its process: control endpoint, control file, environment
// variables and the standalone entry script.

import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Ollama } from 'ollama';
import { describe, expect, it } from 'vitest';

import { killLeftoversAfterEach, startFixture, waitForExit, waitForLine } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { clientFor, postJson, rawFetch, rejectionOf, startFake } from './helpers.js';
import { type FakeState, type RecordedRequest, optionsFromEnv } from './server.mjs';

const CODER = 'qwen2.5-coder:7b';
const SERVE = 'fake-ollama/serve.mjs';
const user = (content: string) => [{ role: 'user' as const, content }];

/** Replaces a file in one step, so the fake never reads a half-written control file. */
function writeAtomically(file: string, content: unknown): void {
  const temporary = `${file}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(content));
  fs.renameSync(temporary, file);
}

async function control(url: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}/__fake${route}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

describe('control endpoint', () => {
  it('POST faults adds a rule the client sees', async () => {
    const fake = await startFake();

    const added = await control(fake.url, 'POST', '/faults', { fault: { kind: 'busy_n', count: 1 } });
    const error = await rejectionOf(clientFor(fake).chat({ model: CODER, messages: user('hi') }));

    expect(added.status).toBe(200);
    expect(added.body.ids).toHaveLength(1);
    expect(error.status_code).toBe(503);
  });

  it('GET requests returns the log without control requests', async () => {
    const fake = await startFake();
    await clientFor(fake).chat({ model: CODER, messages: user('hi'), options: { num_ctx: 8192 } });

    const { body } = await control(fake.url, 'GET', '/requests');
    const requests = body.requests as RecordedRequest[];

    expect(requests.map((request) => request.path)).toEqual(['/api/chat']);
    expect(requests[0]?.body.options.num_ctx).toBe(8192);
    expect(fake.requests).toHaveLength(1);
  });

  it('PUT answer sets the content', async () => {
    const fake = await startFake();

    await control(fake.url, 'PUT', '/answer', { answer: { ok: true } });
    const reply = await clientFor(fake).chat({ model: CODER, messages: user('hi') });

    expect(reply.message.content).toBe('{"ok":true}');
  });

  it('PUT models replaces the installed models', async () => {
    const fake = await startFake();

    const { body } = await control(fake.url, 'PUT', '/models', { models: [{ name: 'tiny:1b' }] });
    const listed = await clientFor(fake).list();

    expect(body.models).toEqual(['tiny:1b']);
    expect(listed.models.map((model) => model.name)).toEqual(['tiny:1b']);
  });

  it('POST models adds one model', async () => {
    const fake = await startFake();

    const { body } = await control(fake.url, 'POST', '/models', { name: 'tiny:1b' });

    expect(body.models).toEqual([CODER, 'qwen3:8b', 'tiny:1b']);
  });

  it('GET state lists rules with their counts', async () => {
    const fake = await startFake();
    await control(fake.url, 'POST', '/faults', [
      { fault: 'no_done', times: 2, match: { path: '/api/generate' } },
      { fault: { kind: 'flaky_every_n', every: 2 } },
    ]);

    const state = (await control(fake.url, 'GET', '/state')).body as FakeState;

    expect(state.rules.map((rule) => [rule.faults, rule.remaining, rule.match])).toEqual([
      [['no_done'], 2, { path: '/api/generate' }],
      [['flaky_every_n'], 'always', undefined],
    ]);
  });

  it('DELETE faults removes every rule', async () => {
    const fake = await startFake();
    await control(fake.url, 'POST', '/faults', { fault: 'context_error' });

    await control(fake.url, 'DELETE', '/faults');
    const reply = await clientFor(fake).chat({ model: CODER, messages: user('hi') });

    expect(reply.done).toBe(true);
  });

  it('POST reset clears log, rules and loaded models', async () => {
    const fake = await startFake();
    const client = clientFor(fake);
    await client.chat({ model: CODER, messages: user('hi') });
    await control(fake.url, 'POST', '/faults', { fault: 'context_error' });

    await control(fake.url, 'POST', '/reset');

    expect(fake.requests).toEqual([]);
    expect(fake.describeState().rules).toEqual([]);
    expect((await client.ps()).models).toEqual([]);
  });

  it('invalid fault is 400 with the reason', async () => {
    const fake = await startFake();

    const response = await control(fake.url, 'POST', '/faults', { fault: { kind: 'stall', afterLines: 'two' } });

    expect(response.status).toBe(400);
    expect(response.body.error).toBe('fault stall: afterLines must be a non-negative integer, got "two"');
  });

  it('unknown control route is 404', async () => {
    const fake = await startFake();

    const response = await control(fake.url, 'GET', '/nothing');

    expect(response.status).toBe(404);
    expect(response.body.error).toBe('unknown control route GET /nothing');
  });

  it('POST refuse refuses connections, then accepts again', async () => {
    const fake = await startFake();
    const client = clientFor(fake);
    const outcomes: string[] = [];

    await control(fake.url, 'POST', '/refuse', { ms: 300 });
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const outcome = await client.version().then(
        () => 'ok',
        (error: { cause?: { code?: string }; message: string }) => error.cause?.code ?? error.message,
      );
      if (outcomes.at(-1) !== outcome) {
        outcomes.push(outcome);
      }
      if (outcome === 'ok' && outcomes.includes('ECONNREFUSED')) {
        break;
      }
      await sleep(20);
    }

    expect(outcomes.slice(-2)).toEqual(['ECONNREFUSED', 'ok']);
  });
});

describe('control file', () => {
  it('rules apply and reload when the file changes', async () => {
    const file = path.join(makeTempDir(), 'control.json');
    writeAtomically(file, { faults: [{ fault: { kind: 'busy_n', count: 1 } }] });
    const fake = await startFake({ controlFile: file });
    const client = clientFor(fake);

    const busy = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));
    await client.chat({ model: CODER, messages: user('hi') });
    writeAtomically(file, { faults: [{ fault: { kind: 'http_error', status: 502, message: 'bad gateway' } }] });
    const gateway = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(busy.status_code).toBe(503);
    expect(gateway.status_code).toBe(502);
  });

  it('file sets answer and models', async () => {
    const file = path.join(makeTempDir(), 'control.json');
    writeAtomically(file, { answer: 'from the file', models: [{ name: 'filed:3b' }] });
    const fake = await startFake({ controlFile: file });
    const client = clientFor(fake);

    const reply = await client.chat({ model: 'filed:3b', messages: user('hi') });

    expect(reply.message.content).toBe('from the file');
  });

  it('invalid file keeps the previous rules and reports the error', async () => {
    const file = path.join(makeTempDir(), 'control.json');
    writeAtomically(file, { faults: [{ fault: 'context_error', times: 'always' }] });
    const lines: string[] = [];
    const fake = await startFake({ controlFile: file, log: (line) => lines.push(line) });
    const client = clientFor(fake);
    await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    fs.writeFileSync(file, '{"faults": [');
    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(error.status_code).toBe(400);
    expect(fake.describeState().controlFileError).toMatch(/^control file .* is not valid JSON: /);
    expect(lines).toHaveLength(1);
  });

  it('missing file means no rules', async () => {
    const fake = await startFake({ controlFile: path.join(makeTempDir(), 'absent.json') });

    const reply = await clientFor(fake).chat({ model: CODER, messages: user('hi') });

    expect(reply.done).toBe(true);
  });
});

describe('optionsFromEnv', () => {
  it('reads every variable', () => {
    const dir = makeTempDir();
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify({ defaultNumCtx: 2048, version: '0.9.0' }));

    const options = optionsFromEnv({
      FAKE_OLLAMA_CONFIG_FILE: configFile,
      FAKE_OLLAMA_CONFIG: '{"strictContext": true, "defaultNumCtx": 8192}',
      FAKE_OLLAMA_CONTROL_FILE: path.join(dir, 'control.json'),
      FAKE_OLLAMA_PORT: '0',
      FAKE_OLLAMA_VERSION: '0.5.7',
    });

    expect(options).toEqual({
      defaultNumCtx: 8192,
      version: '0.5.7',
      strictContext: true,
      controlFile: path.join(dir, 'control.json'),
      port: 0,
    });
  });

  it('invalid JSON names the variable', () => {
    expect(() => optionsFromEnv({ FAKE_OLLAMA_CONFIG: '{' })).toThrow(/^FAKE_OLLAMA_CONFIG is not valid JSON: /);
  });

  it('invalid port is rejected', () => {
    expect(() => optionsFromEnv({ FAKE_OLLAMA_PORT: '70000' })).toThrow(
      'FAKE_OLLAMA_PORT must be a port number from 0 to 65535, got "70000"',
    );
  });
});

describe('standalone process', () => {
  const children = killLeftoversAfterEach();

  async function serve(env: Record<string, string>) {
    const child = startFixture(SERVE, [], env);
    children.push(child);
    const line = await waitForLine(child, /^fake-ollama listening on /);
    const url = line.slice('fake-ollama listening on '.length);
    return { child, url, client: new Ollama({ host: url }) };
  }

  it('applies faults and version from FAKE_OLLAMA_CONFIG', async () => {
    const { child, client } = await serve({
      FAKE_OLLAMA_CONFIG: JSON.stringify({ version: '0.5.7', faults: [{ fault: { kind: 'busy_n', count: 1 } }] }),
    });

    const version = await client.version();
    const busy = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));
    const reply = await client.chat({ model: CODER, messages: user('hi') });
    child.kill('SIGTERM');
    const exit = await waitForExit(child);

    expect(version).toEqual({ version: '0.5.7' });
    expect(busy.status_code).toBe(503);
    expect(reply.done).toBe(true);
    expect(exit.code).toBe(0);
  });

  it('reads its control file', async () => {
    const file = path.join(makeTempDir(), 'control.json');
    writeAtomically(file, { answer: 'first' });
    const { client } = await serve({ FAKE_OLLAMA_CONTROL_FILE: file });

    const first = await client.chat({ model: CODER, messages: user('hi') });
    writeAtomically(file, { faults: [{ fault: 'model_missing' }] });
    const missing = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(first.message.content).toBe('first');
    expect(missing.status_code).toBe(404);
  });

  it('takes faults through the control endpoint', async () => {
    const { url, client } = await serve({});

    await control(url, 'POST', '/faults', { fault: { kind: 'error_midstream', afterLines: 1 } });
    const stream = await client.chat({ model: CODER, messages: user('hi'), stream: true });
    const error = await rejectionOf(
      (async () => {
        for await (const part of stream) {
          void part;
        }
      })(),
    );
    const { body } = await control(url, 'GET', '/requests');

    expect(error.message).toBe('an error was encountered while running the model: unexpected EOF');
    expect(body.requests[0].faults).toEqual(['error_midstream']);
  });

  it('handles raw requests like the in-process fake', async () => {
    const { url } = await serve({});

    const response = await fetch(`${url}/api/chat`, { method: 'POST', body: '' });

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'missing request body' });
  });

  it('exits by itself after its lifetime', async () => {
    const { child } = await serve({ FAKE_OLLAMA_LIFETIME_MS: '200' });

    const exit = await waitForExit(child);

    expect(exit.code).toBe(0);
  });

  it('exits when standard input closes if asked', async () => {
    const { child } = await serve({ FAKE_OLLAMA_EXIT_ON_STDIN_END: '1' });

    child.stdin?.end();
    const exit = await waitForExit(child);

    expect(exit.code).toBe(0);
  });

  it('invalid configuration exits 1 with the reason', async () => {
    const child = startFixture(SERVE, [], { FAKE_OLLAMA_CONFIG: '{"models": [{"name": ""}]}' });
    children.push(child);

    const exit = await waitForExit(child);

    expect(exit.code).toBe(1);
    expect(exit.stderr).toMatch(/^fake-ollama failed to start: a fake model needs a non-empty string name/);
  });
});

describe('helpers', () => {
  it('postJson and rawFetch reach the fake', async () => {
    const fake = await startFake();

    const chat = await postJson(fake, '/api/chat', { model: CODER, messages: user('hi'), stream: false });
    const root = await rawFetch(fake, '/');

    expect(chat.status).toBe(200);
    expect(root.status).toBe(200);
  });
});

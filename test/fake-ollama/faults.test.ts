// Each fault mode as the real ollama-js client surfaces it.

import { afterEach, describe, expect, it, vi } from 'vitest';

import { clientFor, collect, contentOf, fetchWithHost, rejectionOf, startFake } from './helpers.js';
import { CONTEXT_ERROR, ERROR_PRESETS, type FaultRule } from './server.mjs';

const CODER = 'qwen2.5-coder:7b';
const THINKER = 'qwen3:8b';
const REPORT = { title: 'Add parser tests', risk: 'low', files: ['src/parser.ts'] };
const REPORT_TEXT = JSON.stringify(REPORT);
const SCHEMA = {
  type: 'object',
  properties: { title: { type: 'string' }, risk: { type: 'string' }, files: { type: 'array', items: { type: 'string' } } },
  required: ['title', 'risk', 'files'],
};
const user = (content: string) => [{ role: 'user' as const, content }];

afterEach(() => {
  vi.restoreAllMocks();
});

/** Starts a fake whose next chat or generate request gets `fault`. */
async function fakeWith(fault: NonNullable<FaultRule['fault']>, options: Parameters<typeof startFake>[0] = {}) {
  const fake = await startFake({ answer: REPORT, ...options });
  fake.enqueue({ fault });
  return { fake, client: clientFor(fake) };
}

async function streamChat(client: ReturnType<typeof clientFor>, extra: Record<string, unknown> = {}) {
  return collect(await client.chat({ model: CODER, messages: user('report'), stream: true, ...extra }));
}

describe('latency', () => {
  it('load delay applies only to a cold model', async () => {
    const fake = await startFake({ timing: { loadDelayMs: 150 } });
    const client = clientFor(fake);

    const cold = await client.chat({ model: CODER, messages: user('hi') });
    const warm = await client.chat({ model: CODER, messages: user('hi') });

    expect(fake.requests.map((entry) => entry.modelLoaded)).toEqual([true, false]);
    expect(cold.load_duration).toBeGreaterThan(warm.load_duration);
  });

  it('reload forces a load on a warm model', async () => {
    const fake = await startFake();
    const client = clientFor(fake);
    await client.chat({ model: CODER, messages: user('hi') });
    fake.enqueue({ fault: { kind: 'latency', loadDelayMs: 20, reload: true } });

    await client.chat({ model: CODER, messages: user('hi') });

    expect(fake.requests[1]?.modelLoaded).toBe(true);
  });

  it('token delay keeps every line', async () => {
    const { client } = await fakeWith({ kind: 'latency', tokenDelayMs: 5 });

    const { parts } = await streamChat(client);

    expect(contentOf(parts)).toBe(REPORT_TEXT);
  });
});

describe('rejections before the first byte', () => {
  it.each([
    ['current', "model 'qwen2.5-coder:7b' not found"],
    ['legacy', "model 'qwen2.5-coder:7b' not found, try pulling it first"],
    ['scheduler', 'model "qwen2.5-coder:7b" not found, try pulling it first'],
  ] as const)('model_missing %s wording', async (wording, message) => {
    const { client } = await fakeWith({ kind: 'model_missing', wording });

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(error.name).toBe('ResponseError');
    expect(error.status_code).toBe(404);
    expect(error.message).toBe(message);
  });

  it('model_missing on show uses the normalised name', async () => {
    const fake = await startFake();
    fake.enqueue({ fault: 'model_missing', match: { path: '/api/show' } });

    const error = await rejectionOf(clientFor(fake).show({ model: 'qwen3' }));

    expect(error.message).toBe("model 'qwen3:latest' not found");
  });

  it.each(Object.entries(ERROR_PRESETS))('http_error preset %s', async (preset, expected) => {
    const { client } = await fakeWith({ kind: 'http_error', preset: preset as keyof typeof ERROR_PRESETS });

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(error.name).toBe('ResponseError');
    expect(error.status_code).toBe(expected.status);
    expect(error.message).toBe(expected.message);
  });

  it('http_error on a stream throws before any iterator exists', async () => {
    const { client } = await fakeWith({ kind: 'http_error', preset: 'busy' });

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi'), stream: true }));

    expect(error.status_code).toBe(503);
  });

  it('http_error with delay answers after the request is logged', async () => {
    const { fake, client } = await fakeWith({ kind: 'http_error', preset: 'load_timeout', delayMs: 100 });

    const pending = rejectionOf(client.chat({ model: CODER, messages: user('hi') }));
    const entry = await fake.waitForRequest(() => true);
    const statusWhileWaiting = entry.status;
    const error = await pending;

    expect(statusWhileWaiting).toBeUndefined();
    expect(error.message).toBe('timed out waiting for llama runner to start - progress 0.00 - ');
  });

  it('http_error_text gives the raw text as message', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const { client } = await fakeWith({ kind: 'http_error_text', status: 500, body: 'upstream exploded' });

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(error.name).toBe('ResponseError');
    expect(error.status_code).toBe(500);
    expect(error.message).toBe('upstream exploded');
  });

  it('http_error_text with empty body gives the status text', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const { client } = await fakeWith({ kind: 'http_error_text', status: 502, body: '' });

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(error.message).toBe('Error 502: Bad Gateway');
    expect(log).toHaveBeenCalledWith('Getting text from response');
  });

  it('context_error is 400 with the long message', async () => {
    const { client } = await fakeWith('context_error');

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(error.status_code).toBe(400);
    expect(error.message).toBe(CONTEXT_ERROR);
  });

  it('drop_before_headers fails the fetch', async () => {
    const { fake, client } = await fakeWith('drop_before_headers');

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('fetch failed');
    expect(error.cause.code).toBe('UND_ERR_SOCKET');
    expect(fake.requests[0]?.serverDropped).toBe(true);
  });

  it('refused connections give ECONNREFUSED until accepted again', async () => {
    const fake = await startFake();
    const client = clientFor(fake);
    await fake.refuseConnections();

    const error = await rejectionOf(client.version());
    await fake.acceptConnections();

    expect(error.message).toBe('fetch failed');
    expect(error.cause.code).toBe('ECONNREFUSED');
    expect(await client.version()).toEqual({ version: fake.version });
  });
});

describe('failures during the stream', () => {
  it('error_midstream yields parts then a plain Error', async () => {
    const { fake, client } = await fakeWith({ kind: 'error_midstream', afterLines: 3 });

    const { parts, error } = await streamChat(client);

    expect(parts).toHaveLength(3);
    expect(error.name).toBe('Error');
    expect(error.message).toBe('an error was encountered while running the model: unexpected EOF');
    expect(error.status_code).toBeUndefined();
    expect(fake.requests[0]?.status).toBe(200);
  });

  it('error_midstream without streaming is a 500', async () => {
    const { client } = await fakeWith({ kind: 'error_midstream', message: 'an error was encountered while running the model: boom' });

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(error.status_code).toBe(500);
    expect(error.message).toBe('an error was encountered while running the model: boom');
  });

  it('drop_after cuts the stream with a socket error', async () => {
    const { fake, client } = await fakeWith({ kind: 'drop_after', afterLines: 4 });

    const { parts, error } = await streamChat(client);

    expect(parts).toHaveLength(4);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('terminated');
    expect(error.cause.code).toBe('UND_ERR_SOCKET');
    expect(fake.requests[0]?.clientClosedEarly).toBe(false);
  });

  it('drop_after without streaming fails the fetch', async () => {
    const { client } = await fakeWith({ kind: 'drop_after' });

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(error.message).toBe('fetch failed');
    expect(error.cause.code).toBe('UND_ERR_SOCKET');
  });

  it('slow_headers trips a client time-to-first-byte limit', async () => {
    const fake = await startFake({ answer: REPORT });
    fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 2000 } });
    const client = clientFor(fake, {
      fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(100) }),
    });

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi'), stream: true }));
    const entry = await fake.waitForRequest((request) => request.clientClosedEarly);

    expect(error.name).toBe('TimeoutError');
    expect(entry.respondedAt).toBeUndefined();
  });

  it('slow_headers delays but completes without a limit', async () => {
    const { client } = await fakeWith({ kind: 'slow_headers', delayMs: 100 });

    const { parts, error } = await streamChat(client);

    expect(error).toBeUndefined();
    expect(contentOf(parts)).toBe(REPORT_TEXT);
  });

  it('stall resumes the stream afterwards', async () => {
    const { client } = await fakeWith({ kind: 'stall', afterLines: 2, stallMs: 100 });

    const { parts, error } = await streamChat(client);

    expect(error).toBeUndefined();
    expect(contentOf(parts)).toBe(REPORT_TEXT);
  });

  it('stall trips a client idle watchdog', async () => {
    const { fake, client } = await fakeWith({ kind: 'stall', afterLines: 2, stallMs: 5000 });
    const stream = await client.chat({ model: CODER, messages: user('hi'), stream: true });
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stream.abort(), 300);
    };

    arm();
    const parts: unknown[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const part of stream) {
          parts.push(part);
          arm();
        }
      })(),
    );
    clearTimeout(timer);
    const entry = await fake.waitForRequest((request) => request.clientClosedEarly);

    expect(error.name).toBe('AbortError');
    expect(parts).toHaveLength(2);
    expect(entry.linesWritten).toBe(2);
  });

  it('no_done stream ends with the missing-done error', async () => {
    const { client } = await fakeWith('no_done');

    const { parts, error } = await streamChat(client);

    expect(contentOf(parts)).toBe(REPORT_TEXT);
    expect(error.message).toBe('Did not receive done or success response in stream.');
  });

  it('no_done without streaming returns done false', async () => {
    const { client } = await fakeWith('no_done');

    const reply = await client.chat({ model: CODER, messages: user('hi') });

    expect(reply.done).toBe(false);
    expect(reply.message.content).toBe(REPORT_TEXT);
    expect('done_reason' in reply).toBe(false);
    expect('eval_count' in reply).toBe(false);
  });

  it('malformed_line is skipped with a console warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const { client } = await fakeWith({ kind: 'malformed_line', afterLines: 2 });

    const { parts, error } = await streamChat(client);

    expect(error).toBeUndefined();
    expect(contentOf(parts)).toBe(REPORT_TEXT);
    expect(warn).toHaveBeenCalledWith('invalid json: ', '{"model":"m","mess');
  });

  it('malformed_line without streaming is a SyntaxError', async () => {
    const { client } = await fakeWith('malformed_line');

    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect(error).toBeInstanceOf(SyntaxError);
  });

  it('split_chunks keeps multi-byte text intact', async () => {
    const answer = 'Résumé: добавлены тесты 😀, «ok» ✓.';
    const { fake, client } = await fakeWith('split_chunks', { answer });

    const { parts, error } = await streamChat(client);
    const entry = fake.requests[0];

    expect(error).toBeUndefined();
    expect(contentOf(parts)).toBe(answer);
    expect(entry?.writes).toBeGreaterThan(entry?.linesWritten ?? Infinity);
  });

  it('split_chunks without streaming still parses', async () => {
    const { fake, client } = await fakeWith('split_chunks');

    const reply = await client.chat({ model: CODER, messages: user('hi') });

    expect(JSON.parse(reply.message.content)).toEqual(REPORT);
    expect(fake.requests[0]?.writes).toBeGreaterThan(1);
  });

  it('final_line_has_text puts the last piece on the done line', async () => {
    const { client } = await fakeWith('final_line_has_text');

    const { parts } = await streamChat(client);
    const last = parts.at(-1);

    expect(last?.done).toBe(true);
    expect(last?.message.content).toBe('}');
    expect(contentOf(parts)).toBe(REPORT_TEXT);
  });
});

describe('broken content', () => {
  it.each(['trailing_comma', 'missing_brace', 'unescaped_newline'] as const)('malformed_json_output %s', async (variant) => {
    const { client } = await fakeWith({ kind: 'malformed_json_output', variant });

    const reply = await client.chat({ model: CODER, messages: user('hi'), format: SCHEMA });

    expect(() => JSON.parse(reply.message.content)).toThrow(SyntaxError);
    expect(reply.done_reason).toBe('stop');
  });

  it('fenced_json wraps the JSON in a code fence', async () => {
    const { client } = await fakeWith('fenced_json');

    const reply = await client.chat({ model: CODER, messages: user('hi'), format: SCHEMA });

    expect(reply.message.content).toBe(`\`\`\`json\n${REPORT_TEXT}\n\`\`\``);
  });

  it('prose_wrapped_json surrounds the JSON with prose', async () => {
    const { client } = await fakeWith('prose_wrapped_json');

    const { message } = await client.chat({ model: CODER, messages: user('hi'), format: SCHEMA });
    const inner = message.content.slice(message.content.indexOf('{'), message.content.lastIndexOf('}') + 1);

    expect(message.content.startsWith('Here is the report:\n')).toBe(true);
    expect(() => JSON.parse(message.content)).toThrow(SyntaxError);
    expect(JSON.parse(inner)).toEqual(REPORT);
  });

  it('think_tags puts a think block before the JSON', async () => {
    const { client } = await fakeWith({ kind: 'think_tags', reasoning: '' });

    const reply = await client.chat({ model: CODER, messages: user('hi'), format: SCHEMA });

    expect(reply.message.content).toBe(`<think>\n\n</think>\n\n${REPORT_TEXT}`);
  });

  it('thinking_only spends num_predict on thinking', async () => {
    const { client } = await fakeWith('thinking_only');

    const reply = await client.chat({ model: THINKER, messages: user('hi'), format: SCHEMA, options: { num_predict: 20 } });

    expect(reply.message.content).toBe('');
    expect(reply.message.thinking?.length).toBeGreaterThan(0);
    expect(reply.done_reason).toBe('length');
    expect(reply.eval_count).toBe(20);
  });

  it('thinking_only streams thinking parts only', async () => {
    const { client } = await fakeWith({ kind: 'thinking_only', pieces: 12 });

    const { parts } = await streamChat(client, { model: THINKER });
    const thinkingParts = parts.filter((part) => part.message.thinking !== undefined);

    expect(contentOf(parts)).toBe('');
    expect(thinkingParts).toHaveLength(12);
    expect(parts.at(-1)?.done_reason).toBe('length');
  });

  it('truncated_length cuts the JSON', async () => {
    const { client } = await fakeWith({ kind: 'truncated_length', afterPieces: 10 });

    const reply = await client.chat({ model: CODER, messages: user('hi'), format: SCHEMA });

    expect(reply.done_reason).toBe('length');
    expect(REPORT_TEXT.startsWith(reply.message.content)).toBe(true);
    expect(reply.message.content.length).toBeLessThan(REPORT_TEXT.length);
  });

  it('whitespace_runaway pads until num_predict', async () => {
    const { client } = await fakeWith('whitespace_runaway');

    const reply = await client.chat({ model: CODER, messages: user('hi'), format: 'json', options: { num_predict: 60 } });

    expect(reply.done_reason).toBe('length');
    expect(reply.eval_count).toBe(60);
    expect(reply.message.content.startsWith(`${REPORT_TEXT}\n `)).toBe(true);
    expect(JSON.parse(reply.message.content)).toEqual(REPORT);
  });

  it('whitespace_runaway with the repeat guard ends without done', async () => {
    const { client } = await fakeWith({ kind: 'whitespace_runaway', repeatGuard: true });

    const { parts, error } = await streamChat(client, { format: 'json' });

    expect(contentOf(parts).trimEnd()).toBe(REPORT_TEXT);
    expect(error.message).toBe('Did not receive done or success response in stream.');
  });

  it('whitespace_runaway with the repeat guard returns done false', async () => {
    const { client } = await fakeWith({ kind: 'whitespace_runaway', repeatGuard: true });

    const reply = await client.chat({ model: CODER, messages: user('hi'), format: 'json' });

    expect(reply.done).toBe(false);
    expect(reply.message.content).toMatch(/^\{.*\}\n \n/);
  });

  it('schema_violation drops a required key', async () => {
    const { client } = await fakeWith('schema_violation');

    const reply = await client.chat({ model: CODER, messages: user('hi'), format: SCHEMA });

    expect(JSON.parse(reply.message.content)).toEqual({ risk: 'low', files: ['src/parser.ts'] });
  });

  it('schema_violation wrong_type changes a type', async () => {
    const { client } = await fakeWith({ kind: 'schema_violation', violation: 'wrong_type' });

    const reply = await client.chat({ model: CODER, messages: user('hi'), format: SCHEMA });

    expect(JSON.parse(reply.message.content).title).toBe(42);
  });

  it('ignore_format returns prose', async () => {
    const { client } = await fakeWith({ kind: 'ignore_format', text: 'Sure, the change looks fine.' });

    const reply = await client.chat({ model: THINKER, messages: user('hi'), format: SCHEMA, think: false });

    expect(reply.message.content).toBe('Sure, the change looks fine.');
  });
});

describe('metrics', () => {
  it('silent_truncation reports far fewer prompt tokens', async () => {
    const { fake, client } = await fakeWith('silent_truncation');

    const reply = await client.chat({ model: CODER, messages: user('word '.repeat(400)) });

    expect(reply.done_reason).toBe('stop');
    expect(reply.prompt_eval_count).toBeLessThan(fake.requests[0]?.promptTokensEstimate ?? 0);
  });

  it('omit_metrics drops prompt_eval_count', async () => {
    const { client } = await fakeWith('omit_metrics');

    const reply = await client.chat({ model: CODER, messages: user('hi') });

    expect('prompt_eval_count' in reply).toBe(false);
    expect(reply.eval_count).toBeGreaterThan(0);
  });

  it('omit_metrics can drop done_reason like old servers', async () => {
    const { client } = await fakeWith({ kind: 'omit_metrics', fields: ['prompt_eval_count', 'done_reason'] });

    const reply = await client.chat({ model: CODER, messages: user('hi') });

    expect('done_reason' in reply).toBe(false);
  });
});

describe('request counting', () => {
  it('busy_n fails the first n requests with 503', async () => {
    const fake = await startFake();
    fake.enqueue({ fault: { kind: 'busy_n', count: 2 } });
    const client = clientFor(fake);

    const first = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));
    const second = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));
    const third = await client.chat({ model: CODER, messages: user('hi') });

    expect(first.status_code).toBe(503);
    expect(second.message).toBe('server busy, please try again.  maximum pending requests exceeded');
    expect(third.done).toBe(true);
  });

  it('flaky_every_n fails every nth request', async () => {
    const fake = await startFake();
    fake.enqueue({ fault: { kind: 'flaky_every_n', every: 3 } });
    const client = clientFor(fake);
    const outcomes: Array<number | 'ok'> = [];

    for (let attempt = 0; attempt < 6; attempt += 1) {
      try {
        await client.chat({ model: CODER, messages: user('hi') });
        outcomes.push('ok');
      } catch (error) {
        outcomes.push((error as { status_code: number }).status_code);
      }
    }

    expect(outcomes).toEqual(['ok', 'ok', 500, 'ok', 'ok', 500]);
  });
});

describe('host check', () => {
  it('forbidden_host rejects a foreign Host header with 403', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const fake = await startFake();
    fake.enqueue({ fault: 'forbidden_host', match: { path: '*' }, times: 'always' });
    const client = clientFor(fake, { fetch: fetchWithHost('ollama.example.com') });

    const error = await rejectionOf(client.version());

    expect(error.status_code).toBe(403);
    expect(error.message).toBe('Error 403: Forbidden');
  });

  it.each(['localhost:11434', '127.0.0.1', '[::1]:11434', 'box.local', ''])('forbidden_host allows local Host %s', async (host) => {
    const fake = await startFake({ checkHost: true });
    const client = clientFor(fake, { fetch: fetchWithHost(host) });

    expect(await client.version()).toEqual({ version: fake.version });
  });

  it('checkHost rejects every foreign request', async () => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const fake = await startFake({ checkHost: true });
    const client = clientFor(fake, { fetch: fetchWithHost('attacker.test') });

    const error = await rejectionOf(client.list());

    expect(error.status_code).toBe(403);
  });
});

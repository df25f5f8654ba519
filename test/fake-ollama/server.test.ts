import { describe, expect, it } from 'vitest';

import { clientFor, collect, contentOf, jsonOf, postJson, rawFetch, rejectionOf, startFake } from './helpers.js';
import { CONTEXT_ERROR } from './server.mjs';

const CODER = 'qwen2.5-coder:7b';
const THINKER = 'qwen3:8b';
const user = (content: string) => [{ role: 'user', content }];

function ndjsonLines(text: string): any[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

describe('wire format', () => {
  it('chat without stream field streams NDJSON', async () => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', { model: CODER, messages: user('hi') });
    const lines = ndjsonLines(await response.text());

    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(response.headers.get('content-length')).toBeNull();
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.at(-1).done).toBe(true);
  });

  it('stream lines carry metrics only on the final line', async () => {
    const fake = await startFake();

    const lines = ndjsonLines(await (await postJson(fake, '/api/chat', { model: CODER, messages: user('hi') })).text());
    const middle = lines.slice(0, -1);
    const final = lines.at(-1);

    expect(middle.every((line) => line.done === false && !('done_reason' in line) && !('eval_count' in line))).toBe(true);
    expect(middle.every((line) => typeof line.message.content === 'string' && !('thinking' in line.message))).toBe(true);
    expect(final.done_reason).toBe('stop');
    expect(final.eval_count).toBe(middle.length);
    expect(final.prompt_eval_count).toBe(1);
    expect(typeof final.total_duration).toBe('number');
    expect(final.message).toEqual({ role: 'assistant', content: '' });
  });

  it('created_at is UTC RFC 3339 with a fraction', async () => {
    const fake = await startFake();

    const reply = await clientFor(fake).chat({ model: CODER, messages: user('hi') });

    expect(String(reply.created_at)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  });

  it('non-streaming chat returns one JSON object', async () => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', { model: CODER, messages: user('hi'), stream: false });
    const body = await jsonOf(response);

    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(body.message.content).toBe('The change updates the parser and adds tests for the new cases.');
    expect(body.done).toBe(true);
  });

  it('root path returns Ollama is running', async () => {
    const fake = await startFake();

    const response = await rawFetch(fake, '/');

    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await response.text()).toBe('Ollama is running');
  });

  it('HEAD /api/tags answers without a body', async () => {
    const fake = await startFake();

    const response = await rawFetch(fake, '/api/tags', { method: 'HEAD' });

    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('unknown path is a plain-text 404', async () => {
    const fake = await startFake();

    const response = await rawFetch(fake, '/api/nothing');

    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await response.text()).toBe('404 page not found');
  });

  it('wrong method is a plain-text 405', async () => {
    const fake = await startFake();

    const response = await rawFetch(fake, '/api/chat');

    expect(response.status).toBe(405);
    expect(await response.text()).toBe('405 method not allowed');
  });

  it('request log records what the client sent', async () => {
    const fake = await startFake();

    await clientFor(fake).chat({ model: CODER, messages: user('hi'), options: { num_ctx: 8192, num_predict: 50 }, keep_alive: '30m' });
    const [entry] = fake.requests;

    expect(entry?.method).toBe('POST');
    expect(entry?.path).toBe('/api/chat');
    expect(entry?.headers['user-agent']).toMatch(/^ollama-js\/0\.6\.4 /);
    expect(entry?.body).toMatchObject({ stream: false, keep_alive: '30m', options: { num_ctx: 8192, num_predict: 50 } });
    expect(entry?.status).toBe(200);
    expect(entry?.clientClosedEarly).toBe(false);
    expect(entry?.receivedAt).toBeLessThanOrEqual(entry?.finishedAt ?? 0);
  });

  it('request log lists options the server ignores', async () => {
    const fake = await startFake();

    await clientFor(fake).chat({ model: CODER, messages: user('hi'), options: { num_ctx: 8192, mirostat: 1 } });

    expect(fake.requests[0]?.unknownOptions).toEqual(['mirostat']);
  });
});

describe('model endpoints', () => {
  it('list returns models newest first', async () => {
    const fake = await startFake({
      models: [
        { name: 'old', modifiedAt: '2025-01-01T00:00:00Z' },
        { name: 'new:2b', modifiedAt: '2026-01-01T00:00:00Z' },
      ],
    });

    const { models } = await clientFor(fake).list();

    expect(models.map((model) => model.name)).toEqual(['new:2b', 'old:latest']);
    expect(models[0]?.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(models[0]?.details.format).toBe('gguf');
  });

  it('list keeps a given digest without its sha256 prefix', async () => {
    const digest = 'a'.repeat(64);
    const fake = await startFake({ models: [{ name: 'm', digest: `sha256:${digest}` }] });

    const { models } = await clientFor(fake).list();

    expect(models[0]?.digest).toBe(digest);
  });

  it('show reports context length under the architecture', async () => {
    const fake = await startFake();

    const info = await clientFor(fake).show({ model: CODER });
    const modelInfo = info.model_info as unknown as Record<string, unknown>;

    expect(modelInfo['general.architecture']).toBe('qwen2');
    expect(modelInfo['qwen2.context_length']).toBe(32_768);
    expect(info.capabilities).toEqual(['completion', 'tools', 'insert']);
    expect(info.details.family).toBe('qwen2');
    expect(typeof info.modified_at).toBe('string');
  });

  it('show formats parameters as padded Modelfile lines', async () => {
    const fake = await startFake({ models: [{ name: 'm', parameters: { num_ctx: 8192, stop: ['<|a|>', '<|b|>'] } }] });

    const info = await clientFor(fake).show({ model: 'm' });

    expect(info.parameters).toBe(`${'num_ctx'.padEnd(30)} 8192\n${'stop'.padEnd(30)} "<|a|>"\n${'stop'.padEnd(30)} "<|b|>"`);
  });

  it('show empties long arrays unless verbose', async () => {
    const fake = await startFake();
    const client = clientFor(fake);

    const short = (await client.show({ model: CODER })).model_info as unknown as Record<string, unknown>;
    const verbose = (await jsonOf(await postJson(fake, '/api/show', { model: CODER, verbose: true }))).model_info;

    expect(short['tokenizer.ggml.tokens']).toEqual([]);
    expect(verbose['tokenizer.ggml.tokens']).toHaveLength(8);
  });

  it('show leaves out context length when the model has none', async () => {
    const fake = await startFake({ models: [{ name: 'm', family: 'gemma3', contextLength: null }] });

    const info = await clientFor(fake).show({ model: 'm' });

    expect(Object.keys(info.model_info).some((key) => key.endsWith('.context_length'))).toBe(false);
  });

  it('show before 0.6.4 has no capabilities', async () => {
    const fake = await startFake({ version: '0.6.3' });

    const info = await clientFor(fake).show({ model: CODER });

    expect('capabilities' in info).toBe(false);
  });

  it('show of an unknown model is 404 with the normalised name', async () => {
    const fake = await startFake();

    const error = await rejectionOf(clientFor(fake).show({ model: 'nope' }));

    expect(error.name).toBe('ResponseError');
    expect(error.status_code).toBe(404);
    expect(error.message).toBe("model 'nope:latest' not found");
  });

  it('show without a model is 400', async () => {
    const fake = await startFake();

    const error = await rejectionOf(clientFor(fake).show({ model: '' }));

    expect(error.status_code).toBe(400);
    expect(error.message).toBe('model is required');
  });

  it('version returns the configured version', async () => {
    const fake = await startFake({ version: '0.5.7' });

    expect(await clientFor(fake).version()).toEqual({ version: '0.5.7' });
  });

  it('ps lists a model after a chat with its context length', async () => {
    const fake = await startFake();
    const client = clientFor(fake);

    await client.chat({ model: CODER, messages: user('hi'), options: { num_ctx: 8192 } });
    const { models } = await client.ps();

    expect(models.map((model) => model.name)).toEqual([CODER]);
    expect((models[0] as unknown as { context_length: number }).context_length).toBe(8192);
    expect(Date.parse(String(models[0]?.expires_at))).toBeGreaterThan(Date.now());
  });

  it('ps omits a model after keep_alive 0', async () => {
    const fake = await startFake();
    const client = clientFor(fake);

    await client.chat({ model: CODER, messages: user('hi'), keep_alive: 0 });

    expect((await client.ps()).models).toEqual([]);
  });

  it('ps shows a far expiry for negative keep_alive', async () => {
    const fake = await startFake();
    const client = clientFor(fake);

    await client.chat({ model: CODER, messages: user('hi'), keep_alive: -1 });
    const [model] = (await client.ps()).models;

    expect(new Date(String(model?.expires_at)).getUTCFullYear()).toBeGreaterThan(2300);
  });

  it('pull streams progress and installs the model', async () => {
    const fake = await startFake({ registry: [{ name: 'gemma3:1b' }] });
    const client = clientFor(fake);

    const { parts, error } = await collect(await client.pull({ model: 'gemma3:1b', stream: true }));
    const names = (await client.list()).models.map((model) => model.name);

    expect(error).toBeUndefined();
    expect(parts[0]?.status).toBe('pulling manifest');
    expect(parts.some((part) => part.completed === part.total && part.total > 0)).toBe(true);
    expect(parts.at(-1)?.status).toBe('success');
    expect(names).toContain('gemma3:1b');
  });

  it('pull without streaming returns success', async () => {
    const fake = await startFake({ registry: [{ name: 'gemma3:1b' }] });

    expect(await clientFor(fake).pull({ model: 'gemma3:1b' })).toEqual({ status: 'success' });
  });

  it('pull of an unknown model ends the stream with an error', async () => {
    const fake = await startFake();

    const { parts, error } = await collect(await clientFor(fake).pull({ model: 'nope', stream: true }));

    expect(parts.map((part) => part.status)).toEqual(['pulling manifest']);
    expect(error.message).toBe('pull model manifest: file does not exist');
  });

  it('pull of an unknown model without streaming is 500', async () => {
    const fake = await startFake();

    const error = await rejectionOf(clientFor(fake).pull({ model: 'nope' }));

    expect(error.status_code).toBe(500);
    expect(error.message).toBe('pull model manifest: file does not exist');
  });
});

describe('request validation', () => {
  it('empty body is missing request body', async () => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', '');

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await jsonOf(response)).toEqual({ error: 'missing request body' });
  });

  it.each([
    ['xyz', "invalid character 'x' looking for beginning of value"],
    ['{"model": "m",', 'unexpected EOF'],
    ['{"model" "m"}', "invalid character '\"' after object key"],
    ['{"model": "m",}', "invalid character '}' looking for beginning of object key string"],
    ['[1 2]', "invalid character '2' after array element"],
    ['{"a": tru}', "invalid character '}' in literal true (expecting 'e')"],
  ])('invalid JSON %s gives the Go decoder message', async (body, message) => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', body);

    expect(response.status).toBe(400);
    expect((await jsonOf(response)).error).toBe(message);
  });

  it('wrongly typed field gives an unmarshal error', async () => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', { model: CODER, messages: 'hi' });

    expect(response.status).toBe(400);
    expect((await jsonOf(response)).error).toBe(
      'json: cannot unmarshal string into Go struct field ChatRequest.messages of type []api.Message',
    );
  });

  it('chat without a model is 400', async () => {
    const fake = await startFake();

    const error = await rejectionOf(clientFor(fake).chat({ model: '', messages: user('hi') }));

    expect(error.status_code).toBe(400);
    expect(error.message).toBe('model is required');
  });

  it('chat with an unknown model is 404 with the name as sent', async () => {
    const fake = await startFake();

    const error = await rejectionOf(clientFor(fake).chat({ model: 'nope', messages: user('hi') }));

    expect(error.name).toBe('ResponseError');
    expect(error.status_code).toBe(404);
    expect(error.message).toBe("model 'nope' not found");
  });

  it('chat matches a name without tag to latest', async () => {
    const fake = await startFake({ models: [{ name: 'llama3.2:latest' }] });

    const reply = await clientFor(fake).chat({ model: 'llama3.2', messages: user('hi') });

    expect(reply.model).toBe('llama3.2');
  });

  it('think on a model without thinking is 400', async () => {
    const fake = await startFake();

    const error = await rejectionOf(clientFor(fake).chat({ model: CODER, messages: user('hi'), think: true }));

    expect(error.status_code).toBe(400);
    expect(error.message).toBe(`"${CODER}" does not support thinking`);
  });

  it('invalid think level is 400', async () => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', { model: THINKER, messages: user('hi'), think: 'extreme' });

    expect(response.status).toBe(400);
    expect((await jsonOf(response)).error).toBe(
      'invalid think value: "extreme" (must be "high", "medium", "low", "max", true, or false)',
    );
  });

  it('top_logprobs out of range is 400', async () => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', { model: CODER, messages: user('hi'), top_logprobs: 21 });

    expect(response.status).toBe(400);
    expect((await jsonOf(response)).error).toBe('top_logprobs must be between 0 and 20');
  });

  it.each([
    ['soon', 'time: invalid duration "soon"'],
    ['5', 'time: missing unit in duration "5"'],
    ['5y', 'time: unknown unit "y" in duration "5y"'],
  ])('keep_alive %s is 400', async (keepAlive, message) => {
    const fake = await startFake();

    const error = await rejectionOf(clientFor(fake).chat({ model: CODER, messages: user('hi'), keep_alive: keepAlive }));

    expect(error.status_code).toBe(400);
    expect(error.message).toBe(message);
  });

  it('string num_ctx is a 500 from the scheduler', async () => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', { model: CODER, messages: user('hi'), options: { num_ctx: '8192' } });

    expect(response.status).toBe(500);
    expect((await jsonOf(response)).error).toBe('option "num_ctx" must be of type integer');
  });

  it('format other than json or a schema is 500', async () => {
    const fake = await startFake();

    const error = await rejectionOf(clientFor(fake).chat({ model: CODER, messages: user('hi'), format: '{"type":"object"}' }));

    expect(error.status_code).toBe(500);
    expect(error.message).toBe(
      'invalid format: "\\"{\\\\\\"type\\\\\\":\\\\\\"object\\\\\\"}\\""; expected "json" or a valid JSON Schema object',
    );
  });

  it('schema format before 0.5.0 fails to decode', async () => {
    const fake = await startFake({ version: '0.4.7' });

    const error = await rejectionOf(clientFor(fake).chat({ model: CODER, messages: user('hi'), format: { type: 'object' } }));

    expect(error.status_code).toBe(400);
    expect(error.message).toBe('json: cannot unmarshal object into Go struct field ChatRequest.format of type string');
  });

  it('schema with pattern is 500 when patterns are rejected', async () => {
    const fake = await startFake({ rejectSchemaPatterns: true });
    const format = { type: 'object', properties: { sha: { type: 'string', pattern: '^[0-9a-f]+$' } } };

    const error = await rejectionOf(clientFor(fake).chat({ model: CODER, messages: user('hi'), format }));

    expect(error.status_code).toBe(500);
    expect(error.message).toBe('invalid JSON schema in format');
  });

  it('raw generate with system is 400', async () => {
    const fake = await startFake();

    const error = await rejectionOf(clientFor(fake).generate({ model: CODER, prompt: 'hi', raw: true, system: 's' }));

    expect(error.status_code).toBe(400);
    expect(error.message).toBe('raw mode does not support template, system, or context');
  });

  it('chat with an embedding model is 400', async () => {
    const fake = await startFake({ models: [{ name: 'embed', capabilities: ['embedding'] }] });

    const error = await rejectionOf(clientFor(fake).chat({ model: 'embed', messages: user('hi') }));

    expect(error.status_code).toBe(400);
    expect(error.message).toBe('"embed" does not support chat');
  });
});

describe('generation', () => {
  it('schema format gets an object with every property', async () => {
    const fake = await startFake();
    const format = {
      type: 'object',
      properties: {
        title: { type: 'string' },
        risk: { type: 'string', enum: ['low', 'high'] },
        files: { type: 'array', items: { type: 'string' } },
      },
      required: ['title', 'risk', 'files'],
    };

    const reply = await clientFor(fake).chat({ model: CODER, messages: user('hi'), format });

    expect(JSON.parse(reply.message.content)).toEqual({ title: 'example title', risk: 'low', files: ['example files'] });
  });

  it('json format gets a small object', async () => {
    const fake = await startFake();

    const reply = await clientFor(fake).chat({ model: CODER, messages: user('hi'), format: 'json' });

    expect(JSON.parse(reply.message.content)).toEqual({ summary: 'Fake answer from the test server.' });
  });

  it('answer function sees the prompt and sets the content', async () => {
    const fake = await startFake({ answer: ({ prompt, endpoint }) => ({ echo: prompt, endpoint }) });

    const reply = await clientFor(fake).chat({ model: CODER, messages: [{ role: 'system', content: 's' }, ...user('diff')] });

    expect(JSON.parse(reply.message.content)).toEqual({ echo: 's\ndiff', endpoint: 'chat' });
  });

  it('thinking model thinks when think is absent', async () => {
    const fake = await startFake();

    const { parts } = await collect(await clientFor(fake).chat({ model: THINKER, messages: user('hi'), stream: true }));
    const firstContent = parts.findIndex((part) => part.message.content !== '');
    const lastThinking = parts.findLastIndex((part) => part.message.thinking !== undefined);

    expect(lastThinking).toBeGreaterThanOrEqual(0);
    expect(lastThinking).toBeLessThan(firstContent);
  });

  it('thinking model does not think with think false', async () => {
    const fake = await startFake();

    const reply = await clientFor(fake).chat({ model: THINKER, messages: user('hi'), think: false });

    expect(reply.message.thinking).toBeUndefined();
  });

  it('thinking is off by default before 0.12.4', async () => {
    const fake = await startFake({ version: '0.12.3' });

    const reply = await clientFor(fake).chat({ model: THINKER, messages: user('hi') });

    expect(reply.message.thinking).toBeUndefined();
  });

  it('non-streaming chat joins the thinking', async () => {
    const fake = await startFake({ thinking: 'Short thought.' });

    const reply = await clientFor(fake).chat({ model: THINKER, messages: user('hi'), think: 'high' });

    expect(reply.message.thinking).toBe('Short thought.');
  });

  it('legacy thinking puts think tags into content', async () => {
    const fake = await startFake({ legacyThinking: true, thinking: 'hmm', answer: '{}' });

    const reply = await clientFor(fake).chat({ model: THINKER, messages: user('hi') });

    expect(reply.message.content).toBe('<think>\nhmm\n</think>\n\n{}');
  });

  it('num_predict cuts the answer with done_reason length', async () => {
    const fake = await startFake();

    const reply = await clientFor(fake).chat({ model: CODER, messages: user('hi'), options: { num_predict: 3 } });

    expect(reply.done_reason).toBe('length');
    expect(reply.eval_count).toBe(3);
    expect(reply.message.content).toBe('The change');
  });

  it('shift false stops when the context is full', async () => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', {
      model: CODER,
      messages: user('x'.repeat(60)),
      options: { num_ctx: 20 },
      shift: false,
      stream: false,
    });
    const reply = await jsonOf(response);

    expect(reply.done_reason).toBe('length');
    expect(reply.prompt_eval_count + reply.eval_count).toBe(20);
  });

  it('generate adds a context array unless raw', async () => {
    const fake = await startFake();
    const client = clientFor(fake);

    const normal = await client.generate({ model: CODER, prompt: 'hi' });
    const raw = await client.generate({ model: CODER, prompt: 'hi', raw: true });

    expect(normal.context).toHaveLength(normal.prompt_eval_count + normal.eval_count);
    expect(raw.context).toBeUndefined();
  });

  it('generate streams response pieces', async () => {
    const fake = await startFake({ answer: 'Hello there, reader.' });

    const { parts } = await collect(await clientFor(fake).generate({ model: CODER, prompt: 'hi', stream: true }));

    expect(parts.map((part) => part.response).join('')).toBe('Hello there, reader.');
    expect(parts.length).toBeGreaterThan(3);
  });

  it.each([
    [{ options: { num_ctx: 8192 } }, [], 8192],
    [{}, [{ name: 'm', parameters: { num_ctx: 2048 } }], 2048],
    [{}, [{ name: 'm' }], 4096],
    [{ options: { num_ctx: 100_000 } }, [{ name: 'm', contextLength: 16_384 }], 16_384],
  ])('num_ctx precedence %j with models %j gives %i', async (extra, models, expected) => {
    const fake = await startFake(models.length > 0 ? { models } : {});
    const model = models.length > 0 ? 'm' : CODER;

    await clientFor(fake).chat({ model, messages: user('hi'), ...extra });

    expect(fake.requests[0]?.numCtx).toBe(expected);
  });

  it('num_ctx change reloads the model', async () => {
    const fake = await startFake();
    const client = clientFor(fake);

    for (const numCtx of [8192, 8192, 16_384]) {
      await client.chat({ model: CODER, messages: user('hi'), options: { num_ctx: numCtx } });
    }

    expect(fake.requests.map((entry) => entry.modelLoaded)).toEqual([true, false, true]);
  });

  it('empty messages load the model with one JSON object', async () => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', { model: CODER, messages: [], stream: true });
    const body = await jsonOf(response);

    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(body.done_reason).toBe('load');
    expect((await clientFor(fake).ps()).models.map((model) => model.name)).toEqual([CODER]);
  });

  it('empty messages with keep_alive 0 unload the model', async () => {
    const fake = await startFake();
    const client = clientFor(fake);
    await client.chat({ model: CODER, messages: user('hi') });

    const reply = await client.chat({ model: CODER, messages: [], keep_alive: 0 });

    expect(reply.done_reason).toBe('unload');
    expect((await client.ps()).models).toEqual([]);
  });

  it('over-long prompt is truncated silently', async () => {
    const fake = await startFake();

    const reply = await clientFor(fake).chat({ model: CODER, messages: user('x'.repeat(40_000)), options: { num_ctx: 2048 } });

    expect(reply.done_reason).toBe('stop');
    expect(reply.prompt_eval_count).toBe(1026);
    expect(fake.requests[0]?.promptTruncated).toBe(true);
  });

  it('over-long prompt with truncate false is 400', async () => {
    const fake = await startFake();

    const response = await postJson(fake, '/api/chat', {
      model: CODER,
      messages: user('x'.repeat(40_000)),
      options: { num_ctx: 2048 },
      truncate: false,
    });

    expect(response.status).toBe(400);
    expect((await jsonOf(response)).error).toBe(CONTEXT_ERROR);
  });

  it('over-long prompt in strict mode is 400', async () => {
    const fake = await startFake({ strictContext: true });

    const error = await rejectionOf(clientFor(fake).chat({ model: CODER, messages: user('x'.repeat(40_000)) }));

    expect(error.status_code).toBe(400);
    expect(error.message).toBe(CONTEXT_ERROR);
  });

  it('truncate false is ignored before 0.12.6', async () => {
    const fake = await startFake({ version: '0.12.5' });

    const response = await postJson(fake, '/api/chat', {
      model: CODER,
      messages: user('x'.repeat(40_000)),
      stream: false,
      truncate: false,
    });

    expect(response.status).toBe(200);
    expect(fake.requests[0]?.promptTruncated).toBe(true);
  });

  it('done_reason is absent before 0.1.35', async () => {
    const fake = await startFake({ version: '0.1.34' });

    const reply = await clientFor(fake).chat({ model: CODER, messages: user('hi') });

    expect('done_reason' in reply).toBe(false);
  });

  it('content joins back to the answer with multi-byte text', async () => {
    const answer = 'Изменение 😀 добавляет тесты — «ok».';
    const fake = await startFake({ answer });

    const { parts } = await collect(await clientFor(fake).chat({ model: CODER, messages: user('hi'), stream: true }));

    expect(contentOf(parts)).toBe(answer);
  });
});

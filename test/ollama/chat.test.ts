import { afterEach, describe, expect, it, vi } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { type ChatProgress, streamChat } from '../../src/ollama/chat.js';
import { OllamaClient } from '../../src/ollama/client.js';
import { resolveOllamaHost } from '../../src/ollama/host.js';
import { startFake } from '../fake-ollama/helpers.js';
import type { FakeOllama, FakeOllamaOptions } from '../fake-ollama/server.mjs';

const MODEL = 'qwen2.5-coder:7b';
const THINKING_MODEL = 'qwen3:8b';
const ANSWER = 'The change renames the parser and adds tests for the new cases.';
const MESSAGES = [{ role: 'user', content: 'Describe the commit.' }];

afterEach(() => {
  vi.restoreAllMocks();
});

async function setup(options: FakeOllamaOptions = {}): Promise<{ fake: FakeOllama; client: OllamaClient }> {
  const fake = await startFake({ answer: ANSWER, ...options });
  const client = new OllamaClient({ env: { OLLAMA_HOST: fake.url } });
  return { fake, client };
}

describe('streamChat results', () => {
  it('collects streamed content', async () => {
    const { client } = await setup();

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES });

    expect(result.content).toBe(ANSWER);
    expect(result.thinking).toBe('');
  });

  it('returns the final metrics', async () => {
    const { client, fake } = await setup();

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES });

    const request = fake.requests.at(-1)!;
    expect(result.doneReason).toBe('stop');
    expect(result.promptEvalCount).toBe(request.promptEvalCount);
    expect(result.evalCount).toBe(result.chunks - 1);
    expect(result.totalDurationNs).toBeGreaterThan(0);
    expect(result.model).toBe(MODEL);
  });

  it('sends a streaming request with the caller fields', async () => {
    const { client, fake } = await setup();

    await streamChat(client, { model: MODEL, messages: MESSAGES, options: { num_ctx: 8192 }, keep_alive: '30m' });

    const body = fake.requests.at(-1)!.body;
    expect(body.stream).toBe(true);
    expect(body.options).toEqual({ num_ctx: 8192 });
    expect(body.keep_alive).toBe('30m');
    expect(body.messages).toEqual(MESSAGES);
  });

  it('does not change the caller request', async () => {
    const { client } = await setup();
    const request = { model: MODEL, messages: MESSAGES };

    await streamChat(client, request);

    expect(request).not.toHaveProperty('stream');
  });

  it('collects thinking apart from content', async () => {
    const { client } = await setup({ thinking: 'First I read the diff.' });

    const result = await streamChat(client, { model: THINKING_MODEL, messages: MESSAGES });

    expect(result.thinking).toBe('First I read the diff.');
    expect(result.content).toBe(ANSWER);
  });

  it('keeps text of the final line', async () => {
    const { client, fake } = await setup();
    fake.enqueue({ fault: 'final_line_has_text' });

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES });

    expect(result.content).toBe(ANSWER);
  });

  it('missing metrics stay undefined', async () => {
    const { client, fake } = await setup();
    fake.enqueue({ fault: { kind: 'omit_metrics', fields: ['prompt_eval_count', 'done_reason'] } });

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES });

    expect(result.promptEvalCount).toBeUndefined();
    expect(result.doneReason).toBeUndefined();
    expect(result.evalCount).toBeGreaterThan(0);
  });

  it('reassembles lines split inside characters', async () => {
    const answer = 'Обновляет разбор: ß, 漢字 and 🎉 survive.';
    const { client, fake } = await setup({ answer });
    fake.enqueue({ fault: 'split_chunks' });

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES });

    expect(fake.requests.at(-1)!.faults).toContain('split_chunks');
    expect(result.content).toBe(answer);
  });

  it('reports length as done reason', async () => {
    const { client } = await setup();

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES, options: { num_predict: 3 } });

    expect(result.doneReason).toBe('length');
    expect(result.evalCount).toBe(3);
  });
});

describe('streamChat progress', () => {
  it('phases come in order', async () => {
    const { client } = await setup();
    const phases: string[] = [];

    await streamChat(client, { model: MODEL, messages: MESSAGES }, { onProgress: (progress) => phases.push(progress.phase) });

    const distinct = phases.filter((phase, index) => phase !== phases[index - 1]);
    expect(distinct).toEqual(['waiting', 'loading/prompt', 'generating']);
  });

  it('token counts increase', async () => {
    const { client } = await setup({ timing: { tokenDelayMs: 2 } });
    const seen: ChatProgress[] = [];

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES }, { onProgress: (progress) => seen.push(progress) });

    const generating = seen.filter((progress) => progress.phase === 'generating');
    const counts = generating.map((progress) => progress.tokens);
    expect(counts.length).toBeGreaterThan(5);
    for (let index = 1; index < counts.length; index += 1) {
      expect(counts[index]).toBeGreaterThanOrEqual(counts[index - 1]!);
    }
    expect(counts.at(-1)).toBe(result.evalCount);
    expect(counts.at(-1)).toBeGreaterThan(counts[0]!);
  });

  it('rate appears after the second token', async () => {
    const { client } = await setup({ timing: { tokenDelayMs: 2 } });
    const seen: ChatProgress[] = [];

    await streamChat(client, { model: MODEL, messages: MESSAGES }, { onProgress: (progress) => seen.push(progress) });

    expect(seen.find((progress) => progress.tokens === 1)?.tokensPerSecond).toBeUndefined();
    const last = seen.at(-1)!;
    expect(last.tokensPerSecond).toBeGreaterThan(0);
    expect(Number.isFinite(last.tokensPerSecond)).toBe(true);
  });

  it('waiting reports no tokens', async () => {
    const { client } = await setup();
    const seen: ChatProgress[] = [];

    await streamChat(client, { model: MODEL, messages: MESSAGES }, { onProgress: (progress) => seen.push(progress) });

    expect(seen[0]).toMatchObject({ phase: 'waiting', tokens: 0, thinkingTokens: 0, tokensPerSecond: undefined });
  });

  it('thinking tokens are counted apart', async () => {
    const { client } = await setup({ thinking: 'First I read the diff.' });
    const seen: ChatProgress[] = [];

    await streamChat(client, { model: THINKING_MODEL, messages: MESSAGES }, { onProgress: (progress) => seen.push(progress) });

    const last = seen.at(-1)!;
    expect(last.thinkingTokens).toBeGreaterThan(0);
    expect(last.tokens).toBeGreaterThan(last.thinkingTokens);
  });

  it('callback error aborts and is rethrown', async () => {
    const { client, fake } = await setup({ timing: { tokenDelayMs: 20 } });
    const failure = new Error('progress sink failed');

    const promise = streamChat(
      client,
      { model: MODEL, messages: MESSAGES },
      {
        onProgress: (progress) => {
          if (progress.tokens === 2) {
            throw failure;
          }
        },
      },
    );

    await expect(promise).rejects.toBe(failure);
    const request = await fake.waitForRequest((entry) => entry.finishedAt !== undefined);
    expect(request.clientClosedEarly).toBe(true);
  });
});

describe('streamChat progress interval', () => {
  // Far longer than the stream, so only phase changes and the final chunk are reported.
  const LONG_INTERVAL_MS = 60_000;

  async function collectProgress(options: FakeOllamaOptions, progressIntervalMs: number, model = MODEL) {
    const { client, fake } = await setup(options);
    const seen: ChatProgress[] = [];
    const result = await streamChat(client, { model, messages: MESSAGES }, { onProgress: (progress) => seen.push(progress), progressIntervalMs });
    return { fake, result, seen, generating: seen.filter((progress) => progress.phase === 'generating') };
  }

  it('long interval reports first and final chunk', async () => {
    const { result, generating } = await collectProgress({}, LONG_INTERVAL_MS);

    expect(result.chunks).toBeGreaterThan(2);
    expect(generating).toHaveLength(2);
  });

  it('long interval keeps every phase change', async () => {
    const { seen } = await collectProgress({}, LONG_INTERVAL_MS);

    expect(seen.map((progress) => progress.phase)).toEqual(['waiting', 'loading/prompt', 'generating', 'generating']);
  });

  it('last progress has the final token count', async () => {
    const { result, seen } = await collectProgress({}, LONG_INTERVAL_MS);

    expect(seen.at(-1)?.tokens).toBe(result.evalCount);
  });

  it('last progress has the final thinking count', async () => {
    const { seen: every } = await collectProgress({ thinking: 'First I read the diff.' }, 0, THINKING_MODEL);
    const { seen: throttled } = await collectProgress({ thinking: 'First I read the diff.' }, LONG_INTERVAL_MS, THINKING_MODEL);

    expect(throttled.at(-1)?.thinkingTokens).toBeGreaterThan(0);
    expect(throttled.at(-1)?.thinkingTokens).toBe(every.at(-1)?.thinkingTokens);
    expect(throttled.at(-1)?.tokens).toBe(every.at(-1)?.tokens);
  });

  it('zero interval reports every chunk', async () => {
    const { result, generating } = await collectProgress({}, 0);

    expect(generating).toHaveLength(result.chunks);
  });

  it('elapsed interval lets a chunk through', async () => {
    // 20 tokens 20 ms apart: the stream outlasts the 5 ms interval many times over.
    const { generating } = await collectProgress({ answer: 'word '.repeat(20).trim(), timing: { tokenDelayMs: 20 } }, 5);

    expect(generating.length).toBeGreaterThan(2);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects interval %s', async (value) => {
    const { client, fake } = await setup();

    const error = await streamChat(client, { model: MODEL, messages: MESSAGES }, { progressIntervalMs: value }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(fake.requests.filter((request) => request.path === '/api/chat')).toHaveLength(0);
  });
});

describe('streamChat requests', () => {
  it('credentials from OLLAMA_HOST become a header', async () => {
    const fake = await startFake({ answer: ANSWER });
    const host = resolveOllamaHost({ OLLAMA_HOST: fake.url.replace('http://', 'http://alice:s3cret@') });
    const client = new OllamaClient({ host });

    await streamChat(client, { model: MODEL, messages: MESSAGES });

    const headers = fake.requests.at(-1)!.headers;
    expect(headers.authorization).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
  });

  it('path prefix is part of every request', async () => {
    const fake = await startFake({ answer: ANSWER });
    const client = new OllamaClient({ env: { OLLAMA_HOST: `${fake.url}/proxy/` } });

    await streamChat(client, { model: MODEL, messages: MESSAGES }).catch(() => undefined);

    expect(fake.requests.at(-1)!.path).toBe('/proxy/api/chat');
  });

  it('text error body prints nothing', async () => {
    const { client, fake } = await setup();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    fake.enqueue({ fault: { kind: 'http_error_text', status: 500, body: 'runner exploded' } });

    const error = await streamChat(client, { model: MODEL, messages: MESSAGES }).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'OllamaServerError', ollamaMessage: 'runner exploded' });
    expect(log).not.toHaveBeenCalled();
  });

  it('empty text error body uses the status text', async () => {
    const { client, fake } = await setup();
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    fake.enqueue({ fault: { kind: 'http_error_text', status: 502, body: '' } });

    const error = await streamChat(client, { model: MODEL, messages: MESSAGES }).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'OllamaServerError', status: 502, ollamaMessage: 'Error 502: Bad Gateway' });
  });
});

import { getEventListeners } from 'node:events';

import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { type ChatProgress, streamChat, type StreamChatOptions } from '../../src/ollama/chat.js';
import { DEFAULT_OLLAMA_TIMEOUTS, defaultDispatcher, OllamaClient, type OllamaClientOptions, readTimeoutsFromEnv, resolveTimeouts } from '../../src/ollama/client.js';
import { StreamError, WatchdogTimeoutError } from '../../src/ollama/errors.js';
import { startFake } from '../fake-ollama/helpers.js';
import type { FakeOllama, FakeOllamaOptions, RecordedRequest } from '../fake-ollama/server.mjs';

const MODEL = 'qwen2.5-coder:7b';
const MESSAGES = [{ role: 'user', content: 'Describe the commit.' }];
// Long enough for a loaded 2-core machine to finish a normal request, short enough for the suite.
const GENEROUS_MS = 10_000;

const agents: Agent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
});

async function setup(
  fakeOptions: FakeOllamaOptions = {},
  clientOptions: OllamaClientOptions = {},
): Promise<{ fake: FakeOllama; client: OllamaClient }> {
  const fake = await startFake(fakeOptions);
  const client = new OllamaClient({ env: { OLLAMA_HOST: fake.url }, ...clientOptions });
  return { fake, client };
}

function chat(client: OllamaClient, options: StreamChatOptions = {}): Promise<unknown> {
  return streamChat(client, { model: MODEL, messages: MESSAGES }, options).catch((error: unknown) => error);
}

/** Waits until the fake logged the end of the chat request's connection. */
function finishedChat(fake: FakeOllama): Promise<RecordedRequest> {
  return fake.waitForRequest((request) => request.path === '/api/chat' && request.finishedAt !== undefined);
}

/** Creates an Agent with Node's fetch limits scaled down, to compare with the disabled ones. */
function nodeStyleAgent(limitMs: number): Agent {
  const agent = new Agent({ headersTimeout: limitMs, bodyTimeout: limitMs });
  agents.push(agent);
  return agent;
}

function optionsOf(agent: Agent): Record<string, unknown> {
  const key = Object.getOwnPropertySymbols(agent).find((symbol) => symbol.description === 'options');
  return (agent as unknown as Record<symbol, Record<string, unknown>>)[key as symbol] as Record<string, unknown>;
}

describe('watchdogs', () => {
  it('slow first token trips firstToken', async () => {
    const { client, fake } = await setup({}, { timeouts: { firstTokenTimeoutMs: 200 } });
    fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 3000 } });

    const error = await chat(client);

    expect(error).toBeInstanceOf(WatchdogTimeoutError);
    expect(error).toMatchObject({ watchdog: 'firstToken', limitMs: 200, code: 'OLLAMA_TIMEOUT' });
  });

  it('firstToken abort closes the connection', async () => {
    const { client, fake } = await setup({}, { timeouts: { firstTokenTimeoutMs: 200 } });
    fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 3000 } });

    await chat(client);

    const request = await finishedChat(fake);
    expect(request.clientClosedEarly).toBe(true);
    expect(request.respondedAt).toBeUndefined();
  });

  it('slow model load trips firstToken', async () => {
    const { client } = await setup({ timing: { loadDelayMs: 3000 } }, { timeouts: { firstTokenTimeoutMs: 200 } });

    const error = await chat(client);

    expect(error).toMatchObject({ name: 'WatchdogTimeoutError', watchdog: 'firstToken' });
  });

  it('stall between chunks trips idle', async () => {
    const { client, fake } = await setup({}, { timeouts: { idleTimeoutMs: 200 } });
    fake.enqueue({ fault: { kind: 'stall', afterLines: 2, stallMs: 3000 } });

    const error = await chat(client);

    expect(error).toBeInstanceOf(WatchdogTimeoutError);
    expect(error).toMatchObject({ watchdog: 'idle', limitMs: 200 });
    const request = await finishedChat(fake);
    expect(request.clientClosedEarly).toBe(true);
    expect(request.linesWritten).toBe(2);
  });

  it('short stall stays under idle', async () => {
    const { client, fake } = await setup({}, { timeouts: { idleTimeoutMs: GENEROUS_MS } });
    fake.enqueue({ fault: { kind: 'stall', afterLines: 2, stallMs: 300 } });

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES });

    expect(result.doneReason).toBe('stop');
  });

  it('long generation trips total', async () => {
    const { client, fake } = await setup({ timing: { tokenDelayMs: 100 } }, { timeouts: { totalTimeoutMs: 500, idleTimeoutMs: GENEROUS_MS } });
    const phases: string[] = [];

    const error = await chat(client, { onProgress: (progress: ChatProgress) => phases.push(progress.phase) });

    expect(error).toBeInstanceOf(WatchdogTimeoutError);
    expect(error).toMatchObject({ watchdog: 'total', limitMs: 500 });
    expect(phases).toContain('generating');
    expect((await finishedChat(fake)).clientClosedEarly).toBe(true);
  });

  it('undefined per-call limit keeps the client limit', async () => {
    const { client, fake } = await setup({}, { timeouts: { firstTokenTimeoutMs: 150 } });
    fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 3000 } });

    const error = await chat(client, { timeouts: { firstTokenTimeoutMs: undefined } });

    expect(error).toMatchObject({ watchdog: 'firstToken', limitMs: 150 });
  });

  it('per-call limits override the client', async () => {
    const { client, fake } = await setup();
    fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 3000 } });

    const error = await chat(client, { timeouts: { firstTokenTimeoutMs: 150 } });

    expect(error).toMatchObject({ watchdog: 'firstToken', limitMs: 150 });
  });
});

describe('idle watchdog timer', () => {
  it('idle counts from the last chunk', async () => {
    // 30 tokens 50 ms apart last about three times the idle limit, with every gap far under it.
    const { client } = await setup({ answer: 'word '.repeat(30).trim(), timing: { tokenDelayMs: 50 } }, { timeouts: { idleTimeoutMs: 500 } });

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES });

    expect(result.doneReason).toBe('stop');
  });

  it('stall late in the stream trips idle', async () => {
    const { client, fake } = await setup({ timing: { tokenDelayMs: 50 } }, { timeouts: { idleTimeoutMs: 300 } });
    fake.enqueue({ fault: { kind: 'stall', afterLines: 12, stallMs: 5000 } });

    const error = await chat(client);

    expect(error).toMatchObject({ name: 'WatchdogTimeoutError', watchdog: 'idle', limitMs: 300 });
    const request = await finishedChat(fake);
    expect(request.clientClosedEarly).toBe(true);
    expect(request.linesWritten).toBe(12);
  });
});

describe('OllamaClient.api signal', () => {
  it('iterator abort closes the response', async () => {
    const { client, fake } = await setup({ timing: { tokenDelayMs: 50 } });
    const controller = new AbortController();
    const stream = await client.api(controller.signal).chat({ model: MODEL, messages: MESSAGES, stream: true });

    stream.abort();
    const error = await (async () => {
      for await (const part of stream) {
        void part;
      }
    })().catch((caught: unknown) => caught);

    expect(error).toMatchObject({ name: 'AbortError' });
    expect((await finishedChat(fake)).clientClosedEarly).toBe(true);
  });

  it('iterator abort removes the caller listener', async () => {
    const { client } = await setup({ timing: { tokenDelayMs: 50 } });
    const controller = new AbortController();
    const stream = await client.api(controller.signal).chat({ model: MODEL, messages: MESSAGES, stream: true });

    stream.abort();

    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('caller abort rejects a streamed response', async () => {
    const { client, fake } = await setup({ timing: { tokenDelayMs: 50 } });
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    const stream = await client.api(controller.signal).chat({ model: MODEL, messages: MESSAGES, stream: true });

    controller.abort(reason);
    const error = await (async () => {
      for await (const part of stream) {
        void part;
      }
    })().catch((caught: unknown) => caught);

    expect(error).toBe(reason);
    expect((await finishedChat(fake)).clientClosedEarly).toBe(true);
  });

  it('aborted caller signal sends nothing', async () => {
    const { client, fake } = await setup();
    const reason = new Error('already cancelled');

    const error = await client
      .api(AbortSignal.abort(reason))
      .chat({ model: MODEL, messages: MESSAGES, stream: true })
      .catch((caught: unknown) => caught);

    expect(error).toBe(reason);
    expect(fake.requests.filter((request) => request.path === '/api/chat')).toHaveLength(0);
  });
});

describe('undici limits', () => {
  it('default agent disables both limits', () => {
    const options = optionsOf(defaultDispatcher());

    expect(options.headersTimeout).toBe(0);
    expect(options.bodyTimeout).toBe(0);
  });

  it('late first token succeeds with the default agent', async () => {
    const { client, fake } = await setup({ answer: 'Late but fine.' });
    fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 1500 } });

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES });

    expect(result.content).toBe('Late but fine.');
  });

  it('late first token fails under a headers limit', async () => {
    const { client, fake } = await setup({}, { dispatcher: nodeStyleAgent(500) });
    fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 1500 } });

    const error = await chat(client);

    expect(error).toBeInstanceOf(StreamError);
    expect(error).toMatchObject({ failure: 'connection_dropped', detail: 'UND_ERR_HEADERS_TIMEOUT' });
  });

  it('long gap succeeds with the default agent', async () => {
    const { client, fake } = await setup({ answer: 'Slow but fine.' });
    fake.enqueue({ fault: { kind: 'stall', afterLines: 2, stallMs: 1500 } });

    const result = await streamChat(client, { model: MODEL, messages: MESSAGES });

    expect(result.content).toBe('Slow but fine.');
  });

  it('long gap fails under a body limit', async () => {
    const { client, fake } = await setup({}, { dispatcher: nodeStyleAgent(500) });
    fake.enqueue({ fault: { kind: 'stall', afterLines: 2, stallMs: 1500 } });

    const error = await chat(client);

    expect(error).toMatchObject({ name: 'StreamError', failure: 'connection_dropped', detail: 'UND_ERR_BODY_TIMEOUT' });
  });
});

describe('caller abort', () => {
  it('abort while generating rejects with the reason', async () => {
    const { client } = await setup({ timing: { tokenDelayMs: 50 } });
    const controller = new AbortController();
    const reason = new Error('job cancelled');

    const error = await chat(client, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.tokens === 2) {
          controller.abort(reason);
        }
      },
    });

    expect(error).toBe(reason);
  });

  it('abort while generating closes the connection', async () => {
    const { client, fake } = await setup({ timing: { tokenDelayMs: 50 } });
    const controller = new AbortController();

    await chat(client, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.tokens === 2) {
          controller.abort(new Error('job cancelled'));
        }
      },
    });

    const request = await finishedChat(fake);
    expect(request.clientClosedEarly).toBe(true);
    expect(request.linesWritten).toBeLessThan(6);
  });

  it('abort before the first token closes the connection', async () => {
    const { client, fake } = await setup();
    fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 5000 } });
    const controller = new AbortController();
    const reason = new Error('daemon shutting down');

    const error = await chat(client, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (progress.phase === 'loading/prompt') {
          controller.abort(reason);
        }
      },
    });

    expect(error).toBe(reason);
    const request = await finishedChat(fake);
    expect(request.clientClosedEarly).toBe(true);
    expect(request.respondedAt).toBeUndefined();
  });

  it('aborted signal sends nothing', async () => {
    const { client, fake } = await setup();
    const reason = new Error('already cancelled');

    const error = await chat(client, { signal: AbortSignal.abort(reason) });

    expect(error).toBe(reason);
    expect(fake.requests.filter((request) => request.path === '/api/chat')).toHaveLength(0);
  });

  it('finished request leaves the signal without listeners', async () => {
    const { client } = await setup();
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added += 1;
      add(...args);
    }) as typeof add;
    controller.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed += 1;
      remove(...args);
    }) as typeof remove;

    await streamChat(client, { model: MODEL, messages: MESSAGES }, { signal: controller.signal });

    expect(added).toBeGreaterThan(0);
    expect(removed).toBe(added);
  });
});

describe('resolveTimeouts', () => {
  it('defaults fill missing limits', () => {
    expect(resolveTimeouts({ idleTimeoutMs: 5 })).toEqual({ ...DEFAULT_OLLAMA_TIMEOUTS, idleTimeoutMs: 5 });
  });

  it('defaults match the documented values', () => {
    expect(DEFAULT_OLLAMA_TIMEOUTS).toEqual({
      firstTokenTimeoutMs: 900_000,
      idleTimeoutMs: 300_000,
      totalTimeoutMs: 3_600_000,
      requestTimeoutMs: 60_000,
    });
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 31])('rejects %s', (value) => {
    expect(() => resolveTimeouts({ totalTimeoutMs: value })).toThrow(InvalidOptionError);
  });

  it('message names the option', () => {
    expect(() => resolveTimeouts({ firstTokenTimeoutMs: 0 })).toThrow('invalid firstTokenTimeoutMs: expected an integer from 1 to 2147483647 (milliseconds), received 0');
  });
});

describe('readTimeoutsFromEnv', () => {
  it('reads each variable in milliseconds', () => {
    const env = {
      STEPPER_OLLAMA_FIRST_TOKEN_MS: '1800000',
      STEPPER_OLLAMA_IDLE_MS: ' 600000 ',
      STEPPER_OLLAMA_TOTAL_MS: '7200000',
      STEPPER_OLLAMA_REQUEST_MS: '5000',
    };

    expect(readTimeoutsFromEnv(env)).toEqual({ firstTokenTimeoutMs: 1_800_000, idleTimeoutMs: 600_000, totalTimeoutMs: 7_200_000, requestTimeoutMs: 5000 });
  });

  it('skips unset and empty variables', () => {
    expect(readTimeoutsFromEnv({ STEPPER_OLLAMA_IDLE_MS: '' })).toEqual({});
  });

  it.each(['0', '-5', '1.5', '10s', '2147483648'])('rejects %j naming the variable', (value) => {
    expect(() => readTimeoutsFromEnv({ STEPPER_OLLAMA_IDLE_MS: value })).toThrow(
      `invalid STEPPER_OLLAMA_IDLE_MS: expected a whole number of milliseconds from 1 to 2147483647, received ${JSON.stringify(value)}; ` +
        'unset it to use the default 300000, or change it to a value in that range',
    );
  });

  it('names the default of the variable', () => {
    expect(() => readTimeoutsFromEnv({ STEPPER_OLLAMA_TOTAL_MS: '0' })).toThrow(
      'invalid STEPPER_OLLAMA_TOTAL_MS: expected a whole number of milliseconds from 1 to 2147483647, received "0"; ' +
        'unset it to use the default 3600000, or change it to a value in that range',
    );
  });

  it('client takes the environment below explicit limits', () => {
    const env = { STEPPER_OLLAMA_FIRST_TOKEN_MS: '1234', STEPPER_OLLAMA_IDLE_MS: '999' };

    const client = new OllamaClient({ env, timeouts: { idleTimeoutMs: 42, totalTimeoutMs: undefined } });

    expect(client.timeouts).toEqual({ ...DEFAULT_OLLAMA_TIMEOUTS, firstTokenTimeoutMs: 1234, idleTimeoutMs: 42 });
  });
});


import { describe, expect, it } from 'vitest';

import { InvalidOptionError, RetryLaterError, StepperError, UnrecoverableError } from '../../src/errors.js';
import { streamChat } from '../../src/ollama/chat.js';
import { OllamaClient } from '../../src/ollama/client.js';
import {
  classifyOllamaError,
  InvalidRequestError,
  ModelNotFoundError,
  OllamaBusyError,
  OllamaServerError,
  OllamaUnreachableError,
  StreamError,
  toQueueError,
  WatchdogTimeoutError,
} from '../../src/ollama/errors.js';
import { InvalidOllamaHostError, resolveOllamaHost } from '../../src/ollama/host.js';
import { startFake } from '../fake-ollama/helpers.js';
import type { Fault, FakeOllama } from '../fake-ollama/server.mjs';
import { closedPort } from '../helpers/ports.js';

const MODEL = 'qwen2.5-coder:7b';
const MESSAGES = [{ role: 'user', content: 'Describe the commit.' }];
const HOST = resolveOllamaHost({});

async function chatFailure(fake: FakeOllama, fault?: Fault | Fault['kind'], model = MODEL): Promise<unknown> {
  if (fault !== undefined) {
    fake.enqueue({ fault });
  }

  const client = new OllamaClient({ env: { OLLAMA_HOST: fake.url } });
  return streamChat(client, { model, messages: MESSAGES }).then(
    () => {
      throw new Error('expected streamChat to fail');
    },
    (error: unknown) => error,
  );
}

function responseError(message: string, status: number): Error {
  return Object.assign(new Error(message), { name: 'ResponseError', error: message, status_code: status });
}

function fetchFailure(code: string, message = 'fetch failed'): TypeError {
  return new TypeError(message, { cause: Object.assign(new Error(code), { code }) });
}

describe('errors from a live fake', () => {
  it('refused connection is unreachable', async () => {
    const port = await closedPort();
    const client = new OllamaClient({ env: { OLLAMA_HOST: `127.0.0.1:${port}` } });

    const error = await streamChat(client, { model: MODEL, messages: MESSAGES }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(OllamaUnreachableError);
    expect(error).toMatchObject({ reason: 'ECONNREFUSED', code: 'OLLAMA_UNREACHABLE', url: `http://127.0.0.1:${port}` });
    expect((error as Error).message).toContain(`http://127.0.0.1:${port} (OLLAMA_HOST="127.0.0.1:${port}")`);
    expect((error as Error).message).toContain('ollama serve');
  });

  it('unreachable default names the unset variable', async () => {
    const port = await closedPort();
    const client = new OllamaClient({ host: { url: `http://127.0.0.1:${port}`, headers: {}, source: 'default' } });

    const error = await streamChat(client, { model: MODEL, messages: MESSAGES }).catch((caught: unknown) => caught);

    expect((error as Error).message).toContain('OLLAMA_HOST is not set');
  });

  it('refusing fake is unreachable', async () => {
    const fake = await startFake();
    await fake.refuseConnections();

    const error = await chatFailure(fake);

    expect(error).toBeInstanceOf(OllamaUnreachableError);
  });

  it('missing model is not found', async () => {
    const fake = await startFake();

    const error = await chatFailure(fake, undefined, 'llama3.2:1b');

    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error).toMatchObject({ model: 'llama3.2:1b', pullCommand: 'ollama pull llama3.2:1b', code: 'OLLAMA_MODEL_NOT_FOUND' });
    expect((error as Error).message).toContain('run "ollama pull llama3.2:1b"');
  });

  it.each(['current', 'legacy', 'scheduler'] as const)('%s not-found wording is recognised', async (wording) => {
    const fake = await startFake();

    const error = await chatFailure(fake, { kind: 'model_missing', wording });

    expect(error).toBeInstanceOf(ModelNotFoundError);
  });

  it('bad request is invalid', async () => {
    const fake = await startFake();

    const error = await chatFailure(fake, { kind: 'http_error', status: 400, message: 'invalid think value: "huge"' });

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ status: 400, ollamaMessage: 'invalid think value: "huge"', promptTooLong: false });
  });

  it('context error is a prompt too long', async () => {
    const fake = await startFake();

    const error = await chatFailure(fake, 'context_error');

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ status: 400, promptTooLong: true });
  });

  it('unknown path is invalid with a hint', async () => {
    const fake = await startFake();
    const client = new OllamaClient({ env: { OLLAMA_HOST: `${fake.url}/not-ollama` } });

    const error = await streamChat(client, { model: MODEL, messages: MESSAGES }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ status: 404 });
    expect((error as Error).message).toContain('wrong path prefix');
  });

  it('runner crash is a server error', async () => {
    const fake = await startFake();

    const error = await chatFailure(fake, { kind: 'http_error', preset: 'runner_crash' });

    expect(error).toBeInstanceOf(OllamaServerError);
    expect(error).toMatchObject({ status: 500, code: 'OLLAMA_SERVER_ERROR' });
    expect((error as Error).message).toContain('model runner has unexpectedly stopped');
    // Ollama's own message already points to its logs, so the advice is not repeated.
    expect((error as Error).message).not.toContain('its server log has the details');
  });

  it('server error without log advice gets it', () => {
    const error = new OllamaServerError(HOST, 502, 'Error 502: Bad Gateway');

    expect(error.message).toMatch(/failed with HTTP 502: Error 502: Bad Gateway; its server log has the details$/);
  });

  it('full queue is busy', async () => {
    const fake = await startFake();

    const error = await chatFailure(fake, { kind: 'http_error', preset: 'busy' });

    expect(error).toBeInstanceOf(OllamaBusyError);
    expect(error).toMatchObject({ status: 503, code: 'OLLAMA_BUSY' });
  });

  it('error line mid-stream is a stream error', async () => {
    const fake = await startFake();

    const error = await chatFailure(fake, { kind: 'error_midstream', afterLines: 3 });

    expect(error).toBeInstanceOf(StreamError);
    expect(error).toMatchObject({ failure: 'error_line', detail: 'an error was encountered while running the model: unexpected EOF' });
  });

  it('stream without done is a stream error', async () => {
    const fake = await startFake();

    const error = await chatFailure(fake, 'no_done');

    expect(error).toBeInstanceOf(StreamError);
    expect(error).toMatchObject({ failure: 'no_done', code: 'OLLAMA_STREAM_FAILED' });
  });

  it('drop mid-stream is a dropped connection', async () => {
    const fake = await startFake();

    const error = await chatFailure(fake, { kind: 'drop_after', afterLines: 3 });

    expect(error).toBeInstanceOf(StreamError);
    expect(error).toMatchObject({ failure: 'connection_dropped' });
  });

  it('reset before headers is a dropped connection', async () => {
    const fake = await startFake();

    const error = await chatFailure(fake, 'drop_before_headers');

    expect(error).toBeInstanceOf(StreamError);
    expect(error).toMatchObject({ failure: 'connection_dropped' });
  });

  it('malformed line is skipped', async () => {
    const fake = await startFake({ answer: 'All good.' });
    fake.enqueue({ fault: { kind: 'malformed_line', afterLines: 1 } });
    const client = new OllamaClient({ env: { OLLAMA_HOST: fake.url } });
    const warn = console.warn;
    console.warn = () => undefined;

    try {
      const result = await streamChat(client, { model: MODEL, messages: MESSAGES });
      expect(result.content).toBe('All good.');
    } finally {
      console.warn = warn;
    }
  });
});

describe('classifyOllamaError', () => {
  it.each([
    ['ECONNREFUSED', OllamaUnreachableError],
    ['ENOTFOUND', OllamaUnreachableError],
    ['EAI_AGAIN', OllamaUnreachableError],
    ['EHOSTUNREACH', OllamaUnreachableError],
    ['UND_ERR_CONNECT_TIMEOUT', OllamaUnreachableError],
    ['ECONNRESET', StreamError],
    ['UND_ERR_SOCKET', StreamError],
    ['UND_ERR_HEADERS_TIMEOUT', StreamError],
    ['UND_ERR_BODY_TIMEOUT', StreamError],
  ])('fetch failure %s', (code, expected) => {
    expect(classifyOllamaError(fetchFailure(code), { host: HOST })).toBeInstanceOf(expected);
  });

  it('aggregate connect failure finds the code', () => {
    const cause = new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:11434'), { code: 'ECONNREFUSED' })]);
    const error = new TypeError('fetch failed', { cause });

    expect(classifyOllamaError(error, { host: HOST })).toBeInstanceOf(OllamaUnreachableError);
  });

  it.each([
    [400, InvalidRequestError],
    [401, InvalidRequestError],
    [403, InvalidRequestError],
    [405, InvalidRequestError],
    [408, OllamaBusyError],
    [429, OllamaBusyError],
    [500, OllamaServerError],
    [502, OllamaServerError],
    [503, OllamaBusyError],
    [504, OllamaServerError],
  ])('status %i', (status, expected) => {
    expect(classifyOllamaError(responseError('failed', status), { host: HOST })).toBeInstanceOf(expected);
  });

  it('404 about a model is not found', () => {
    const error = classifyOllamaError(responseError("model 'x:latest' not found", 404), { host: HOST });

    expect(error).toMatchObject({ name: 'ModelNotFoundError', model: 'x:latest' });
  });

  it('context model wins over the message', () => {
    const error = classifyOllamaError(responseError("model 'x:latest' not found", 404), { host: HOST, model: 'x' });

    expect(error).toMatchObject({ model: 'x' });
  });

  it('other 404 is invalid', () => {
    expect(classifyOllamaError(responseError('404 page not found', 404), { host: HOST })).toBeInstanceOf(InvalidRequestError);
  });

  it('plain error while streaming is an error line', () => {
    const error = classifyOllamaError(new Error('boom'), { host: HOST, phase: 'stream' });

    expect(error).toMatchObject({ name: 'StreamError', failure: 'error_line', detail: 'boom' });
  });

  it('plain error before streaming is unchanged', () => {
    const original = new Error('a bug elsewhere');

    expect(classifyOllamaError(original, { host: HOST })).toBe(original);
  });

  it('subclass error while streaming is unchanged', () => {
    const original = new RangeError('a bug elsewhere');

    expect(classifyOllamaError(original, { host: HOST, phase: 'stream' })).toBe(original);
  });

  it('missing done message', () => {
    const error = classifyOllamaError(new Error('Did not receive done or success response in stream.'), { host: HOST });

    expect(error).toMatchObject({ name: 'StreamError', failure: 'no_done' });
  });

  it('syntax error is an invalid response', () => {
    const error = classifyOllamaError(new SyntaxError('Unexpected token < in JSON'), { host: HOST });

    expect(error).toMatchObject({ name: 'StreamError', failure: 'invalid_response' });
  });

  it('aborted signal returns its reason', () => {
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    controller.abort(reason);

    expect(classifyOllamaError(new DOMException('This operation was aborted', 'AbortError'), { host: HOST, signal: controller.signal })).toBe(reason);
  });

  it('abort without a signal is unchanged', () => {
    const original = new DOMException('This operation was aborted', 'AbortError');

    expect(classifyOllamaError(original, { host: HOST })).toBe(original);
  });

  it('stepper errors pass through', () => {
    const original = new WatchdogTimeoutError(HOST, 'idle', 10);

    expect(classifyOllamaError(original, { host: HOST })).toBe(original);
  });

  it('blocked port is an invalid host', () => {
    const error = new TypeError('fetch failed', { cause: new Error('bad port') });
    const host = resolveOllamaHost({ OLLAMA_HOST: '127.0.0.1:6000' });

    const classified = classifyOllamaError(error, { host });

    expect(classified).toBeInstanceOf(InvalidOllamaHostError);
    expect(classified.message).toContain('"127.0.0.1:6000"');
  });

  it('non-error value becomes an error', () => {
    expect(classifyOllamaError('weird', { host: HOST })).toMatchObject({ message: 'weird' });
  });
});

describe('error classes', () => {
  it('every class is a StepperError', () => {
    const errors = [
      new OllamaUnreachableError(HOST, 'ECONNREFUSED'),
      new ModelNotFoundError(HOST, 'm'),
      new OllamaBusyError(HOST, 503, 'busy'),
      new OllamaServerError(HOST, 500, 'crash'),
      new StreamError(HOST, 'no_done', 'x'),
      new WatchdogTimeoutError(HOST, 'total', 5),
      new InvalidRequestError(HOST, 400, 'bad'),
    ];

    for (const error of errors) {
      expect(error).toBeInstanceOf(StepperError);
    }
  });

  it('watchdog message names limit and option', () => {
    const error = new WatchdogTimeoutError(HOST, 'firstToken', 900000, MODEL);

    expect(error.message).toContain('no first token arrived within 900000 ms for model "qwen2.5-coder:7b"');
    expect(error.message).toContain('firstTokenTimeoutMs');
  });

  it('odd model name is quoted in the pull command', () => {
    expect(new ModelNotFoundError(HOST, "it's").pullCommand).toBe(`ollama pull 'it'\\''s'`);
  });
});

describe('toQueueError', () => {
  it('unreachable becomes RetryLaterError', () => {
    const error = new OllamaUnreachableError(HOST, 'ECONNREFUSED');

    const queued = toQueueError(error);

    expect(queued).toBeInstanceOf(RetryLaterError);
    expect(queued).toMatchObject({ delayMs: 30_000, message: error.message, cause: error });
  });

  it('busy becomes RetryLaterError', () => {
    expect(toQueueError(new OllamaBusyError(HOST, 503, 'busy'))).toMatchObject({ name: 'RetryLaterError', delayMs: 15_000 });
  });

  it('delay can be replaced', () => {
    expect(toQueueError(new OllamaBusyError(HOST, 503, 'busy'), { retryDelayMs: 5 })).toMatchObject({ delayMs: 5 });
  });

  it.each([
    ['model not found', new ModelNotFoundError(HOST, 'm'), 'OLLAMA_MODEL_NOT_FOUND'],
    ['invalid request', new InvalidRequestError(HOST, 400, 'bad'), 'OLLAMA_INVALID_REQUEST'],
    ['invalid option', new InvalidOptionError('OLLAMA_HOST', 'a host', 'x'), 'INVALID_OPTION'],
  ])('%s becomes UnrecoverableError with its code', (_case, error, code) => {
    const queued = toQueueError(error);

    expect(queued).toBeInstanceOf(UnrecoverableError);
    expect(queued).toMatchObject({ name: 'UnrecoverableError', code, message: error.message });
  });

  it.each([
    ['server error', new OllamaServerError(HOST, 500, 'crash')],
    ['stream error', new StreamError(HOST, 'no_done', 'x')],
    ['watchdog', new WatchdogTimeoutError(HOST, 'idle', 5)],
    ['other error', new Error('bug')],
  ])('%s is unchanged', (_case, error) => {
    expect(toQueueError(error)).toBe(error);
  });
});

// The fake stops generating when the client goes away, like the real server, and records it.

import { describe, expect, it } from 'vitest';

import { clientFor, rejectionOf, startFake } from './helpers.js';

const CODER = 'qwen2.5-coder:7b';
const LONG_ANSWER = 'word '.repeat(200);
const user = (content: string) => [{ role: 'user' as const, content }];

describe('client disconnects', () => {
  it('iterator abort stops the stream and is recorded', async () => {
    const fake = await startFake({ answer: LONG_ANSWER, timing: { tokenDelayMs: 5 } });
    const stream = await clientFor(fake).chat({ model: CODER, messages: user('hi'), stream: true });
    let received = 0;

    const error = await rejectionOf(
      (async () => {
        for await (const part of stream) {
          received += 1;
          if (received === 3) {
            stream.abort();
          }
          void part;
        }
      })(),
    );
    const entry = await fake.waitForRequest((request) => request.clientClosedEarly);

    expect(error.name).toBe('AbortError');
    expect(entry.serverDropped).toBe(false);
    expect(entry.linesWritten).toBeLessThan(200);
  });

  it('client abort stops every open stream', async () => {
    const fake = await startFake({ answer: LONG_ANSWER, timing: { tokenDelayMs: 5 } });
    const client = clientFor(fake);
    const streams = [
      await client.chat({ model: CODER, messages: user('one'), stream: true }),
      await client.generate({ model: CODER, prompt: 'two', stream: true }),
    ];

    client.abort();
    const errors = await Promise.all(
      streams.map((stream) =>
        rejectionOf(
          (async () => {
            for await (const part of stream as AsyncIterable<unknown>) {
              void part;
            }
          })(),
        ),
      ),
    );
    const closed = await Promise.all(
      ['/api/chat', '/api/generate'].map((path) =>
        fake.waitForRequest((request) => request.path === path && request.clientClosedEarly),
      ),
    );

    expect(errors.map((error) => error.name)).toEqual(['AbortError', 'AbortError']);
    expect(closed.map((request) => request.linesWritten < 200)).toEqual([true, true]);
  });

  it('break without abort leaves the request running', async () => {
    const fake = await startFake({ answer: 'word '.repeat(20), timing: { tokenDelayMs: 2 } });
    const stream = await clientFor(fake).chat({ model: CODER, messages: user('hi'), stream: true });

    for await (const part of stream) {
      void part;
      break;
    }
    const entry = await fake.waitForRequest((request) => request.finishedAt !== undefined);

    expect(entry.clientClosedEarly).toBe(false);
    // 21 tokens ("word", 19 times " word", then " ") and the final line.
    expect(entry.linesWritten).toBe(22);
  });

  it('client abort before headers does not cancel the request', async () => {
    const fake = await startFake();
    fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 200 } });
    const client = clientFor(fake);

    const pending = client.chat({ model: CODER, messages: user('hi'), stream: true });
    await fake.waitForRequest(() => true);
    client.abort();
    const stream = await pending;
    const parts: unknown[] = [];
    for await (const part of stream) {
      parts.push(part);
    }

    expect(parts.length).toBeGreaterThan(1);
    expect(fake.requests[0]?.clientClosedEarly).toBe(false);
  });

  it('custom fetch signal cancels a non-streaming request', async () => {
    const fake = await startFake({ timing: { tokenDelayMs: 50 } });
    const controller = new AbortController();
    const client = clientFor(fake, { fetch: (input, init) => fetch(input, { ...init, signal: controller.signal }) });

    const pending = rejectionOf(client.chat({ model: CODER, messages: user('hi') }));
    await fake.waitForRequest(() => true);
    controller.abort(new Error('deadline passed'));
    const error = await pending;
    const entry = await fake.waitForRequest((request) => request.clientClosedEarly);

    expect(error.message).toBe('deadline passed');
    expect(entry.respondedAt).toBeUndefined();
  });

  it('closing the fake ends a running stream', async () => {
    const fake = await startFake({ answer: LONG_ANSWER, timing: { tokenDelayMs: 5 } });
    const stream = await clientFor(fake).chat({ model: CODER, messages: user('hi'), stream: true });

    await fake.close();
    const error = await rejectionOf(
      (async () => {
        for await (const part of stream) {
          void part;
        }
      })(),
    );

    expect(error.message).toBe('terminated');
  });
});

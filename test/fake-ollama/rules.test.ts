// How fault rules are chosen, counted, combined and validated.

import { describe, expect, it } from 'vitest';

import { clientFor, collect, contentOf, rejectionOf, startFake } from './helpers.js';
import { FAULT_KINDS, startFakeOllama } from './server.mjs';

const CODER = 'qwen2.5-coder:7b';
const THINKER = 'qwen3:8b';
const user = (content: string) => [{ role: 'user' as const, content }];

describe('fault rules', () => {
  it('rule applies to `times` requests only', async () => {
    const fake = await startFake();
    const handle = fake.enqueue({ fault: { kind: 'http_error', status: 500 }, times: 2 });
    const client = clientFor(fake);
    const statuses: Array<number | 'ok'> = [];

    for (let attempt = 0; attempt < 3; attempt += 1) {
      const outcome = await client.chat({ model: CODER, messages: user('hi') }).then(
        () => 'ok' as const,
        (error: { status_code: number }) => error.status_code,
      );
      statuses.push(outcome);
    }

    expect(statuses).toEqual([500, 500, 'ok']);
    expect(handle.hits).toBe(2);
    expect(handle.remaining).toBe(0);
  });

  it('rule matches by model', async () => {
    const fake = await startFake();
    fake.enqueue({ fault: 'model_missing', match: { model: THINKER } });
    const client = clientFor(fake);

    await client.chat({ model: CODER, messages: user('hi') });
    const error = await rejectionOf(client.chat({ model: 'qwen3:8b', messages: user('hi') }));

    expect(error.status_code).toBe(404);
  });

  it('rule matches by stream flag', async () => {
    const fake = await startFake();
    fake.enqueue({ fault: 'context_error', match: { stream: true } });
    const client = clientFor(fake);

    await client.chat({ model: CODER, messages: user('hi') });
    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi'), stream: true }));

    expect(error.status_code).toBe(400);
  });

  it('rule skips other endpoints by default', async () => {
    const fake = await startFake();
    fake.enqueue({ fault: { kind: 'http_error', preset: 'busy' } });
    const client = clientFor(fake);

    await client.version();
    await client.list();
    const error = await rejectionOf(client.generate({ model: CODER, prompt: 'hi' }));

    expect(error.status_code).toBe(503);
  });

  it('rule with a function matcher sees the logged request', async () => {
    const fake = await startFake();
    fake.enqueue({ fault: 'context_error', match: (request) => request.body?.options?.num_ctx === 1024 });
    const client = clientFor(fake);

    await client.chat({ model: CODER, messages: user('hi'), options: { num_ctx: 2048 } });
    const error = await rejectionOf(client.chat({ model: CODER, messages: user('hi'), options: { num_ctx: 1024 } }));

    expect(error.status_code).toBe(400);
  });

  it('faults in one rule combine', async () => {
    const fake = await startFake({ answer: { note: 'été ✓' } });
    fake.enqueue({ fault: ['fenced_json', 'split_chunks', 'final_line_has_text'] });

    const { parts } = await collect(await clientFor(fake).chat({ model: CODER, messages: user('hi'), stream: true }));

    expect(contentOf(parts)).toBe('```json\n{"note":"été ✓"}\n```');
    expect(fake.requests[0]?.faults).toEqual(['fenced_json', 'split_chunks', 'final_line_has_text']);
  });

  it('rule answer replaces the server answer', async () => {
    const fake = await startFake({ answer: 'server answer' });
    fake.enqueue({ answer: 'rule answer' });
    const client = clientFor(fake);

    const first = await client.chat({ model: CODER, messages: user('hi') });
    const second = await client.chat({ model: CODER, messages: user('hi') });

    expect(first.message.content).toBe('rule answer');
    expect(second.message.content).toBe('server answer');
  });

  it('earlier rule wins over a later one', async () => {
    const fake = await startFake();
    fake.enqueue({ fault: { kind: 'http_error', status: 502 } });
    fake.enqueue({ fault: { kind: 'http_error', status: 503 } });
    const client = clientFor(fake);

    const first = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));
    const second = await rejectionOf(client.chat({ model: CODER, messages: user('hi') }));

    expect([first.status_code, second.status_code]).toEqual([502, 503]);
  });

  it('unknown fault kind is rejected with the list of kinds', async () => {
    const fake = await startFake();

    expect(() => fake.enqueue({ fault: { kind: 'explode' } as never })).toThrow(
      `unknown fault kind "explode"; expected one of ${FAULT_KINDS.join(', ')}`,
    );
  });

  it('negative fault parameter is rejected', async () => {
    const fake = await startFake();

    expect(() => fake.enqueue({ fault: { kind: 'stall', stallMs: -1 } })).toThrow(
      'fault stall: stallMs must be a non-negative integer, got -1',
    );
  });

  it('invalid times is rejected', async () => {
    const fake = await startFake();

    expect(() => fake.enqueue({ fault: 'no_done', times: 1.5 })).toThrow(
      'rule times must be a non-negative integer or "always", got 1.5',
    );
  });

  it('invalid model option is rejected at start', async () => {
    const error = await rejectionOf(startFakeOllama({ models: [{ name: 'm', contextLength: 0 }] }));

    expect(error.message).toBe('model m:latest: contextLength must be a positive integer, got 0');
  });

  it('invalid timing is rejected at start', async () => {
    const error = await rejectionOf(startFakeOllama({ timing: { tokenDelayMs: -5 } }));

    expect(error.message).toBe('timing.tokenDelayMs must be a non-negative integer of milliseconds, got -5');
  });

  it('FAULT_KINDS lists every fault of the spec', () => {
    expect(FAULT_KINDS).toEqual(
      expect.arrayContaining([
        'latency',
        'model_missing',
        'http_error',
        'http_error_text',
        'error_midstream',
        'drop_after',
        'drop_before_headers',
        'slow_headers',
        'stall',
        'no_done',
        'malformed_line',
        'split_chunks',
        'malformed_json_output',
        'fenced_json',
        'prose_wrapped_json',
        'think_tags',
        'thinking_only',
        'truncated_length',
        'whitespace_runaway',
        'schema_violation',
        'silent_truncation',
        'context_error',
        'omit_metrics',
        'final_line_has_text',
        'busy_n',
        'flaky_every_n',
        'forbidden_host',
      ]),
    );
  });
});

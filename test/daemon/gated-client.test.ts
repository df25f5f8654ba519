// The daemon's shared Ollama client against the fake server: a request waits for the
// generation slot of the job whose signal it follows, and other requests pass at once.
import { describe, expect, test } from 'vitest';

import { GatedOllamaClient, GenerationGate } from '../../src/daemon/generation-gate.js';
import { streamChat } from '../../src/ollama/chat.js';
import { followSignal, signalLineage } from '../../src/ollama/client.js';
import { startFake } from '../fake-ollama/helpers.js';
import type { FakeOllama, RecordedRequest } from '../fake-ollama/server.mjs';

const MODEL = 'qwen2.5-coder:7b';

function chat(client: GatedOllamaClient, label: string, signal: AbortSignal) {
  return streamChat(client, { model: MODEL, messages: [{ role: 'user', content: `request ${label}` }] }, { signal });
}

function requestOf(fake: FakeOllama, label: string): RecordedRequest {
  const request = fake.requests.find((entry) => entry.path === '/api/chat' && entry.rawBody.includes(`request ${label}`));
  if (!request) {
    throw new Error(`the fake received no chat request ${label}`);
  }

  return request;
}

describe('GatedOllamaClient', () => {
  test('second job waits for the slot', async () => {
    const fake = await startFake({ timing: { tokenDelayMs: 20 } });
    const client = new GatedOllamaClient({ env: { OLLAMA_HOST: fake.url } });
    const gate = new GenerationGate(1);
    const jobs = ['a', 'b'].map((label) => ({ label, controller: new AbortController(), ticket: gate.ticket(`job-${label}`) }));
    for (const job of jobs) {
      client.bindTicket(job.controller.signal, job.ticket);
    }
    const outside = new AbortController();

    const results = await Promise.all([...jobs.map((job) => chat(client, job.label, job.controller.signal)), chat(client, 'outside', outside.signal)]);
    for (const job of jobs) {
      job.ticket.release();
    }

    const [first, second, unbound] = ['a', 'b', 'outside'].map((label) => requestOf(fake, label));
    expect(results.every((result) => result.content.length > 0)).toBe(true);
    // Job b's request went out only after job a's response had ended.
    expect(second!.id).toBeGreaterThan(first!.id);
    expect(second!.id).toBeGreaterThan(unbound!.id);
    expect(second!.receivedAt).toBeGreaterThanOrEqual(first!.finishedAt!);
    expect(gate.holders).toEqual([]);
  });

  test('unbound request passes a full gate', async () => {
    const fake = await startFake({ timing: { tokenDelayMs: 20 } });
    const client = new GatedOllamaClient({ env: { OLLAMA_HOST: fake.url } });
    const gate = new GenerationGate(1);
    const holder = new AbortController();
    const ticket = gate.ticket('job-holder');
    client.bindTicket(holder.signal, ticket);
    await ticket.hold(holder.signal);

    const result = await chat(client, 'free', new AbortController().signal);
    ticket.release();

    expect(result.content.length).toBeGreaterThan(0);
    expect(requestOf(fake, 'free').finishedAt).toBeDefined();
  });
});

describe('signalLineage', () => {
  test('leads back through followSignal', () => {
    const job = new AbortController();
    const request = new AbortController();
    const nested = new AbortController();
    followSignal(job.signal, request);
    followSignal(request.signal, nested);

    expect([...signalLineage(nested.signal)]).toEqual([nested.signal, request.signal, job.signal]);
    expect([...signalLineage(job.signal)]).toEqual([job.signal]);
    expect([...signalLineage(undefined)]).toEqual([]);
  });
});

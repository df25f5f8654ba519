import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { streamChat } from '../../src/ollama/chat.js';
import { OllamaClient } from '../../src/ollama/client.js';
import { toQueueError } from '../../src/ollama/errors.js';
import { openQueue, type Queue } from '../../src/queue/queue.js';
import type { JobState } from '../../src/queue/types.js';
import { type Processor, Worker } from '../../src/queue/worker.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';
import { startFake } from '../fake-ollama/helpers.js';
import { closedPort } from '../helpers/ports.js';

const MODEL = 'qwen2.5-coder:7b';
const MESSAGES = [{ role: 'user', content: 'Describe the commit.' }];

const workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close({ graceMs: 0 })));
});

function openTestQueue(): Queue {
  return openQueue({ dataDir: makeTempDir(), backoff: { delayMs: 10, jitter: 0 } });
}

function startWorker(queue: Queue, processor: Processor): void {
  const worker = new Worker(queue, processor, { pollIntervalMs: 10 });
  worker.on('error', (error) => {
    throw error;
  });
  workers.push(worker);
  void worker.run();
}

async function waitForState(queue: Queue, id: string, state: JobState): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 10) {
    if (queue.getJob(id)?.state === state) {
      return;
    }

    await sleep(10);
  }

  throw new Error(`job ${id} did not reach ${state}; it is ${queue.getJob(id)?.state}`);
}

/** Creates a processor that runs one chat against `clientFor(call)` and hands failures to the queue through toQueueError. */
function chatProcessor(clientFor: (call: number) => OllamaClient, calls: { count: number }): Processor {
  return async (_job, context) => {
    calls.count += 1;
    try {
      await streamChat(clientFor(calls.count), { model: MODEL, messages: MESSAGES }, { signal: context.signal });
    } catch (error) {
      throw toQueueError(error, { retryDelayMs: 10 });
    }

    return undefined;
  };
}

describe('queue actions of Ollama failures', () => {
  it('unreachable Ollama spends no attempt', async () => {
    const queue = openTestQueue();
    const fake = await startFake();
    const down = new OllamaClient({ env: { OLLAMA_HOST: `127.0.0.1:${await closedPort()}` } });
    const up = new OllamaClient({ env: { OLLAMA_HOST: fake.url } });
    const calls = { count: 0 };
    const { job } = queue.add({ kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha('a1') });

    startWorker(queue, chatProcessor((call) => (call < 3 ? down : up), calls));
    await waitForState(queue, job.id, 'completed');

    const done = queue.getJob(job.id)!;
    expect(calls.count).toBe(3);
    expect(done.attemptsMade).toBe(1);
    expect(done.attemptsStarted).toBe(3);
  });

  it('busy Ollama spends no attempt', async () => {
    const queue = openTestQueue();
    const fake = await startFake();
    fake.enqueue({ fault: { kind: 'busy_n', count: 2 } });
    const calls = { count: 0 };
    const { job } = queue.add({ kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha('a2'), maxAttempts: 1 });

    startWorker(queue, chatProcessor(() => new OllamaClient({ env: { OLLAMA_HOST: fake.url } }), calls));
    await waitForState(queue, job.id, 'completed');

    expect(calls.count).toBe(3);
    expect(queue.getJob(job.id)!.attemptsMade).toBe(1);
  });

  it('missing model fails at once', async () => {
    const queue = openTestQueue();
    const fake = await startFake();
    fake.enqueue({ fault: 'model_missing', times: 'always' });
    const calls = { count: 0 };
    const { job } = queue.add({ kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha('a3') });

    startWorker(queue, chatProcessor(() => new OllamaClient({ env: { OLLAMA_HOST: fake.url } }), calls));
    await waitForState(queue, job.id, 'failed');

    const failed = queue.getJob(job.id)!;
    expect(calls.count).toBe(1);
    expect(failed.failedReason).toBe('unrecoverable');
    expect(failed.errorCode).toBe('OLLAMA_MODEL_NOT_FOUND');
    expect(failed.lastError).toContain('ollama pull qwen2.5-coder:7b');
  });

  it('bad request fails at once', async () => {
    const queue = openTestQueue();
    const fake = await startFake();
    fake.enqueue({ fault: 'context_error', times: 'always' });
    const calls = { count: 0 };
    const { job } = queue.add({ kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha('a4') });

    startWorker(queue, chatProcessor(() => new OllamaClient({ env: { OLLAMA_HOST: fake.url } }), calls));
    await waitForState(queue, job.id, 'failed');

    expect(calls.count).toBe(1);
    expect(queue.getJob(job.id)!.errorCode).toBe('OLLAMA_INVALID_REQUEST');
  });

  it('server error spends attempts', async () => {
    const queue = openTestQueue();
    const fake = await startFake();
    fake.enqueue({ fault: { kind: 'http_error', preset: 'runner_crash' }, times: 'always' });
    const calls = { count: 0 };
    const { job } = queue.add({ kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha('a5'), maxAttempts: 2 });

    startWorker(queue, chatProcessor(() => new OllamaClient({ env: { OLLAMA_HOST: fake.url } }), calls));
    await waitForState(queue, job.id, 'failed');

    const failed = queue.getJob(job.id)!;
    expect(calls.count).toBe(2);
    expect(failed.failedReason).toBe('attempts-exhausted');
    expect(failed.errorClass).toBe('OllamaServerError');
    expect(failed.errorCode).toBe('OLLAMA_SERVER_ERROR');
  });
});

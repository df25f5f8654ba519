import { describe, expect, it } from 'vitest';

import { BUSY_RETRY_DELAY_MS, UNREACHABLE_RETRY_DELAY_MS } from '../../src/ollama/errors.js';
import type { Fault } from '../fake-ollama/server.mjs';
import { CONTEXT_ERROR, ERROR_PRESETS } from '../fake-ollama/server.mjs';
import {
  addReportJob,
  chatRequests,
  eventsOf,
  newRepo,
  provenanceOf,
  resultOf,
  type Stand,
  type StandOptions,
  startStand,
  waitForFinished,
  waitForJob,
} from '../helpers/report-queue.js';
import { numberedLines, type RepoBuilder } from '../helpers/repo-builder.js';

interface Scene {
  stand: Stand;
  builder: RepoBuilder;
  sha: string;
}

/** Starts a fake, a queue and a worker, and builds a repository whose last commit edits one small file. */
async function setUp(options: StandOptions = {}): Promise<Scene> {
  const stand = await startStand(options);
  const builder = newRepo();
  builder.write('src/app.ts', numberedLines(12, 'const value'));
  builder.commit('Add the app\n');
  builder.write('src/app.ts', numberedLines(12, 'const value').replace('const value 3\n', 'const value 3 changed\n'));
  const sha = builder.commit('Change the third value\n');
  return { stand, builder, sha };
}

function addNotesCommit(builder: RepoBuilder): string {
  builder.write('notes.txt', 'First note.\n');
  return builder.commit('Add notes\n');
}

async function runJob(scene: Scene, extra: Parameters<typeof addReportJob>[3] = {}) {
  const id = await addReportJob(scene.stand, scene.builder, scene.sha, extra);
  return { id, job: await waitForFinished(scene.stand, id) };
}

describe('report job after a repairable response', () => {
  // Each fault applies to the first chat request only, and `calls` is the number of model calls the report needs.
  const cases: Array<{ name: string; fault: Fault; calls: number }> = [
    { name: 'fenced_json', fault: { kind: 'fenced_json' }, calls: 1 },
    { name: 'prose_wrapped_json', fault: { kind: 'prose_wrapped_json' }, calls: 1 },
    { name: 'think_tags', fault: { kind: 'think_tags' }, calls: 1 },
    { name: 'trailing comma', fault: { kind: 'malformed_json_output', variant: 'trailing_comma' }, calls: 1 },
    { name: 'unescaped newline', fault: { kind: 'malformed_json_output', variant: 'unescaped_newline' }, calls: 1 },
    { name: 'missing brace', fault: { kind: 'malformed_json_output', variant: 'missing_brace' }, calls: 2 },
    { name: 'missing required key', fault: { kind: 'schema_violation', violation: 'missing_required' }, calls: 2 },
    { name: 'wrong type', fault: { kind: 'schema_violation', violation: 'wrong_type' }, calls: 2 },
    { name: 'ignore_format', fault: { kind: 'ignore_format' }, calls: 2 },
    { name: 'final_line_has_text', fault: { kind: 'final_line_has_text' }, calls: 1 },
    { name: 'split_chunks', fault: { kind: 'split_chunks' }, calls: 1 },
    // ollama-js skips the line that is not JSON and writes "invalid json:" to the console.
    { name: 'malformed_line', fault: { kind: 'malformed_line', afterLines: 2 }, calls: 1 },
    { name: 'whitespace_runaway', fault: { kind: 'whitespace_runaway', pieces: 40 }, calls: 1 },
    { name: 'truncated_length', fault: { kind: 'truncated_length' }, calls: 2 },
    { name: 'thinking_only', fault: { kind: 'thinking_only', pieces: 20 }, calls: 2 },
    { name: 'omit_metrics', fault: { kind: 'omit_metrics', fields: ['prompt_eval_count', 'eval_count', 'done_reason'] }, calls: 1 },
    { name: 'model load latency', fault: { kind: 'latency', loadDelayMs: 300, reload: true }, calls: 1 },
  ];

  for (const { name, fault, calls } of cases) {
    it(`${name} completes in ${calls} call${calls === 1 ? '' : 's'}`, async () => {
      const scene = await setUp();
      scene.stand.fake.enqueue({ fault });
      const { job } = await runJob(scene);
      const provenance = provenanceOf(resultOf(scene.stand, job));

      expect(job.state).toBe('completed');
      expect(job.attemptsMade).toBe(1);
      expect(provenance.modelCalls).toBe(calls);
      expect(chatRequests(scene.stand.fake)).toHaveLength(calls);
      expect(chatRequests(scene.stand.fake)[0]?.faults).toContain(fault.kind);
    });
  }

  it('silent_truncation completes flagged', async () => {
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'silent_truncation' } });
    const { job } = await runJob(scene);
    const provenance = provenanceOf(resultOf(scene.stand, job));

    expect(job.state).toBe('completed');
    expect(provenance.truncated).toBe(true);
    expect(provenance.modelCalls).toBe(1);
  });

  it('normal answer completes unflagged', async () => {
    const scene = await setUp();
    const { job } = await runJob(scene);
    const provenance = provenanceOf(resultOf(scene.stand, job));

    expect(job.state).toBe('completed');
    expect(provenance.truncated).toBe(false);
    expect(provenance.modelCalls).toBe(1);
  });
});

describe('report job after a failed attempt', () => {
  // The fault hits the first chat request, and the retry after the 20 ms backoff gets a normal response.
  const cases: Array<{ name: string; fault: Fault; error: string; timeouts?: StandOptions['timeouts'] }> = [
    { name: 'runner crash 500', fault: { kind: 'http_error', preset: 'runner_crash' }, error: 'failed with HTTP 500' },
    { name: 'load timeout 500', fault: { kind: 'http_error', preset: 'load_timeout' }, error: 'timed out waiting for llama runner' },
    { name: 'bad gateway 502', fault: { kind: 'http_error', preset: 'bad_gateway' }, error: 'failed with HTTP 502' },
    { name: 'plain-text 500', fault: { kind: 'http_error_text', status: 500, body: 'internal error' }, error: 'HTTP 500' },
    { name: 'error_midstream', fault: { kind: 'error_midstream', afterLines: 2 }, error: 'Ollama reported an error while generating' },
    { name: 'drop_after', fault: { kind: 'drop_after', afterLines: 2 }, error: 'the connection closed before the response was complete' },
    { name: 'drop_before_headers', fault: { kind: 'drop_before_headers' }, error: 'the connection closed before the response was complete' },
    { name: 'no_done', fault: { kind: 'no_done' }, error: 'without its final "done" line' },
    { name: 'whitespace repeat guard', fault: { kind: 'whitespace_runaway', repeatGuard: true }, error: 'without its final "done" line' },
    {
      name: 'stall past the idle watchdog',
      fault: { kind: 'stall', afterLines: 2, stallMs: 5000 },
      error: 'no token arrived within 1000 ms',
      timeouts: { idleTimeoutMs: 1000 },
    },
    {
      name: 'slow_headers past the firstToken watchdog',
      fault: { kind: 'slow_headers', delayMs: 5000 },
      error: 'no first token arrived within 1000 ms',
      timeouts: { firstTokenTimeoutMs: 1000 },
    },
  ];

  for (const { name, fault, error, timeouts } of cases) {
    it(`${name} spends one attempt`, async () => {
      const scene = await setUp({ timeouts });
      scene.stand.fake.enqueue({ fault });
      const { id, job } = await runJob(scene);
      const retried = eventsOf(scene.stand, id, 'retried');

      expect(job.state).toBe('completed');
      expect(job.attemptsMade).toBe(2);
      expect(retried).toHaveLength(1);
      expect(String(retried[0]?.data?.error)).toContain(error);
      expect(chatRequests(scene.stand.fake)).toHaveLength(2);
    });
  }

  it('flaky_every_n fails only the second job once', async () => {
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'flaky_every_n', every: 2, failure: { kind: 'http_error', preset: 'runner_crash' } }, times: 'always' });
    const first = await runJob(scene);
    scene.sha = addNotesCommit(scene.builder);
    const second = await runJob(scene);

    expect(first.job.state).toBe('completed');
    expect(first.job.attemptsMade).toBe(1);
    expect(second.job.state).toBe('completed');
    expect(second.job.attemptsMade).toBe(2);
    expect(eventsOf(scene.stand, second.id, 'retried')).toHaveLength(1);
  });
});

describe('report job while Ollama is away', () => {
  it('busy 503 releases without an attempt', async () => {
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'busy_n', count: 1 } });
    const id = await addReportJob(scene.stand, scene.builder, scene.sha);
    const delayed = await waitForJob(scene.stand, id, (job) => job.state === 'delayed', 'delayed');
    const released = eventsOf(scene.stand, id, 'released');

    expect(delayed.attemptsMade).toBe(0);
    expect(released).toHaveLength(1);
    expect(released[0]?.data?.delayMs).toBe(BUSY_RETRY_DELAY_MS);
    expect(String(released[0]?.data?.reason)).toContain('is busy (HTTP 503');

    scene.stand.advanceClock(BUSY_RETRY_DELAY_MS);
    const job = await waitForFinished(scene.stand, id);

    expect(job.state).toBe('completed');
    expect(job.attemptsMade).toBe(1);
  });

  it('busy preset 503 releases without an attempt', async () => {
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'http_error', preset: 'busy' } });
    const id = await addReportJob(scene.stand, scene.builder, scene.sha);
    const delayed = await waitForJob(scene.stand, id, (job) => job.state === 'delayed', 'delayed');

    expect(delayed.attemptsMade).toBe(0);
    expect(eventsOf(scene.stand, id, 'retried')).toHaveLength(0);
  });

  it('refused connection releases without an attempt', async () => {
    const scene = await setUp();
    await scene.stand.fake.refuseConnections();
    const id = await addReportJob(scene.stand, scene.builder, scene.sha);
    const delayed = await waitForJob(scene.stand, id, (job) => job.state === 'delayed', 'delayed');
    const released = eventsOf(scene.stand, id, 'released');

    expect(delayed.attemptsMade).toBe(0);
    expect(released).toHaveLength(1);
    expect(released[0]?.data?.delayMs).toBe(UNREACHABLE_RETRY_DELAY_MS);
    expect(String(released[0]?.data?.reason)).toContain('ECONNREFUSED');

    await scene.stand.fake.acceptConnections();
    scene.stand.advanceClock(UNREACHABLE_RETRY_DELAY_MS);
    const job = await waitForFinished(scene.stand, id);

    expect(job.state).toBe('completed');
    expect(job.attemptsMade).toBe(1);
  });

  it('refused chat after a described model releases', async () => {
    const scene = await setUp();
    // A first job caches the model description, so the second one fails at the chat request itself.
    await runJob(scene);
    scene.sha = addNotesCommit(scene.builder);
    await scene.stand.fake.refuseConnections();
    const id = await addReportJob(scene.stand, scene.builder, scene.sha);
    const delayed = await waitForJob(scene.stand, id, (job) => job.state === 'delayed', 'delayed');

    expect(delayed.attemptsMade).toBe(0);
    expect(eventsOf(scene.stand, id, 'released')).toHaveLength(1);
  });
});

describe('report job failing at once', () => {
  it('model not installed names the pull command', async () => {
    const scene = await setUp();
    const { job } = await runJob(scene, { model: 'absent-model:1b' });

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('unrecoverable');
    expect(job.attemptsMade).toBe(1);
    expect(job.lastError).toContain('ollama pull absent-model:1b');
    expect(chatRequests(scene.stand.fake)).toHaveLength(0);
  });

  it('model_missing at the chat request fails', async () => {
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'model_missing' } });
    const { job } = await runJob(scene);

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('unrecoverable');
    expect(job.lastError).toContain('ollama pull qwen2.5-coder:7b');
  });

  it('bad request 400 fails with the message', async () => {
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'http_error', preset: 'bad_request' } });
    const { job } = await runJob(scene);

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('unrecoverable');
    expect(job.attemptsMade).toBe(1);
    expect(job.lastError).toContain(ERROR_PRESETS.bad_request.message);
  });

  it('context_error fails with the message', async () => {
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'context_error' } });
    const { job } = await runJob(scene);

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('unrecoverable');
    expect(job.lastError).toContain(CONTEXT_ERROR);
  });

  it('forbidden 403 fails with the credentials hint', async () => {
    // forbidden_host itself never fires for a client on 127.0.0.1, so a proxy's 403 replaces it here.
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'http_error', status: 403, message: 'forbidden' } });
    const { job } = await runJob(scene);

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('unrecoverable');
    expect(job.lastError).toContain('check the credentials in OLLAMA_HOST');
  });

  it('forbidden_host passes a loopback client', async () => {
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'forbidden_host' }, match: { path: '*' }, times: 'always' });
    const { job } = await runJob(scene);

    expect(job.state).toBe('completed');
  });
});

describe('report job with invalid responses', () => {
  it('fails after attempts run out', async () => {
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'ignore_format' }, times: 'always' });
    const { id, job } = await runJob(scene, { maxAttempts: 2 });

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('attempts-exhausted');
    expect(job.attemptsMade).toBe(2);
    expect(job.errorClass).toBe('InvalidReportError');
    expect(job.lastError).toContain('returned no valid report in 3 calls');
    expect(eventsOf(scene.stand, id, 'retried')).toHaveLength(1);
    expect(chatRequests(scene.stand.fake)).toHaveLength(6);
  });

  it('completes when the retry succeeds', async () => {
    const scene = await setUp();
    scene.stand.fake.enqueue({ fault: { kind: 'schema_violation' }, times: 3 });
    const { job } = await runJob(scene, { maxAttempts: 2 });

    expect(job.state).toBe('completed');
    expect(job.attemptsMade).toBe(2);
    expect(chatRequests(scene.stand.fake)).toHaveLength(4);
  });
});

import { afterEach, describe, expect, it } from 'vitest';

import { FRESH_HEARTBEAT_MS, readRecordedOllama, RECENT_RESPONSE_MS } from '../../src/api/status.js';
import type { DaemonStatus } from '../../src/daemon/start.js';
import type { DaemonRow } from '../../src/daemon/state.js';
import { resolveOllamaHost } from '../../src/ollama/host.js';
import { type Queue, openQueue } from '../../src/queue/queue.js';
import { FakeClock } from '../helpers/clock.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';

const HOST = resolveOllamaHost({ OLLAMA_HOST: '127.0.0.1:11434' });

const queues: Queue[] = [];
afterEach(() => {
  for (const queue of queues.splice(0)) {
    queue.close();
  }
});

function daemonStatus(now: number, row: Partial<DaemonRow> = {}, running = true): DaemonStatus {
  return {
    dataDir: '/data',
    running,
    startingPid: undefined,
    row: {
      pid: 42,
      instance: 'instance-1',
      version: '0.1.0',
      state: 'running',
      startedAt: now - 60_000,
      heartbeatAt: now - 1000,
      concurrency: 1,
      jobsDone: 1,
      currentJobId: null,
      ollamaHost: HOST.url,
      ollamaState: 'ok',
      ollamaDetail: null,
      updatedAt: now - 1000,
      ...row,
    },
    logFile: '/data/daemon.log',
    lockFile: '/data/daemon.lock',
  };
}

/** Opens a queue with one job, completed at the fake clock's time. */
function queueWithCompletedJob(): Queue {
  const clock = new FakeClock();
  const queue = openQueue({ dataDir: makeTempDir(), clock: clock.read });
  queues.push(queue);
  queue.add({ kind: 'report', repository: '/repos/app/.git', commitSha: fakeSha('a1') });
  queue.complete(queue.claim('worker-1')!);
  return queue;
}

describe('readRecordedOllama', () => {
  it('takes ok after a recent completion', () => {
    const queue = queueWithCompletedJob();
    const now = (queue.getJobs()[0]?.finishedAt ?? 0) + 5000;

    expect(readRecordedOllama(daemonStatus(now), HOST, queue, now)).toEqual({ reachable: true, detail: null });
  });

  it('takes ok while a job runs', () => {
    const queue = queueWithCompletedJob();
    const now = (queue.getJobs()[0]?.finishedAt ?? 0) + RECENT_RESPONSE_MS + 1;

    expect(readRecordedOllama(daemonStatus(now, { currentJobId: 'job-1' }), HOST, queue, now)).toEqual({ reachable: true, detail: null });
  });

  it('probes when the last completion is old', () => {
    const queue = queueWithCompletedJob();
    const now = (queue.getJobs()[0]?.finishedAt ?? 0) + RECENT_RESPONSE_MS + 1;

    expect(readRecordedOllama(daemonStatus(now), HOST, queue, now)).toBeUndefined();
  });

  it('probes when no job completed', () => {
    const queue = openQueue({ dataDir: makeTempDir() });
    queues.push(queue);

    expect(readRecordedOllama(daemonStatus(Date.now()), HOST, queue, Date.now())).toBeUndefined();
  });

  it.each([
    ['a stale heartbeat', (now: number) => daemonStatus(now, { heartbeatAt: now - FRESH_HEARTBEAT_MS - 1 })],
    ['another host', (now: number) => daemonStatus(now, { ollamaHost: 'http://127.0.0.1:11435' })],
    ['unreachable', (now: number) => daemonStatus(now, { ollamaState: 'unreachable', ollamaDetail: 'connection refused' })],
    ['unknown', (now: number) => daemonStatus(now, { ollamaState: 'unknown' })],
    ['a stopping daemon', (now: number) => daemonStatus(now, { state: 'stopping' })],
    ['a free lock', (now: number) => daemonStatus(now, {}, false)],
  ])('probes for %s', (_, status) => {
    const queue = queueWithCompletedJob();
    const now = (queue.getJobs()[0]?.finishedAt ?? 0) + 1000;

    expect(readRecordedOllama(status(now), HOST, queue, now)).toBeUndefined();
  });
});

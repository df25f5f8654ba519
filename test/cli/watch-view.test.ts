import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';

import type { DaemonSnapshot, QueueSnapshot } from '../../src/api/watch.js';
import { conciseError, renderWatchView, type WatchViewOptions } from '../../src/cli/render/watch-view.js';
import type { Job } from '../../src/queue/types.js';

const NOW = Date.UTC(2026, 11, 5, 10, 0, 0);
const SHA = '9044c3e88647ef86445b8e8ae4da1a1baa1734d4';

function options(width: number, extra: Partial<WatchViewOptions> = {}): WatchViewOptions {
  return { chalk: new Chalk({ level: 0 }), width, now: NOW, outputBudgetTokens: 1024, follow: false, dataDir: '/data', ...extra };
}

function job(fields: Partial<Job>): Job {
  return {
    id: 'job-1',
    repository: '/src/app/.git',
    commitSha: SHA,
    payload: { model: 'qwen2.5-coder:7b', subject: 'Read the configuration file' },
    state: 'waiting',
    runAt: NOW,
    attemptsMade: 0,
    maxAttempts: 5,
    lastError: null,
    startedAt: null,
    finishedAt: null,
    progress: null,
    ...fields,
  } as Job;
}

function snapshot(fields: Partial<QueueSnapshot> = {}, counts: Partial<QueueSnapshot['counts']> = {}): QueueSnapshot {
  const daemon: DaemonSnapshot = { state: 'running', ollamaWait: null };
  return {
    counts: { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0, ...counts },
    active: [],
    delayed: [],
    recent: [],
    averageDurationMs: null,
    averageOver: 0,
    held: [],
    daemon,
    ...fields,
  };
}

const SERVER_ERROR =
  'Ollama at http://127.0.0.1:11611 (OLLAMA_HOST="127.0.0.1:11611") failed with HTTP 500: model runner has unexpectedly stopped, ' +
  'this may be due to resource limitations or an internal error, check ollama server logs for details; its server log has the details';

describe('conciseError', () => {
  it('drops where the Ollama URL came from', () => {
    expect(conciseError(SERVER_ERROR)).toMatch(/^Ollama at http:\/\/127\.0\.0\.1:11611 failed with HTTP 500: model runner/);
  });

  it('drops a default host note', () => {
    const message = 'connection to Ollama at http://127.0.0.1:11434 (OLLAMA_HOST is not set) failed: connection refused (ECONNREFUSED)';

    expect(conciseError(message)).toBe('connection to Ollama at http://127.0.0.1:11434 failed: connection refused (ECONNREFUSED)');
  });

  it('drops a blank OLLAMA_HOST note', () => {
    const message = 'Ollama at http://127.0.0.1:11434 (OLLAMA_HOST="", which means the default) is busy (HTTP 503: busy)';

    expect(conciseError(message)).toBe('Ollama at http://127.0.0.1:11434 is busy (HTTP 503: busy)');
  });

  it('keeps the first line only', () => {
    expect(conciseError('\nthe report is invalid: missing title\n{"summary": "..."}')).toBe('the report is invalid: missing title');
  });

  it('shows control characters', () => {
    expect(conciseError('failed: \u001b[31mred')).toBe('failed: ^[[31mred');
  });
});

describe('renderWatchView notices', () => {
  it('shows the daemon waiting for Ollama', () => {
    const view = snapshot({ daemon: { state: 'running', ollamaWait: { host: 'http://127.0.0.1:11434', error: 'ECONNREFUSED' } } }, { waiting: 1 });

    const lines = renderWatchView(view, options(120));

    expect(lines.slice(2, 5)).toEqual([
      '',
      'daemon waiting for Ollama at http://127.0.0.1:11434: ECONNREFUSED',
      '  start Ollama with "ollama serve", or set OLLAMA_HOST to where it listens and restart the daemon',
    ]);
  });

  it('wraps a notice on a narrow terminal', () => {
    const view = snapshot({ daemon: { state: 'running', ollamaWait: { host: 'http://127.0.0.1:11434', error: 'ECONNREFUSED' } } }, { waiting: 1 });

    const lines = renderWatchView(view, options(50));

    expect(lines.slice(3, 7)).toEqual([
      'daemon waiting for Ollama at',
      '  http://127.0.0.1:11434: ECONNREFUSED',
      '  start Ollama with "ollama serve", or set',
      '    OLLAMA_HOST to where it listens and restart t…',
    ]);
    expect(lines.every((line) => [...line].length <= 50)).toBe(true);
  });

  it('says that no daemon runs while jobs wait', () => {
    const view = snapshot({ daemon: { state: 'stopped', ollamaWait: null } }, { waiting: 2, delayed: 1 });

    const lines = renderWatchView(view, options(120));

    expect(lines).toContain('no daemon runs, so 3 jobs wait: start it with "stepper daemon start"');
    expect(lines).toContain('  the next "stepper report", or a commit in a repository with the git hook, starts it too');
  });

  it('says nothing of a stopped daemon with no job left', () => {
    const view = snapshot({ daemon: { state: 'stopped', ollamaWait: null } }, { completed: 4 });

    const lines = renderWatchView(view, options(120));

    expect(lines.join('\n')).not.toContain('daemon');
  });

  it('names a model Ollama does not have', () => {
    const view = snapshot({ held: [{ model: 'qwen3:8b', pullCommand: 'ollama pull qwen3:8b', jobs: 2 }] }, { waiting: 2 });

    const lines = renderWatchView(view, options(120));

    expect(lines).toContain('model "qwen3:8b" is not installed in Ollama, so 2 jobs wait: run ollama pull qwen3:8b');
  });
});

describe('renderWatchView jobs', () => {
  it('lists a delayed job with its next attempt and error', () => {
    const delayed = job({ state: 'delayed', runAt: NOW + 12_300, attemptsMade: 1, lastError: SERVER_ERROR });
    const view = snapshot({ delayed: [{ job: delayed, reason: SERVER_ERROR }] }, { delayed: 1 });

    const lines = renderWatchView(view, options(100));
    const at = lines.indexOf('Delayed');

    expect(lines[at + 1]).toMatch(/^ {2}9044c3e88647 {2}app {2}attempt 2 of 5 in 12\.3 s \(\d\d:\d\d:\d\d\) {2}Read the configuration file$/);
    expect(lines[at + 2]).toBe('    Ollama at http://127.0.0.1:11611 failed with HTTP 500: model runner has unexpectedly stopped,');
    expect(lines[at + 3]).toBe('    this may be due to resource limitations or an internal error, check ollama server logs for deta…');
    expect(lines[at + 4]).toBeUndefined();
  });

  it('shows a delayed job past its time as due', () => {
    const delayed = job({ state: 'delayed', runAt: NOW - 5_000, attemptsMade: 2 });
    const view = snapshot({ delayed: [{ job: delayed, reason: null }], daemon: { state: 'stopped', ollamaWait: null } }, { delayed: 1 });

    const lines = renderWatchView(view, options(100));

    expect(lines[lines.indexOf('Delayed') + 1]).toBe('  9044c3e88647  app  attempt 3 of 5 due now  Read the configuration file');
    expect(lines.at(-1)).toBe('  9044c3e88647  app  attempt 3 of 5 due now  Read the configuration file');
  });

  it('counts delayed jobs it does not list', () => {
    const delayed = job({ state: 'delayed', runAt: NOW + 1000 });
    const view = snapshot({ delayed: [{ job: delayed, reason: null }] }, { delayed: 12 });

    const lines = renderWatchView(view, options(100));

    expect(lines).toContain('  and 11 more');
  });

  it('puts a failed job error on lines of its own', () => {
    const subject = 'fix: a long subject that fills most of the line and then some more words';
    const failed = job({ state: 'failed', lastError: SERVER_ERROR, payload: { model: 'm', subject }, startedAt: NOW - 2000, finishedAt: NOW });
    const view = snapshot({ recent: [failed] }, { failed: 1 });

    const lines = renderWatchView(view, options(100));
    const at = lines.findIndex((line) => line.startsWith('  ✗ failed'));

    expect(lines[at]).toBe('  ✗ failed    9044c3e88647  app  in 2.0 s  fix: a long subject that fills most of the line and then…');
    expect(lines[at + 1]).toBe('    Ollama at http://127.0.0.1:11611 failed with HTTP 500: model runner has unexpectedly stopped,');
    expect(lines[at + 2]).toMatch(/^ {4}this may be due to resource limitations/);
    expect(lines).toHaveLength(at + 3);
  });

  it('takes subjects by job id', () => {
    const completed = job({ id: 'hook-job', state: 'completed', payload: { model: 'm' }, startedAt: NOW - 100, finishedAt: NOW });
    const view = snapshot({ recent: [completed] }, { completed: 1 });

    const lines = renderWatchView(view, options(100, { subjects: new Map([['hook-job', 'Add the hook']]) }));

    expect(lines.at(-1)).toBe('  ✓ completed 9044c3e88647  app  in 100 ms  Add the hook');
  });
});

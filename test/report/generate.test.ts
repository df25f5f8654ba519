import { describe, expect, it } from 'vitest';

import { queueActionOf } from '../../src/errors.js';
import { openRepository } from '../../src/git/repository.js';
import type { Repository } from '../../src/git/types.js';
import { createOllamaClient, type OllamaTimeouts } from '../../src/ollama/client.js';
import { ModelNotFoundError, OllamaBusyError, WatchdogTimeoutError } from '../../src/ollama/errors.js';
import { generateReport, type GenerateReportOptions, InvalidReportError, type ReportProgress } from '../../src/report/generate.js';
import { PROMPT_VERSION } from '../../src/report/prompt.js';
import { REPORT_SCHEMA_VERSION, reportJsonSchema, validateReport } from '../../src/report/schema.js';
import { VERSION } from '../../src/version.js';
import { rejectionOf, startFake } from '../fake-ollama/helpers.js';
import type { FakeOllama, FakeOllamaOptions, RecordedRequest } from '../fake-ollama/server.mjs';
import { buildRepo, FAKE_SECRETS, type RepoName } from '../helpers/repos.js';

const MODEL = 'qwen2.5-coder:7b';
const THINKING_MODEL = 'qwen3:8b';

interface Setup {
  fake: FakeOllama;
  repo: Repository;
  commits: Record<string, string>;
}

async function setUp(name: RepoName = 'modify', fakeOptions: FakeOllamaOptions = {}): Promise<Setup> {
  const state = buildRepo(name);
  const [fake, repo] = await Promise.all([startFake(fakeOptions), openRepository(state.dir)]);
  return { fake, repo, commits: state.commits };
}

function generate(setup: Setup, role: string, options: Partial<GenerateReportOptions> & { clientTimeouts?: Partial<OllamaTimeouts> } = {}) {
  const { clientTimeouts, ...rest } = options;
  const client = createOllamaClient({ env: { OLLAMA_HOST: setup.fake.url }, timeouts: clientTimeouts });
  return generateReport(setup.repo, setup.commits[role] as string, { client, model: MODEL, ...rest });
}

function chatRequests(fake: FakeOllama): RecordedRequest[] {
  return fake.requests.filter((request) => request.path === '/api/chat');
}

function userMessage(request: RecordedRequest | undefined): string {
  return (request?.body.messages as Array<{ role: string; content: string }>).find((message) => message.role === 'user')?.content ?? '';
}

function systemMessage(request: RecordedRequest | undefined): string {
  return (request?.body.messages as Array<{ role: string; content: string }>).find((message) => message.role === 'system')?.content ?? '';
}

describe('generateReport on a normal commit', () => {
  it('returns a valid report', async () => {
    const setup = await setUp();
    const { report } = await generate(setup, 'modify');

    expect(validateReport(report).ok).toBe(true);
  });

  it('fills the provenance', async () => {
    const setup = await setUp();
    const { provenance } = await generate(setup, 'modify');
    const digest = setup.fake.models.find((model) => model.name === MODEL)?.digest;
    const request = chatRequests(setup.fake)[0];

    expect(provenance.commit).toBe(setup.commits.modify);
    expect(provenance.repository).toBe(setup.repo.gitDir);
    expect(provenance.patchId.source).toBe('patch-id');
    expect(provenance.patchId.id).toMatch(/^[0-9a-f]{40}$/);
    expect(provenance.model).toBe(MODEL);
    expect(provenance.modelDigest).toBe(digest);
    expect(provenance.serverVersion).toBe(setup.fake.version);
    expect(provenance.numCtx).toBe(request?.body.options.num_ctx);
    expect(provenance.numPredict).toBe(request?.body.options.num_predict);
    expect(provenance.promptVersion).toBe(PROMPT_VERSION);
    expect(provenance.schemaVersion).toBe(REPORT_SCHEMA_VERSION);
    expect(provenance.stepperVersion).toBe(VERSION);
    expect(provenance.promptTokens).toBe(request?.promptEvalCount);
    expect(provenance.completionTokens).toBeGreaterThan(0);
    expect(provenance.durations.totalNs).toBeGreaterThan(0);
    expect(provenance.modelCalls).toBe(1);
    expect(provenance.coverage).toEqual({ 'README.md': 'full', 'src/app.ts': 'full' });
    expect(provenance.redactions).toBe(0);
    expect(provenance.truncated).toBe(false);
    expect(provenance.format).toBe('schema');
  });

  it('returns the git facts', async () => {
    const setup = await setUp();
    const { git } = await generate(setup, 'modify');

    expect(git.subject).toBe('Change the app values');
    expect(git.files).toEqual([
      { path: 'README.md', status: 'modified', additions: 0, deletions: 1, binary: false },
      { path: 'src/app.ts', status: 'modified', additions: 2, deletions: 2, binary: false },
    ]);
    expect(git.totals).toEqual({ files: 2, additions: 2, deletions: 3 });
    expect(git.conventional).toBeNull();
  });

  it('sends one chat request with the schema', async () => {
    const setup = await setUp();
    await generate(setup, 'modify');
    const requests = chatRequests(setup.fake);

    expect(requests).toHaveLength(1);
    expect(requests[0]?.body.format).toEqual(reportJsonSchema());
    expect(requests[0]?.body.options.temperature).toBe(0);
    expect(requests[0]?.body.think).toBeUndefined();
  });

  it('forwards progress with the call number', async () => {
    const setup = await setUp();
    const progress: ReportProgress[] = [];
    await generate(setup, 'modify', { onProgress: (update) => progress.push(update) });
    const generating = progress.filter((update) => update.phase === 'generating');

    expect(progress[0]?.phase).toBe('waiting');
    expect(generating.length).toBeGreaterThan(1);
    expect(generating.at(-1)?.tokens).toBeGreaterThan(1);
    expect(generating.at(-1)?.tokensPerSecond).toBeGreaterThan(0);
    expect(new Set(progress.map((update) => update.call))).toEqual(new Set([1]));
  });
});

describe('generateReport request shape', () => {
  it('num_ctx in every chat request', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'schema_violation' } });
    await generate(setup, 'modify');

    for (const request of chatRequests(setup.fake)) {
      expect(request.body.options.num_ctx).toEqual(expect.any(Number));
    }
  });

  it('same num_ctx for two commits of one model', async () => {
    const setup = await setUp();
    await generate(setup, 'root');
    await generate(setup, 'modify');
    const [first, second] = chatRequests(setup.fake);

    expect(first?.rawBody).not.toBe(second?.rawBody);
    expect(first?.body.options.num_ctx).toBe(second?.body.options.num_ctx);
  });

  it('think false for a thinking model', async () => {
    const setup = await setUp();
    await generate(setup, 'modify', { model: THINKING_MODEL });

    expect(chatRequests(setup.fake)[0]?.body.think).toBe(false);
  });

  it('format json before structured outputs', async () => {
    const reference = await setUp();
    const { report } = await generate(reference, 'modify');
    const setup = await setUp('modify', { version: '0.4.7', answer: report });
    const { provenance } = await generate(setup, 'modify');

    expect(chatRequests(setup.fake)[0]?.body.format).toBe('json');
    expect(provenance.format).toBe('json');
  });
});

describe('generateReport on answers in wrappers', () => {
  for (const kind of ['fenced_json', 'think_tags', 'prose_wrapped_json'] as const) {
    it(`${kind} without repair`, async () => {
      const setup = await setUp();
      setup.fake.enqueue({ fault: { kind } });
      const { provenance } = await generate(setup, 'modify');

      expect(provenance.modelCalls).toBe(1);
      expect(chatRequests(setup.fake)).toHaveLength(1);
    });
  }

  it('trailing comma without repair', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'malformed_json_output', variant: 'trailing_comma' } });
    const { provenance } = await generate(setup, 'modify');

    expect(provenance.modelCalls).toBe(1);
    expect(provenance.adjustments.length).toBeGreaterThan(0);
  });
});

describe('generateReport repair', () => {
  it('schema_violation repaired in one call', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'schema_violation', violation: 'missing_required' } });
    const { provenance } = await generate(setup, 'modify');
    const requests = chatRequests(setup.fake);
    const missing = reportJsonSchema().required[0] as string;

    expect(provenance.modelCalls).toBe(2);
    expect(requests).toHaveLength(2);
    expect(userMessage(requests[0])).not.toContain('Problems:');
    expect(userMessage(requests[1])).toContain('Problems:');
    expect(userMessage(requests[1])).toContain(`- ${missing}:`);
  });

  it('malformed JSON repaired in one call', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'malformed_json_output', variant: 'missing_brace' } });
    const { provenance } = await generate(setup, 'modify');
    const requests = chatRequests(setup.fake);

    expect(provenance.modelCalls).toBe(2);
    expect(requests).toHaveLength(2);
    expect(userMessage(requests[1])).toContain('the JSON object is not closed');
  });

  it('tokens summed over calls', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'schema_violation' } });
    const { provenance } = await generate(setup, 'modify');
    const [first, second] = chatRequests(setup.fake);

    expect(provenance.promptTokens).toBe((first?.promptEvalCount ?? 0) + (second?.promptEvalCount ?? 0));
  });

  it('progress numbers the repair call', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'schema_violation' } });
    const calls = new Set<number>();
    await generate(setup, 'modify', { onProgress: (update) => calls.add(update.call) });

    expect([...calls]).toEqual([1, 2]);
  });

  it('persistent invalid answer throws for retry', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'schema_violation' }, times: 'always' });
    const error = await rejectionOf(generate(setup, 'modify'));
    const requests = chatRequests(setup.fake);

    expect(error).toBeInstanceOf(InvalidReportError);
    expect(error.queueAction).toBe('retry');
    expect(queueActionOf(error).action).toBe('retry');
    expect(error.reason).toBe('schema');
    expect(error.message).toContain('3 calls');
    expect(requests).toHaveLength(3);
    expect(systemMessage(requests[1])).not.toContain('Output rules:');
    expect(systemMessage(requests[2])).toContain('Output rules:');
  });

  it('answer without JSON names the reason', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'ignore_format' }, times: 'always' });
    const error = await rejectionOf(generate(setup, 'modify'));

    expect(error).toBeInstanceOf(InvalidReportError);
    expect(error.message).toContain('(no-json)');
  });
});

describe('generateReport failures', () => {
  it('missing model names the pull command', async () => {
    const setup = await setUp();
    const error = await rejectionOf(generate(setup, 'modify', { model: 'absent-model:1b' }));

    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.pullCommand).toBe('ollama pull absent-model:1b');
    expect(error.message).toContain('ollama pull absent-model:1b');
    expect(chatRequests(setup.fake)).toHaveLength(0);
  });

  it('model removed before the chat request', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'model_missing' } });
    const error = await rejectionOf(generate(setup, 'modify'));

    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.queueAction).toBe('fail');
  });

  it('busy server releases the job', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'http_error', preset: 'busy' } });
    const error = await rejectionOf(generate(setup, 'modify'));

    expect(error).toBeInstanceOf(OllamaBusyError);
    expect(queueActionOf(error).action).toBe('release');
  });

  it('aborted signal stops before the model call', async () => {
    const setup = await setUp();
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    controller.abort(reason);
    const error = await rejectionOf(generate(setup, 'modify', { signal: controller.signal }));

    expect(error).toBe(reason);
    expect(chatRequests(setup.fake)).toHaveLength(0);
  });
});

describe('generateReport evidence safety', () => {
  it('no secret in any request body', async () => {
    const setup = await setUp('secrets');
    const { provenance } = await generate(setup, 'secrets');
    const secrets = [
      FAKE_SECRETS.awsAccessKeyId,
      'fake-password-123',
      'fake-token-0123456789abcdef',
      ...FAKE_SECRETS.privateKey.split('\n').filter((line) => line !== ''),
    ];

    expect(setup.fake.requests.length).toBeGreaterThan(0);
    for (const request of setup.fake.requests) {
      for (const secret of secrets) {
        expect(request.rawBody).not.toContain(secret);
      }
    }
    expect(provenance.redactions).toBeGreaterThan(0);
    expect(provenance.coverage['.env']).toMatch(/^excluded: /);
    expect(provenance.coverage['keys/deploy.pem']).toMatch(/^excluded: /);
  });

  it('no lockfile content in any request body', async () => {
    const setup = await setUp('lockfiles');
    const { provenance } = await generate(setup, 'lockfiles');

    for (const request of setup.fake.requests) {
      expect(request.rawBody).not.toContain('left-pad@1.3.0');
      expect(request.rawBody).not.toContain('node_modules/left-pad');
      expect(request.rawBody).not.toContain('version = \\"0.2.0\\"');
    }
    expect(provenance.coverage['package-lock.json']).toMatch(/^excluded: /);
  });
});

describe('generateReport timing and truncation', () => {
  // Scaled down: a 1.5 s first token against a 1 s client limit stands for a first token after
  // more than 300 s against a default-sized limit.
  const slowFirstToken = { kind: 'slow_headers', delayMs: 1500 } as const;

  it('slow first token fails under the client limit', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: slowFirstToken });
    const error = await rejectionOf(generate(setup, 'modify', { clientTimeouts: { firstTokenTimeoutMs: 1000 } }));

    expect(error).toBeInstanceOf(WatchdogTimeoutError);
    expect(error.watchdog).toBe('firstToken');
  });

  it('slow first token passes a larger watchdog', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: slowFirstToken });
    const { report } = await generate(setup, 'modify', {
      clientTimeouts: { firstTokenTimeoutMs: 1000 },
      timeouts: { firstTokenTimeoutMs: 5000 },
    });

    expect(validateReport(report).ok).toBe(true);
    expect(chatRequests(setup.fake)[0]?.faults).toContain('slow_headers');
  });

  it('silent truncation flagged in provenance', async () => {
    const setup = await setUp();
    setup.fake.enqueue({ fault: { kind: 'silent_truncation' } });
    const { provenance } = await generate(setup, 'modify');

    expect(provenance.truncated).toBe(true);
    expect(provenance.modelCalls).toBe(1);
  });
});

describe('generateReport model description', () => {
  it('describes a model once per client', async () => {
    const setup = await setUp('modify');
    const client = createOllamaClient({ env: { OLLAMA_HOST: setup.fake.url } });

    await generateReport(setup.repo, setup.commits.modify as string, { client, model: MODEL });
    await generateReport(setup.repo, setup.commits.root as string, { client, model: MODEL });

    expect(setup.fake.requests.filter((request) => request.path === '/api/show')).toHaveLength(1);
    expect(chatRequests(setup.fake)).toHaveLength(2);
  });
});

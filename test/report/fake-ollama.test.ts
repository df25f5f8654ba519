import { describe, expect, it } from 'vitest';

import type { Evidence } from '../../src/evidence/types.js';
import { createOllamaClient } from '../../src/ollama/client.js';
import { streamChat } from '../../src/ollama/chat.js';
import { chooseContext } from '../../src/report/context.js';
import { parseReport } from '../../src/report/parse.js';
import { buildMessages } from '../../src/report/prompt.js';
import { reportJsonSchema } from '../../src/report/schema.js';
import { startFake } from '../fake-ollama/helpers.js';
import type { FakeOllama } from '../fake-ollama/server.mjs';

const MODEL = 'qwen2.5-coder:7b';
const SHA = '1'.repeat(40);

function evidence(): Evidence {
  const person = { name: 'Alice Example', email: 'alice@example.com', date: '2024-01-02T03:04:05+01:00', timestamp: 1_704_161_045, timezone: '+0100' };
  return {
    repository: '/repo/.git',
    commit: { sha: SHA, parents: [], author: person, committer: person, subject: 'Add the parser', body: '', trailers: [] },
    identity: { id: 'f'.repeat(40), source: 'patch-id' },
    base: { kind: 'empty-tree' },
    mergePolicy: 'first-parent',
    files: [
      {
        path: 'src/parse.ts',
        status: 'added',
        oldMode: '000000',
        newMode: '100644',
        modeChanged: false,
        oldObject: '0'.repeat(40),
        newObject: 'b'.repeat(40),
        additions: 1,
        deletions: 0,
        binary: false,
        category: 'source',
        coverage: 'full',
        flags: [],
        patch: '@@ -0,0 +1 @@\n+export const parse = JSON.parse;\n',
        patchBytes: 50,
      },
    ],
    directories: null,
    redactions: 0,
    notes: [],
    tokenBudget: 1000,
    estimatedTokens: 80,
  };
}

async function ask(fake: FakeOllama) {
  const client = createOllamaClient({ env: { OLLAMA_HOST: fake.url } });
  const context = chooseContext({ contextLength: 32768, evidenceTokens: 80 });
  const result = await streamChat(client, {
    model: MODEL,
    messages: buildMessages(evidence()),
    format: reportJsonSchema(),
    options: { num_ctx: context.numCtx, num_predict: context.numPredict, temperature: 0 },
  });

  return { result, context };
}

describe('report request through the fake server', () => {
  it('schema accepted and answer parsed', async () => {
    const fake = await startFake();
    const { result } = await ask(fake);
    const request = fake.requests.at(-1);

    expect(request?.status).toBe(200);
    expect(request?.body.format).toEqual(reportJsonSchema());
    expect(parseReport(result)).toMatchObject({ ok: true, report: { title: 'example title' } });
  });

  it('sends the chosen context size', async () => {
    const fake = await startFake();
    const { context } = await ask(fake);

    expect(fake.requests.at(-1)?.numCtx).toBe(context.numCtx);
  });

  it('schema passes a server that rejects pattern', async () => {
    const fake = await startFake({ rejectSchemaPatterns: true });
    await ask(fake);

    expect(fake.requests.at(-1)?.status).toBe(200);
  });

  const faults = [
    { kind: 'fenced_json', ok: true },
    { kind: 'prose_wrapped_json', ok: true },
    { kind: 'think_tags', ok: true },
    { kind: 'whitespace_runaway', ok: true },
    { kind: 'truncated_length', reason: 'truncated' },
    { kind: 'thinking_only', reason: 'truncated' },
    { kind: 'schema_violation', reason: 'schema' },
    { kind: 'ignore_format', reason: 'no-json' },
  ] as const;

  for (const fault of faults) {
    it(`${fault.kind} fault`, async () => {
      const fake = await startFake();
      fake.enqueue({ fault: { kind: fault.kind } });
      const parsed = parseReport((await ask(fake)).result);

      if ('reason' in fault) {
        expect(parsed).toMatchObject({ ok: false, reason: fault.reason });
      } else {
        expect(parsed.ok).toBe(true);
      }
    });
  }

  for (const variant of ['trailing_comma', 'unescaped_newline'] as const) {
    it(`malformed_json_output ${variant} is repaired`, async () => {
      const fake = await startFake();
      fake.enqueue({ fault: { kind: 'malformed_json_output', variant } });
      const parsed = parseReport((await ask(fake)).result);

      expect(parsed.ok).toBe(true);
    });
  }

  it('malformed_json_output missing_brace is invalid JSON', async () => {
    const fake = await startFake();
    fake.enqueue({ fault: { kind: 'malformed_json_output', variant: 'missing_brace' } });
    const parsed = parseReport((await ask(fake)).result);

    expect(parsed).toMatchObject({ ok: false, reason: 'invalid-json' });
  });
});

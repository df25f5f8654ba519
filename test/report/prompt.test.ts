import { describe, expect, it } from 'vitest';

import { renderEvidence } from '../../src/evidence/render.js';
import { estimateTokens } from '../../src/evidence/tokens.js';
import type { Evidence, EvidenceFile } from '../../src/evidence/types.js';
import { buildMessages, describeCoverage, PROMPT_FIXED_TOKENS, PROMPT_VERSION } from '../../src/report/prompt.js';
import { REPORT_FIELD_NAMES } from '../../src/report/schema.js';
import { evidenceFile } from '../helpers/evidence.js';

const SHA = '1'.repeat(40);
const PARENT = '2'.repeat(40);

function file(path: string, overrides: Partial<EvidenceFile> = {}): EvidenceFile {
  const patch = '@@ -1 +1,2 @@\n-const token = "[REDACTED]";\n+const token = readToken();\n+export { token };\n';
  return evidenceFile(path, { patch, patchBytes: 90, ...overrides });
}

function evidence(files: EvidenceFile[] = [file('src/token.ts')], overrides: Partial<Evidence> = {}): Evidence {
  const person = { name: 'Alice Example', email: 'alice@example.com', date: '2024-01-02T03:04:05+01:00', timestamp: 1_704_161_045, timezone: '+0100' };
  return {
    repository: '/home/alice/private-project/.git',
    commit: { sha: SHA, parents: [PARENT], author: person, committer: person, subject: 'Read the token from the keychain', body: '', trailers: [] },
    identity: { id: 'f'.repeat(40), source: 'patch-id' },
    base: { kind: 'parent', parent: PARENT },
    mergePolicy: 'first-parent',
    files,
    directories: null,
    redactions: 1,
    notes: [],
    tokenBudget: 4000,
    estimatedTokens: 100,
    ...overrides,
  };
}

function userMessage(messages: ReturnType<typeof buildMessages>): string {
  return messages[1]?.content ?? '';
}

describe('buildMessages', () => {
  it('returns a system and a user message', () => {
    expect(buildMessages(evidence()).map((message) => message.role)).toEqual(['system', 'user']);
  });

  it('includes the rendered evidence verbatim', () => {
    const input = evidence();

    expect(userMessage(buildMessages(input))).toContain(renderEvidence(input));
  });

  it('names every schema field', () => {
    const user = userMessage(buildMessages(evidence()));

    for (const name of REPORT_FIELD_NAMES) {
      expect(user, name).toContain(`- ${name} (`);
    }
  });

  it('asks for English, evidence only, and JSON', () => {
    const system = buildMessages(evidence())[0]?.content ?? '';

    expect(system).toContain('Write in English');
    expect(system).toContain('Use only the evidence');
    expect(system).toContain('Do not invent motivations, tests');
    expect(system).toContain('one JSON object');
  });

  it('keeps the system prompt short', () => {
    expect(estimateTokens(buildMessages(evidence())[0]?.content ?? '')).toBeLessThan(150);
  });

  it('adds nothing from the evidence that is not rendered', () => {
    const input = evidence();
    const text = buildMessages(input, { strict: true }).map((message) => message.content).join('\n');

    expect(text).not.toContain(input.repository);
    expect(text).not.toContain(input.identity.id);
  });

  it('keeps redaction markers as they are', () => {
    const user = userMessage(buildMessages(evidence()));

    expect(user).toContain('const token = "[REDACTED]";');
  });

  it('strict variant adds output rules and a skeleton', () => {
    const [system, user] = buildMessages(evidence(), { strict: true });

    expect(system?.content).toContain('No markdown, no code fences');
    expect(user?.content).toContain('Shape: {"title": "...", "summary": "...", "changes": [...],');
  });

  it('default variant has no skeleton', () => {
    expect(userMessage(buildMessages(evidence()))).not.toContain('Shape:');
  });

  it('repair variant quotes problems and the previous answer', () => {
    const user = userMessage(
      buildMessages(evidence(), {
        repair: { previousAnswer: 'Here is the report:\n{"summary": "x"}', problems: [{ field: 'title', message: 'is missing' }] },
      }),
    );

    expect(user).toContain('Your previous answer was rejected');
    expect(user).toContain('Here is the report: {"summary": "x"}');
    expect(user).toContain('- title: is missing');
    expect(user).toContain('corrected report as one JSON object');
    expect(user).not.toContain('Write the report as JSON now.');
  });

  it('repair section stays bounded', () => {
    const problems = Array.from({ length: 50 }, (_, index) => ({ field: `changes[${index}]`, message: 'x'.repeat(1000) }));
    const base = userMessage(buildMessages(evidence()));
    const repaired = userMessage(buildMessages(evidence(), { repair: { previousAnswer: 'y'.repeat(100_000), problems } }));

    expect(estimateTokens(repaired) - estimateTokens(base)).toBeLessThan(PROMPT_FIXED_TOKENS);
    expect(repaired).toContain('- and 45 more');
  });

  it('fixed token estimate covers the largest variant', () => {
    const files = [
      file('a.ts', { coverage: 'partial' }),
      file('b.ts', { coverage: 'stats only', patch: null }),
      ...Array.from({ length: 6 }, (_, index) => file(`gen${index}`, { coverage: `excluded: ${'r'.repeat(index * 20)}`, patch: null })),
    ];
    const input = evidence(files, { directories: [{ directory: 'src', files: 8, additions: 1, deletions: 1, excluded: 6 }] });
    const problems = Array.from({ length: 20 }, () => ({ field: 'impact_and_tests', message: 'z'.repeat(500) }));
    const messages = buildMessages(input, { strict: true, repair: { previousAnswer: 'q'.repeat(10_000), problems } });
    const total = messages.reduce((sum, message) => sum + estimateTokens(message.content), 0);

    expect(total - estimateTokens(renderEvidence(input))).toBeLessThanOrEqual(PROMPT_FIXED_TOKENS);
  });

  it('has a positive integer version', () => {
    expect(Number.isSafeInteger(PROMPT_VERSION)).toBe(true);
    expect(PROMPT_VERSION).toBeGreaterThan(0);
  });
});

describe('describeCoverage', () => {
  it('says when every file is shown in full', () => {
    expect(describeCoverage(evidence())).toBe('Coverage:\n- Every changed file is shown in full.');
  });

  it('counts partial, stats-only and excluded files', () => {
    const text = describeCoverage(
      evidence([
        file('a.ts', { coverage: 'partial' }),
        file('b.ts', { coverage: 'partial' }),
        file('c.ts', { coverage: 'stats only' }),
        file('package-lock.json', { coverage: 'excluded: lockfile' }),
      ]),
    );

    expect(text).toContain('- 2 files are shown in part, marked [partial]');
    expect(text).toContain('- 1 file has only line counts, marked [stats only]');
    expect(text).toContain('- 1 file is excluded (lockfile)');
  });

  it('names each exclusion reason once', () => {
    const text = describeCoverage(
      evidence([file('a.min.js', { coverage: 'excluded: generated' }), file('b.min.js', { coverage: 'excluded: generated' })]),
    );

    expect(text).toContain('- 2 files are excluded (generated)');
  });

  it('limits the reasons it names', () => {
    const files = ['one', 'two', 'three', 'four'].map((reason) => file(reason, { coverage: `excluded: ${reason}` }));

    expect(describeCoverage(evidence(files))).toContain('- 4 files are excluded (one, two, three, and others)');
  });

  it('mentions grouping by directory', () => {
    const text = describeCoverage(evidence([file('a.ts')], { directories: [{ directory: '', files: 1, additions: 2, deletions: 1, excluded: 0 }] }));

    expect(text).toContain('grouped by directory');
  });
});

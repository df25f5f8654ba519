import { describe, expect, it } from 'vitest';

import { renderEvidence } from '../../src/evidence/render.js';
import { estimateTokens } from '../../src/evidence/tokens.js';
import type { Evidence, EvidenceFile } from '../../src/evidence/types.js';
import {
  MAX_PARTS,
  maxPartSummaryTokens,
  needsParts,
  partCacheKey,
  type PartSummary,
  readPartSummary,
  renderPartSummaries,
  splitIntoParts,
} from '../../src/report/parts.js';
import { buildMessages } from '../../src/report/prompt.js';
import { REPORT_FIELDS } from '../../src/report/schema.js';
import { evidenceFile } from '../helpers/evidence.js';

const SHA = '1'.repeat(40);
const PARENT = '2'.repeat(40);

/** Builds a file whose diff adds `lines` short lines of code. */
function fileWithDiff(path: string, lines: number, overrides: Partial<EvidenceFile> = {}): EvidenceFile {
  const body = Array.from({ length: lines }, (_, index) => `+const value${String(index).padStart(4, '0')} = compute(${index});\n`).join('');
  const patch = `@@ -0,0 +1,${lines} @@\n${body}`;
  return evidenceFile(path, { patch, patchBytes: Buffer.byteLength(patch), additions: lines, deletions: 0, ...overrides });
}

function evidence(files: EvidenceFile[], overrides: Partial<Evidence> = {}): Evidence {
  const person = { name: 'Alice Example', email: 'alice@example.com', date: '2024-01-02T03:04:05+01:00', timestamp: 1_704_161_045, timezone: '+0100' };
  return {
    repository: '/home/alice/project/.git',
    commit: {
      sha: SHA,
      parents: [PARENT],
      author: person,
      committer: person,
      subject: 'Rewrite the parser',
      body: 'A long body that parts leave out.\n'.repeat(20),
      trailers: [],
    },
    identity: { id: 'f'.repeat(40), source: 'patch-id' },
    base: { kind: 'parent', parent: PARENT },
    mergePolicy: 'first-parent',
    files,
    directories: null,
    redactions: 0,
    notes: ['a note about merges'],
    tokenBudget: 100_000,
    estimatedTokens: 100,
    ...overrides,
  };
}

const SUMMARY: PartSummary = {
  files: ['src/a.ts', 'src/b.ts', 'src/c.ts', 'src/d.ts'],
  title: 'Rework the lexer',
  summary: 'The lexer reads tokens lazily.',
  changes: ['Add a token cache', 'Drop the eager pass'],
};

describe('needsParts', () => {
  it('whole evidence needs no parts', () => {
    expect(needsParts(evidence([fileWithDiff('src/a.ts', 10)]))).toBe(false);
  });

  it('a partial text diff needs parts', () => {
    expect(needsParts(evidence([fileWithDiff('src/a.ts', 10, { coverage: 'partial' })]))).toBe(true);
  });

  it('a stats-only text diff needs parts', () => {
    expect(needsParts(evidence([fileWithDiff('src/a.ts', 10, { coverage: 'stats only', patch: null })]))).toBe(true);
  });

  it('a stats-only binary file needs no parts', () => {
    const binary = evidenceFile('logo.png', { binary: true, coverage: 'stats only', additions: null, deletions: null });

    expect(needsParts(evidence([binary]))).toBe(false);
  });

  it('an excluded file needs no parts', () => {
    const lock = fileWithDiff('package-lock.json', 10, { coverage: 'excluded: lock file', patch: null });

    expect(needsParts(evidence([lock]))).toBe(false);
  });

  it('directory groups need parts', () => {
    expect(needsParts(evidence([fileWithDiff('src/a.ts', 1)], { directories: [] }))).toBe(true);
  });
});

describe('splitIntoParts', () => {
  const files = Array.from({ length: 12 }, (_, index) => fileWithDiff(`src/file${String(index).padStart(2, '0')}.ts`, 60));
  const budget = 2000;

  it('every part fits the budget', () => {
    const parts = splitIntoParts(evidence(files), budget);

    for (const part of parts) {
      expect(estimateTokens(renderEvidence(part))).toBeLessThanOrEqual(budget);
    }
  });

  it('parts keep every file once, in path order', () => {
    const parts = splitIntoParts(evidence([...files].reverse()), budget);

    expect(parts.flatMap((part) => part.files.map((file) => file.path))).toEqual(files.map((file) => file.path));
  });

  it('splits into more than one part', () => {
    expect(splitIntoParts(evidence(files), budget).length).toBeGreaterThan(1);
  });

  it('estimatedTokens covers the rendered part', () => {
    const [part] = splitIntoParts(evidence(files), budget);

    expect(part?.estimatedTokens).toBeGreaterThanOrEqual(estimateTokens(renderEvidence(part as Evidence)));
  });

  it('parts leave the message body and notes out', () => {
    const [part] = splitIntoParts(evidence(files), budget);

    expect(renderEvidence(part as Evidence)).not.toContain('A long body');
    expect(part?.notes).toEqual([]);
  });

  it('caps the number of parts', () => {
    expect(splitIntoParts(evidence(files), budget, 2)).toHaveLength(2);
  });

  it('default cap is MAX_PARTS', () => {
    const many = Array.from({ length: 40 }, (_, index) => fileWithDiff(`src/many${String(index).padStart(2, '0')}.ts`, 60));

    expect(splitIntoParts(evidence(many), budget)).toHaveLength(MAX_PARTS);
  });

  it('files without a shown diff stay out of parts', () => {
    const statsOnly = fileWithDiff('src/zz.ts', 10, { coverage: 'stats only', patch: null });
    const binary = evidenceFile('logo.png', { binary: true, coverage: 'stats only' });
    const parts = splitIntoParts(evidence([...files, statsOnly, binary]), budget);
    const paths = parts.flatMap((part) => part.files.map((file) => file.path));

    expect(paths).not.toContain('src/zz.ts');
    expect(paths).not.toContain('logo.png');
  });

  it('oversized file is cut and partial', () => {
    const huge = fileWithDiff('src/huge.ts', 2000);
    const [part] = splitIntoParts(evidence([huge]), budget);
    const shown = part?.files[0];

    expect(shown?.coverage).toBe('partial');
    expect(shown?.patch?.endsWith('\n')).toBe(true);
    expect(huge.patch?.startsWith(shown?.patch as string)).toBe(true);
    expect(estimateTokens(renderEvidence(part as Evidence))).toBeLessThanOrEqual(budget);
  });

  it('the input evidence is left unchanged', () => {
    const huge = fileWithDiff('src/huge.ts', 2000);
    const input = evidence([huge]);
    splitIntoParts(input, budget);

    expect(input.files[0]?.coverage).toBe('full');
    expect(input.commit.body).toContain('A long body');
  });
});

describe('partCacheKey', () => {
  const part = evidence([fileWithDiff('src/a.ts', 5)]);

  it('is stable', () => {
    expect(partCacheKey('m:1', 1, part)).toBe(partCacheKey('m:1', 1, evidence([fileWithDiff('src/a.ts', 5)])));
  });

  it('changes with the model', () => {
    expect(partCacheKey('m:1', 1, part)).not.toBe(partCacheKey('m:2', 1, part));
  });

  it('changes with the prompt version', () => {
    expect(partCacheKey('m:1', 1, part)).not.toBe(partCacheKey('m:1', 2, part));
  });

  it('changes with the diff', () => {
    expect(partCacheKey('m:1', 1, part)).not.toBe(partCacheKey('m:1', 1, evidence([fileWithDiff('src/a.ts', 6)])));
  });
});

describe('readPartSummary', () => {
  it('reads a stored summary back', () => {
    expect(readPartSummary(JSON.parse(JSON.stringify(SUMMARY)))).toEqual(SUMMARY);
  });

  it('rejects a summary without files', () => {
    expect(readPartSummary({ ...SUMMARY, files: undefined })).toBeUndefined();
  });

  it('rejects a change that is not a string', () => {
    expect(readPartSummary({ ...SUMMARY, changes: [1] })).toBeUndefined();
  });

  it('rejects null', () => {
    expect(readPartSummary(null)).toBeUndefined();
  });
});

describe('renderPartSummaries', () => {
  const text = renderPartSummaries([SUMMARY, { ...SUMMARY, files: ['docs/a.md'], title: 'Document the lexer' }]);

  it('numbers the parts', () => {
    expect(text).toContain('Part 1 (4 files: src/a.ts, src/b.ts, src/c.ts and 1 more):');
    expect(text).toContain('Part 2 (1 files: docs/a.md):');
  });

  it('lists title, summary and changes', () => {
    expect(text).toContain('Title: Rework the lexer');
    expect(text).toContain('Summary: The lexer reads tokens lazily.');
    expect(text).toContain('- Add a token cache');
  });

  it('stays within maxPartSummaryTokens at the field limits', () => {
    const longest: PartSummary = {
      files: ['x'.repeat(200), 'y'.repeat(200), 'z'.repeat(200), 'w'],
      title: 't'.repeat(REPORT_FIELDS.title.maxLength),
      summary: 's'.repeat(REPORT_FIELDS.summary.maxLength),
      changes: Array.from({ length: REPORT_FIELDS.changes.maxItems }, () => 'c'.repeat(REPORT_FIELDS.changes.maxItemLength)),
    };
    const all = Array.from({ length: MAX_PARTS }, () => longest);

    expect(estimateTokens(renderPartSummaries(all))).toBeLessThanOrEqual(maxPartSummaryTokens(MAX_PARTS));
  });
});

describe('buildMessages with parts', () => {
  it('a part request names its position', () => {
    const [, user] = buildMessages(evidence([fileWithDiff('src/a.ts', 3)]), { part: { index: 2, count: 5 } });

    expect(user?.content).toContain('part 2 of 5');
  });

  it('the final request carries the summaries', () => {
    const [, user] = buildMessages(evidence([fileWithDiff('src/a.ts', 3)]), { partSummaries: [SUMMARY] });

    expect(user?.content).toContain('Title: Rework the lexer');
  });

  it('an ordinary request mentions no parts', () => {
    const [, user] = buildMessages(evidence([fileWithDiff('src/a.ts', 3)]));

    expect(user?.content).not.toMatch(/part \d+ of|Summaries of the commit's parts/);
  });
});

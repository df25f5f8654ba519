import { describe, expect, it } from 'vitest';

import { StepperError } from '../../src/errors.js';
import { parseDiffTreeOutput } from '../../src/git/diff-tree-output.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const ZERO = '0'.repeat(40);

/** Joins fields with NUL and ends the output with one, as `git diff-tree -z` does. */
function output(...fields: Array<string | Buffer>): Buffer {
  return Buffer.concat(fields.flatMap((field) => [Buffer.isBuffer(field) ? field : Buffer.from(field, 'utf8'), Buffer.from([0])]));
}

function text(paths: Buffer[]): string[] {
  return paths.map((entry) => entry.toString('utf8'));
}

describe('parseDiffTreeOutput', () => {
  it('reads a modification and its counts', () => {
    const parsed = parseDiffTreeOutput(output(`:100644 100644 ${A} ${B} M`, 'src/app.ts', '3\t1\tsrc/app.ts'));

    expect(parsed.raw).toHaveLength(1);
    expect(parsed.raw[0]).toMatchObject({ oldModes: ['100644'], newMode: '100644', oldObjects: [A], newObject: B, status: 'M' });
    expect(text(parsed.raw[0]?.paths ?? [])).toEqual(['src/app.ts']);
    expect(parsed.numstat[0]).toMatchObject({ additions: 3, deletions: 1 });
  });

  it('reads a rename with its score and two paths', () => {
    const parsed = parseDiffTreeOutput(output(`:100644 100644 ${A} ${B} R086`, 'old name', 'new name', '2\t2\t', 'old name', 'new name'));

    expect(parsed.raw[0]).toMatchObject({ status: 'R', score: 86 });
    expect(text(parsed.raw[0]?.paths ?? [])).toEqual(['old name', 'new name']);
    expect(text(parsed.numstat[0]?.paths ?? [])).toEqual(['old name', 'new name']);
  });

  it('binary counts are null', () => {
    const parsed = parseDiffTreeOutput(output(`:000000 100644 ${ZERO} ${A} A`, 'image.png', '-\t-\timage.png'));

    expect(parsed.numstat[0]).toMatchObject({ additions: null, deletions: null });
  });

  it('path that looks like a header is a path', () => {
    const header = `:100644 100644 ${A} ${B} M`;
    const parsed = parseDiffTreeOutput(output(header, header, `1\t0\t${header}`));

    expect(parsed.raw).toHaveLength(1);
    expect(text(parsed.raw[0]?.paths ?? [])).toEqual([header]);
  });

  it('path with tabs and newlines is kept', () => {
    const name = 'a\tb\nc.txt';
    const parsed = parseDiffTreeOutput(output(`:100644 100644 ${A} ${B} M`, name, `1\t0\t${name}`));

    expect(text(parsed.raw[0]?.paths ?? [])).toEqual([name]);
    expect(text(parsed.numstat[0]?.paths ?? [])).toEqual([name]);
  });

  it('non-UTF-8 bytes are kept', () => {
    const name = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
    const parsed = parseDiffTreeOutput(output(`:100644 100644 ${A} ${B} M`, name));

    expect(parsed.raw[0]?.paths[0]?.equals(name)).toBe(true);
  });

  it('reads a combined diff with numstat first', () => {
    const parsed = parseDiffTreeOutput(
      output('1\t1\tz.txt', `::100644 100644 100644 ${A} ${B} ${C} MM`, 'z.txt', 'z.txt', 'z.txt'),
      { combinedAllPaths: true },
    );

    expect(parsed.raw[0]).toMatchObject({ oldModes: ['100644', '100644'], oldObjects: [A, B], newObject: C, status: 'MM' });
    expect(parsed.raw[0]?.score).toBeUndefined();
    expect(parsed.raw[0]?.paths).toHaveLength(3);
    expect(parsed.numstat).toHaveLength(1);
  });

  it('empty output has no records', () => {
    expect(parseDiffTreeOutput(Buffer.alloc(0))).toEqual({ raw: [], numstat: [] });
  });

  it('truncated record is rejected', () => {
    expect(() => parseDiffTreeOutput(output(`:100644 100644 ${A} ${B} R100`, 'only-one-path'))).toThrow(StepperError);
  });

  it('malformed raw header is rejected', () => {
    expect(() => parseDiffTreeOutput(output(':100644 M', 'x'))).toThrow(/cannot parse git diff-tree output/);
  });

  it('malformed count is rejected', () => {
    expect(() => parseDiffTreeOutput(output('x\t1\tfile'))).toThrow(/unexpected line count/);
  });
});

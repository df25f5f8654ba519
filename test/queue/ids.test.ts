import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { newJobId } from '../../src/queue/ids.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const DIST_IDS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'queue', 'ids.js');

afterEach(() => {
  vi.restoreAllMocks();
  vi.resetModules();
});

describe('newJobId', () => {
  it('makes version 4 UUIDs across many blocks', () => {
    const ids = Array.from({ length: 1000 }, () => newJobId());

    for (const id of ids) {
      expect(id).toMatch(UUID_V4);
    }
  });

  it('repeats no id in 20,000', () => {
    const ids = new Set(Array.from({ length: 20_000 }, () => newJobId()));

    expect(ids.size).toBe(20_000);
  });

  it('varies every random hex digit', () => {
    const ids = Array.from({ length: 2000 }, () => newJobId().replaceAll('-', ''));

    // Digit 12 is the version. Digit 16 starts with the two variant bits, so it takes 4 values.
    const fixedDigits = new Map([
      [12, 1],
      [16, 4],
    ]);
    for (let position = 0; position < 32; position++) {
      const digits = new Set(ids.map((id) => id[position]));
      expect(digits.size, `hex digit ${position}`).toBe(fixedDigits.get(position) ?? 16);
    }
  });

  it('gives two processes different ids', () => {
    const script = `import { newJobId } from ${JSON.stringify(DIST_IDS)}; console.log(Array.from({ length: 100 }, newJobId).join('\\n'));`;
    const run = () => execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim().split('\n');

    const first = run();
    const second = run();

    expect(first).toHaveLength(100);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
  });

  it('falls back to node:crypto without /dev/urandom', async () => {
    const open = vi.spyOn(fs, 'openSync').mockImplementation(() => {
      throw Object.assign(new Error("ENOENT: no such file or directory, open '/dev/urandom'"), { code: 'ENOENT' });
    });
    const uuid = vi.spyOn(crypto, 'randomUUID');
    const { newJobId: isolated } = await import('../../src/queue/ids.js');

    const ids = [isolated(), isolated()];

    expect(ids[0]).toMatch(UUID_V4);
    expect(ids[1]).not.toBe(ids[0]);
    expect(uuid).toHaveBeenCalledTimes(2);
    // The failed open is not retried for every id.
    expect(open).toHaveBeenCalledTimes(1);
  });
});

// The one place that loads better-sqlite3. Every command that reads the queue loads it,
// `stepper status` and `stepper report` included, so loading it costs as little as it can.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import type BetterSqlite3 from 'better-sqlite3';

export type SqliteDatabase = BetterSqlite3.Database;
export type SqliteOptions = BetterSqlite3.Options;
export type SqliteStatement = BetterSqlite3.Statement;

// better-sqlite3 is CommonJS. An ESM import of it makes Node parse its files for their named
// exports before running them, about 4 ms per command in CPU profiles on a 2-core VM. require skips that.
const require = createRequire(import.meta.url);
const BetterSqlite: typeof BetterSqlite3 = require('better-sqlite3');

// Without a path, better-sqlite3 calls the `bindings` package, which reads a stack trace
// and tries a dozen paths. An addon at the usual path is named directly, and `bindings`
// still finds one anywhere else.
let addonPath: string | null | undefined;

function findAddon(): string | undefined {
  if (addonPath === undefined) {
    const candidate = path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
    addonPath = fs.existsSync(candidate) ? candidate : null;
  }

  return addonPath ?? undefined;
}

/** Opens a better-sqlite3 connection. The caller translates its errors, which are better-sqlite3's own. */
export function openSqlite(file: string, options: SqliteOptions = {}): SqliteDatabase {
  const nativeBinding = findAddon();
  return new BetterSqlite(file, nativeBinding === undefined ? options : { ...options, nativeBinding });
}

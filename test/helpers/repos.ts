import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll } from 'vitest';

import type { BuildOptions, BuiltRepo, Recipe } from './repo-builder.js';
import { CONTENT_RECIPES } from './repo-recipes-content.js';
import { HISTORY_RECIPES } from './repo-recipes-history.js';

export { ALICE, BOB, type BuildOptions, type BuiltRepo, CID, DEFAULT_IDENTITY, numberedLines } from './repo-builder.js';
export { FAKE_SECRETS, LATIN1_FILE_NAME, ODD_FILE_NAMES, ODD_RENAME, SHELL_MARKERS, SHELL_MESSAGE } from './repo-recipes-content.js';

/**
 * Named repository states, built by script with real git. Commit ids are the same on
 * every run: names, emails and dates are fixed, and user and system configuration is
 * ignored. See the recipe files for what each state contains and which commits it names.
 */
export type RepoName = keyof typeof CONTENT_RECIPES | keyof typeof HISTORY_RECIPES;

const RECIPES: Record<RepoName, Recipe> = { ...CONTENT_RECIPES, ...HISTORY_RECIPES };

let root: string | undefined;
const cache = new Map<string, BuiltRepo>();

// Vitest loads this module once per test file, so each file builds a state at most once.
afterAll(() => {
  if (root) {
    fs.rmSync(root, { recursive: true, force: true });
  }
  root = undefined;
  cache.clear();
});

/** Builds the named repository state, or returns the copy this test file already built. */
export function buildRepo(name: RepoName, options: BuildOptions = {}): BuiltRepo {
  const key = `${name}:${JSON.stringify(options)}`;
  const cached = cache.get(key);
  if (cached) {
    return cached;
  }

  // realpath, because tests compare these folders with the real paths git prints.
  root ??= fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'stepper-repos-')));
  const built = RECIPES[name](path.join(root, `${name}-${cache.size}`), options);
  cache.set(key, built);
  return built;
}

/** Returns every state name, for tests that check the whole library. */
export function repoNames(): RepoName[] {
  return Object.keys(RECIPES) as RepoName[];
}

import path from 'node:path';

import { type CheckResult, type DoctorOptions, runDiagnostics } from '../../src/index.js';
import { makeTempDir } from '../helpers/temp.js';
export { closedPort } from '../helpers/ports.js';

/**
 * Environment of one test: a data directory of its own, Ollama at `ollamaUrl`, a home folder
 * without git configuration, and no STEPPER_, OLLAMA_ or GIT_ variables from the caller.
 */
export function doctorEnvironment(ollamaUrl: string, overrides: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    const upper = name.toUpperCase();
    if (!['GIT_', 'STEPPER_', 'XDG_', 'OLLAMA_'].some((prefix) => upper.startsWith(prefix))) {
      env[name] = value;
    }
  }

  const home = makeTempDir('stepper-doctor-home-');
  return {
    ...env,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    STEPPER_HOME: path.join(makeTempDir('stepper-doctor-data-'), 'stepper'),
    OLLAMA_HOST: ollamaUrl,
    ...overrides,
  };
}

/** Runs every check from a folder outside any repository unless `cwd` is given, and returns the results by id. */
export async function diagnose(env: NodeJS.ProcessEnv, options: Omit<DoctorOptions, 'env'> = {}): Promise<Record<string, CheckResult>> {
  const results = await runDiagnostics({ cwd: options.cwd ?? outsideRepository(), timeoutMs: 10_000, ...options, env });
  return Object.fromEntries(results.map((result) => [result.id, result]));
}

/** Creates a temporary folder, which is outside any git repository because os.tmpdir() is not in one. */
function outsideRepository(): string {
  return makeTempDir('stepper-doctor-cwd-');
}

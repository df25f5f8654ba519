// The check of a daemon's environment, apart from start.ts so that `stepper report` can run
// it without loading the lock and state modules, which it needs only to start a daemon.
import { readTimeoutsFromEnv } from '../ollama/timeouts.js';
import { resolveOllamaHost } from '../ollama/host.js';
import { resolveDaemonSettings } from './config.js';

/**
 * Checks the variables a daemon started with `env` would read: OLLAMA_HOST, the
 * STEPPER_OLLAMA_*_MS time limits and the STEPPER_DAEMON_* settings. An invalid one throws
 * InvalidOptionError (or InvalidOllamaHostError) here, where the caller can show it, because
 * a daemon started with it would only log the error.
 */
export function checkDaemonEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  resolveOllamaHost(env);
  readTimeoutsFromEnv(env);
  resolveDaemonSettings({}, env);
}

// The background daemon: single-instance lock, auto-start, status and shutdown.
export {
  CRASH_LOG_FILE,
  DAEMON_ENV_VARIABLES,
  DEFAULT_DAEMON_SETTINGS,
  type DaemonSettings,
  LOCK_FILE,
  LOG_FILE,
  resolveDaemonSettings,
} from './config.js';
export { type DaemonExit, type DaemonExitReason, type ProcessorFactory, runDaemon, type RunDaemonOptions } from './daemon.js';
export { probeDaemonLock, type LockProbe } from './lock.js';
export { type DaemonRow, type DaemonState, type HeldModel, heldModelsOf, type OllamaState } from './state.js';
export {
  DAEMON_ENTRY,
  type DaemonStatus,
  ensureDaemon,
  type EnsureDaemonOptions,
  type EnsureDaemonResult,
  readDaemonStatus,
  scrubEnvironment,
  stopDaemon,
  type StopDaemonResult,
  waitForDaemon,
} from './start.js';

export { DEFAULT_CHECK_TIMEOUT_MS, runDiagnostics } from './run.js';
export { FREE_SPACE_FAIL_BYTES, FREE_SPACE_WARN_BYTES } from './data-dir.js';
export { MIN_GIT_VERSION } from './git.js';
export type { CheckResult, CheckStatus, DoctorOptions, HostLookup, OllamaProbe } from './types.js';

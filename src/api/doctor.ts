// `stepper doctor` as a library: every check of the installation, as typed results.
export {
  type CheckResult,
  type CheckStatus,
  DEFAULT_CHECK_TIMEOUT_MS,
  type DoctorOptions,
  FREE_SPACE_FAIL_BYTES,
  FREE_SPACE_WARN_BYTES,
  type HostLookup,
  MIN_GIT_VERSION,
  type OllamaProbe,
  runDiagnostics,
} from '../doctor/index.js';

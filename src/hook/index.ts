// The git hook: install, uninstall and inspect stepper's post-commit and post-rewrite blocks,
// and turn the hints they leave into report jobs.
export { type Hint, type HintOutcome, ingestHookHints, type IngestHintsOptions } from './hints.js';
export { findHooksDir, hookStatus, installHooks, uninstallHooks } from './install.js';
export type * from './install.js';

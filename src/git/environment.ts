/**
 * Variables git reads to start an editor, a pager or a password prompt. Stepper's git
 * commands only read and never interact, so these are dropped.
 */
const INTERACTIVE_PROGRAM_VARIABLES = new Set(['EDITOR', 'VISUAL', 'PAGER', 'SSH_ASKPASS']);

/**
 * Values stepper sets for every git command. Optional locks are off, so a read never
 * competes with the user's own `git` for `index.lock`. Credential prompts and the pager
 * are off. The C locale keeps git's messages in the English the parsers expect.
 */
export const GIT_ENVIRONMENT_OVERRIDES = {
  GIT_OPTIONAL_LOCKS: '0',
  GIT_TERMINAL_PROMPT: '0',
  GIT_PAGER: 'cat',
  LC_ALL: 'C',
} as const;

/**
 * Returns a copy of `env` for running git: every variable whose name starts with `GIT_`
 * (in any case) is removed, as are EDITOR, VISUAL, PAGER and SSH_ASKPASS, and then
 * {@link GIT_ENVIRONMENT_OVERRIDES} are set. Other variables such as PATH and HOME stay.
 *
 * Hooks run with GIT_DIR, GIT_INDEX_FILE, GIT_WORK_TREE, GIT_PREFIX, GIT_AUTHOR_* and
 * the GIT_CONFIG_* variables exported. A linked worktree's hook exports an absolute
 * GIT_DIR, so a daemon started from it would otherwise read that repository for every
 * later job, whatever folder the job names.
 */
export function gitEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};

  for (const [name, value] of Object.entries(env)) {
    const upper = name.toUpperCase();
    if (upper.startsWith('GIT_') || INTERACTIVE_PROGRAM_VARIABLES.has(upper)) {
      continue;
    }
    clean[name] = value;
  }

  return { ...clean, ...GIT_ENVIRONMENT_OVERRIDES };
}

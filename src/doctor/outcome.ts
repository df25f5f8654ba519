import type { CheckOutcome, CheckStatus } from './types.js';

const SEVERITY: Record<CheckStatus, number> = { skip: 0, pass: 1, warn: 2, fail: 3 };

/** Returns the more severe of two statuses, in the order skip, pass, warn, fail. */
export function worse(left: CheckStatus, right: CheckStatus): CheckStatus {
  return SEVERITY[right] > SEVERITY[left] ? right : left;
}

/**
 * Combines the problems one check found into one outcome: the worst status, the details
 * joined with "; " and the fixes joined with "; then ". Returns `passed` when there are none.
 */
export function combine(problems: readonly CheckOutcome[], passed: CheckOutcome): CheckOutcome {
  if (problems.length === 0) {
    return passed;
  }

  const status = problems.reduce<CheckStatus>((current, problem) => worse(current, problem.status), 'pass');
  const fixes = problems.map((problem) => problem.fix).filter((fix): fix is string => fix !== undefined);
  const outcome: CheckOutcome = { status, detail: problems.map((problem) => problem.detail).join('; ') };
  if (fixes.length > 0) {
    outcome.fix = fixes.join('; then ');
  }

  return outcome;
}

/** Returns the message of an error, or its text when it is not an Error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

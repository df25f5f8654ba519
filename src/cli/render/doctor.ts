import type { CheckResult, CheckStatus } from '../../doctor/types.js';
import type { Paint } from './paint.js';
import { oneLine } from './text.js';

/** Width of the status mark column: the longest mark, `pass`, `warn`, `fail` or `skip`, and two spaces. */
const MARK_WIDTH = 6;

/**
 * Renders the results of `stepper doctor`: one line per check with its status, title and
 * detail, the fix indented below a warning or failure, and a count of each status at the end.
 */
export function renderDoctor(results: readonly CheckResult[], paint: Paint): string {
  const titleWidth = Math.max(...results.map((result) => result.title.length));
  const lines: string[] = [];

  for (const result of results) {
    const mark = colorOf(result.status, paint)(result.status.padEnd(MARK_WIDTH));
    lines.push(`${mark}${result.title.padEnd(titleWidth + 2)}${oneLine(result.detail)}`);
    if (result.fix !== undefined && (result.status === 'warn' || result.status === 'fail')) {
      lines.push(`${' '.repeat(MARK_WIDTH + titleWidth + 2)}${paint.dim('fix:')} ${oneLine(result.fix)}`);
    }
  }

  lines.push('', summarize(results, paint));
  return `${lines.join('\n')}\n`;
}

/** Counts the results per status, as `1 failed, 2 warnings, 6 passed, 1 skipped`. */
function summarize(results: readonly CheckResult[], paint: Paint): string {
  const count = (status: CheckStatus) => results.filter((result) => result.status === status).length;
  const parts = [
    [count('fail'), 'failed', paint.red],
    [count('warn'), count('warn') === 1 ? 'warning' : 'warnings', paint.yellow],
    [count('pass'), 'passed', paint.green],
    [count('skip'), 'skipped', paint.gray],
  ] as const;

  return parts
    .filter(([value]) => value > 0)
    .map(([value, label, color]) => color(`${value} ${label}`))
    .join(', ');
}

function colorOf(status: CheckStatus, paint: Paint): (text: string) => string {
  switch (status) {
    case 'pass':
      return paint.green;
    case 'warn':
      return paint.yellow;
    case 'fail':
      return paint.red;
    default:
      return paint.gray;
  }
}

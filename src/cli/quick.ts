// `stepper report` and `stepper status` without commander, which takes several milliseconds
// to import. Only the forms that the shared specs describe run here. Everything else goes to
// main() and commander, so help and usage errors have one source.
import type { ReportCommandOptions } from './commands/report.js';
import type { StatusCommandOptions } from './commands/status.js';
import { reportCommandError } from './exit.js';
import { parseQuick, QUICK_COMMANDS } from './specs.js';

/**
 * Runs `argv` when it is a plain `report` or `status` command line, and returns its exit
 * status. Returns undefined, having done nothing, when commander has to parse it.
 */
export async function runQuick(argv: readonly string[]): Promise<number | undefined> {
  const spec = QUICK_COMMANDS.get(argv[2] ?? '');
  const parsed = spec === undefined ? undefined : parseQuick(spec, argv.slice(3));
  if (spec === undefined || parsed === undefined) {
    return undefined;
  }

  try {
    if (spec.name === 'report') {
      const { runReport } = await import('./commands/report.js');
      return await runReport(parsed.operands, parsed.options as ReportCommandOptions);
    }

    const { runStatus } = await import('./commands/status.js');
    await runStatus(parsed.operands[0], parsed.options as StatusCommandOptions);
    return 0;
  } catch (error) {
    return reportCommandError(error);
  }
}

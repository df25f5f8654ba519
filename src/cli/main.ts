import { Command, CommanderError, InvalidArgumentError } from 'commander';

import { StepperError, type StepperErrorCode } from '../errors.js';
import { VERSION } from '../version.js';

/** Exit status for usage errors (unknown options, bad arguments), as git and commander use it. */
export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 1;

/** Errors in what the user typed, which exit with EXIT_USAGE like commander's own. */
const USAGE_ERROR_CODES = new Set<StepperErrorCode>(['INVALID_OPTION', 'UNKNOWN_REVISION', 'AMBIGUOUS_REVISION', 'NOT_A_REPOSITORY']);

/** Returns a commander parser that accepts a non-negative integer for `option`. */
function parseInteger(option: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${option} expects a whole number below 2^53, got ${JSON.stringify(value)}`);
    }

    return Number(value);
  };
}

/**
 * Builds the command tree. Commands import their modules inside their actions, so
 * `stepper --help` and the git hook load only what they use.
 */
export function buildProgram(): Command {
  const program = new Command('stepper')
    .description('Keep an AI-written diary of your git commits with a local Ollama model.')
    .version(VERSION, '-V, --version', 'print the stepper version')
    .helpOption('-h, --help', 'show help for a command')
    .showHelpAfterError('(run `stepper --help` for usage)')
    .configureOutput({
      outputError: (text, write) => write(`stepper: ${text.replace(/^error: /, '')}`),
    })
    .exitOverride();

  program
    .command('evidence')
    .description('print what the model is shown about a commit: message, files with coverage marks, and the diffs that fit')
    .argument('[revision]', 'the commit, as git rev-parse accepts it', 'HEAD')
    .option('--budget <tokens>', 'token budget of the evidence', parseInteger('--budget'), 8192)
    .option('--merge <policy>', 'how a merge commit is shown: first-parent, skip or combined', 'first-parent')
    .option('--json', 'print the evidence as JSON')
    .action(async (revision: string, options: { budget: number; merge: string; json?: boolean }) => {
      const { runEvidence } = await import('./commands/evidence.js');
      await runEvidence(revision, options);
    });

  // Without a matching command, a word is an unknown command, which commander alone
  // would report as "too many arguments".
  program.argument('[command]').action((command: string | undefined) => {
    if (command !== undefined) {
      program.error(`unknown command '${command}'`, { exitCode: EXIT_USAGE, code: 'stepper.unknownCommand' });
    }

    program.help();
  });

  return program;
}

/**
 * Runs the command line and returns the exit status: 0 on success, 1 for a runtime
 * failure, 2 for a usage error. This is the only place that turns errors into output.
 */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const program = buildProgram();

  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has printed help, the version or its own error message already.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }

    process.stderr.write(`stepper: ${describe(error)}\n`);
    return error instanceof StepperError && USAGE_ERROR_CODES.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
  }
}

function describe(error: unknown): string {
  if (error instanceof StepperError) {
    return error.message;
  }

  // An error stepper did not expect is a bug: show the stack so it can be reported.
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

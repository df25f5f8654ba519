import { Command, CommanderError } from 'commander';

import { StepperError } from '../errors.js';
import { VERSION } from '../version.js';

/** Exit status for usage errors (unknown options, bad arguments), as git and commander use it. */
export const EXIT_USAGE = 2;
export const EXIT_FAILURE = 1;

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
    return EXIT_FAILURE;
  }
}

function describe(error: unknown): string {
  if (error instanceof StepperError) {
    return error.message;
  }

  // An error stepper did not expect is a bug: show the stack so it can be reported.
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

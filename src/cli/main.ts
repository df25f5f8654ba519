import { Command, CommanderError, Option } from 'commander';

import { VERSION } from '../version.js';
import type { ReportCommandOptions } from './commands/report.js';
import { CommandExit, EXIT_USAGE, reportCommandError } from './exit.js';
import { parseInteger, shortenArgumentError } from './options.js';
import { type CommandSpec, REPORT_SPEC, STATUS_SPEC } from './specs.js';

export { EXIT_FAILURE, EXIT_USAGE } from './exit.js';

/**
 * Builds the command tree. Commands import their modules inside their actions, so
 * `stepper --help` and the git hook load only what they use.
 */
export function buildProgram(): Command {
  const program = new Command('stepper')
    .description('Keep an AI-written diary of your git commits with a local Ollama model.')
    .version(VERSION, '-V, --version', 'print the stepper version')
    .helpOption('-h, --help', 'show help for a command')
    .usage('[options] [command]')
    .configureOutput({
      // One line, like every other stepper error, with the way to the usage of the command at its end.
      outputError: (text, write) =>
        write(`stepper: ${shortenArgumentError(text.replace(/^error: /, '').trimEnd())} (run \`${commandPath(program, process.argv.slice(2))} --help\` for usage)\n`),
    })
    .exitOverride();

  // Commands are listed in this order in `stepper --help`: the daily ones first.
  addReportCommands(program);
  addStatusCommand(program);
  addReadingCommands(program);
  addEvidenceCommand(program);
  addHookCommands(program);
  addDaemonCommands(program);
  addMaintenanceCommands(program);
  addConfigCommands(program);
  addDoctorCommand(program);

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

/** Returns the command that `args` names, such as `stepper hook status`, from its leading words. */
export function commandPath(program: Command, args: readonly string[]): string {
  const names = [program.name()];
  let command = program;
  for (const arg of args) {
    const next = command.commands.find((candidate) => candidate.name() === arg || candidate.aliases().includes(arg));
    if (next === undefined) {
      break;
    }
    names.push(next.name());
    command = next;
  }

  return names.join(' ');
}

function addReportCommands(program: Command): void {
  addSpecCommand(program, REPORT_SPEC).action(async (revisions: string[], options: ReportCommandOptions) => {
    const { runReport } = await import('./commands/report.js');
    const status = await runReport(revisions, options);
    if (status !== 0) {
      throw new CommandExit(status);
    }
  });
}

function addStatusCommand(program: Command): void {
  addSpecCommand(program, STATUS_SPEC).action(async (target: string | undefined, options: { json?: boolean; all?: boolean; limit: number }) => {
    const { runStatus } = await import('./commands/status.js');
    await runStatus(target, options);
  });
}

/** Adds a command from the spec that the quick parser of bin/stepper.js reads too. */
function addSpecCommand(program: Command, spec: CommandSpec): Command {
  const command = program.command(spec.name).description(spec.description);
  command.argument(spec.argument.name, spec.argument.description, spec.argument.default === undefined ? undefined : [...spec.argument.default]);
  for (const option of spec.options) {
    if (option.integer) {
      const flag = option.flags.split(' ')[0] as string;
      command.option(option.flags, option.description, parseInteger(flag, option.minimum), option.default);
    } else {
      command.option(option.flags, option.description);
    }
  }

  return command;
}

function addReadingCommands(program: Command): void {
  program
    .command('show')
    .description('print the stored report of a commit: sections, changed files, coverage and provenance')
    .argument('[revision]', 'the commit, as git rev-parse accepts it', 'HEAD')
    .option('--format <format>', 'output format: text, markdown or json', undefined)
    .option('--json', 'print the report as JSON (the same as --format json)')
    .option('--model <name>', 'show the report this model wrote, not the newest of any model')
    .action(async (revision: string, options: { format?: string; json?: boolean; model?: string }) => {
      const { runShow } = await import('./commands/show.js');
      await runShow(revision, options);
    });

  program
    .command('watch')
    .description('show the queue live: active jobs with progress and ETA, and recent results; ends when the queue is empty')
    .option('--follow', 'keep watching after the queue is empty, until Ctrl-C')
    .option('--json', 'print one JSON object per job event (the output when stdout is not a terminal)')
    .action(async (options: { follow?: boolean; json?: boolean }) => {
      const { runWatch } = await import('./commands/watch.js');
      await runWatch(options);
    });

  program
    .command('diary')
    .description('print commits with their report titles and summaries, grouped by day, week or month, with counts per type and lines changed')
    .option('--since <date>', 'only commits authored at or after this date, in any form git log --since reads (read in --time-zone)')
    .option('--until <date>', 'only commits authored at or before this date')
    .option('--by <period>', 'period length: day, week (ISO, from Monday) or month', 'day')
    .option('--author <pattern>', 'only commits whose author name or email matches this extended regular expression, such as "Ada|Grace"')
    .option('--all-repos', 'every repository the database has jobs or reports for, not only the current one')
    .option('--time-zone <iana>', 'time zone the periods are cut in, such as Europe/Berlin (default: TZ or the system zone)')
    .option('--format <format>', 'output format: text, markdown, json or html (one self-contained page)', undefined)
    .option('--json', 'print the diary as JSON (the same as --format json)')
    .action(async (options: import('./commands/diary.js').DiaryCommandOptions) => {
      const { runDiary } = await import('./commands/diary.js');
      await runDiary(options);
    });

  program
    .command('export')
    .description('export the stored reports as git notes, JSON Lines or a git-cliff context')
    .argument('[revisions...]', 'only these commits and ranges (A..B, A...B, A^!), as git accepts them; default: every commit with a report')
    .requiredOption('--format <format>', 'git-notes, jsonl or git-cliff')
    .option('--ref <notes-ref>', 'notes ref of the git-notes format (default: refs/notes/stepper)')
    .option('--output <file>', 'file for the jsonl and git-cliff formats, written with mode 0600 (default: standard output)')
    .option('--json', 'print the outcome as JSON')
    .action(async (revisions: string[], options: import('./commands/export.js').ExportCommandOptions) => {
      const { runExport } = await import('./commands/export.js');
      await runExport(revisions, options);
    });
}

function addEvidenceCommand(program: Command): void {
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
}

function addDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check git, the data directory, the database, the daemon, the hooks, Ollama and the model; exit 1 if any check fails')
    .option('--json', 'print the results as JSON')
    .option('--model <name>', 'check this model (default: STEPPER_MODEL, git config stepper.model, then qwen2.5-coder:7b)')
    .option('--timeout <seconds>', 'time each check may take, in seconds (default: 10)', parseInteger('--timeout'))
    .action(async (options: { json?: boolean; model?: string; timeout?: number }) => {
      const { runDoctor } = await import('./commands/doctor.js');
      await runDoctor(options);
    });
}

function addDaemonCommands(program: Command): void {
  const daemon = program
    .command('daemon')
    .description('manage the background process that writes reports; the first enqueue starts it');

  daemon
    .command('start')
    .description('start the daemon in the background unless one runs, and print its pid')
    .option('--json', 'print the status as JSON')
    .action(async (options: { json?: boolean }) => {
      const { runDaemonStart } = await import('./commands/daemon.js');
      await runDaemonStart(options);
    });

  daemon
    .command('stop')
    .description('stop the daemon gracefully and wait until it has exited')
    .option('--timeout <seconds>', 'how long to wait for the exit (default: the grace period plus 15 s)', parseInteger('--timeout'))
    .option('--json', 'print the result as JSON')
    .action(async (options: { timeout?: number; json?: boolean }) => {
      const { runDaemonStop } = await import('./commands/daemon.js');
      await runDaemonStop(options);
    });

  daemon
    .command('status')
    .description("show the daemon's pid, uptime, version, concurrency, jobs done, current job and Ollama's state")
    .option('--json', 'print the status as JSON')
    .action(async (options: { json?: boolean }) => {
      const { runDaemonStatus } = await import('./commands/daemon.js');
      runDaemonStatus(options);
    });

  daemon
    .command('run')
    .description('run the daemon in the foreground, logging to stderr (for systemd, launchd or debugging)')
    .option('--concurrency <jobs>', 'reports generated at once (default: STEPPER_DAEMON_CONCURRENCY or 1)', parseInteger('--concurrency'))
    .option('--idle-timeout <seconds>', 'exit after this long without work (default: STEPPER_DAEMON_IDLE_MS or 600 s)', parseInteger('--idle-timeout'))
    .addOption(new Option('--detached', 'log to daemon.log and exit quietly when another daemon runs').hideHelp())
    .action(async (options: { concurrency?: number; idleTimeout?: number; detached?: boolean }) => {
      const { runDaemonForeground } = await import('./commands/daemon.js');
      await runDaemonForeground(options);
    });
}

function addHookCommands(program: Command): void {
  const hook = program
    .command('hook')
    .description("manage the git hooks that queue a report for each commit (post-commit and post-rewrite)");

  hook
    .command('install')
    .description("add stepper's block to the post-commit and post-rewrite hooks of this repository, creating them if missing")
    .option('--json', 'print what changed as JSON')
    .action(async (options: { json?: boolean }) => {
      const { runHookInstall } = await import('./commands/hook.js');
      await runHookInstall(options);
    });

  hook
    .command('uninstall')
    .description("remove stepper's block from the hooks, leaving the rest of each hook as it was")
    .option('--json', 'print what changed as JSON')
    .action(async (options: { json?: boolean }) => {
      const { runHookUninstall } = await import('./commands/hook.js');
      await runHookUninstall(options);
    });

  hook
    .command('status')
    .description('show whether the hooks are installed and current, whether the node and stepper paths they run still exist, and recent hook failures')
    .option('--json', 'print the status as JSON')
    .action(async (options: { json?: boolean }) => {
      const { runHookStatus } = await import('./commands/hook.js');
      await runHookStatus(options);
    });
}

function addMaintenanceCommands(program: Command): void {
  program
    .command('retry')
    .description('move a failed or cancelled job, or every failed job with --failed, back to waiting with all its attempts; starts the daemon')
    .argument('[job-id]', 'the job, as stepper report and status print it')
    .option('--failed', 'retry every failed job of this repository')
    .option('--all', 'with --failed, the failed jobs of every repository')
    .option('--json', 'print the jobs as JSON')
    .action(async (jobId: string | undefined, options: { failed?: boolean; all?: boolean; json?: boolean }) => {
      const { runRetry } = await import('./commands/maintenance.js');
      await runRetry(jobId, options);
    });

  program
    .command('cancel')
    .description('cancel a job, an active one too (the daemon aborts its Ollama request), or every waiting and delayed job with --waiting')
    .argument('[job-id]', 'the job, as stepper report and status print it')
    .option('--waiting', 'cancel every waiting and delayed job of this repository')
    .option('--all', 'with --waiting, the jobs of every repository')
    .option('--json', 'print the jobs as JSON')
    .action(async (jobId: string | undefined, options: { waiting?: boolean; all?: boolean; json?: boolean }) => {
      const { runCancel } = await import('./commands/maintenance.js');
      await runCancel(jobId, options);
    });

  program
    .command('prune')
    .description('remove finished jobs, their events, unused part summaries and ingested spool records older than a duration, then checkpoint the database')
    .option('--older-than <duration>', 'age of what is removed: a whole number with s, m, h, d or w, such as 30d, 12h or 2w', '30d')
    .option('--reports', 'also remove reports older than the duration that a newer report of the same commit and model replaced')
    .option('--dry-run', 'print what would be removed and change nothing')
    .option('--json', 'print the counts as JSON')
    .action(async (options: { olderThan: string; reports?: boolean; dryRun?: boolean; json?: boolean }) => {
      const { runPrune } = await import('./commands/maintenance.js');
      runPrune(options);
    });

  program
    .command('redo')
    .description('queue new reports for commits whose reports were made with another model or an older prompt or schema; the old reports stay until the new ones are stored')
    .option('--stale', 'select the commits with no report of the current model, prompt and schema version (required)')
    .option('--all', 'the reports of every repository, not only this one')
    .option('--model <name>', 'Ollama model of the new reports (default: STEPPER_MODEL, git config stepper.model, then qwen2.5-coder:7b)')
    .option('--dry-run', 'list the stale reports and queue nothing')
    .option('--json', 'print the reports and jobs as JSON')
    .action(async (options: { stale?: boolean; all?: boolean; model?: string; dryRun?: boolean; json?: boolean }) => {
      const { runRedo } = await import('./commands/maintenance.js');
      await runRedo(options);
    });
}

function addConfigCommands(program: Command): void {
  const config = program
    .command('config')
    .description("read and write stepper's settings, the stepper.* keys of git config, in this repository or with --global for the user");

  config
    .command('get')
    .description('print the value in effect, or every value of a multi-valued key; exit 1 when it is not set')
    .argument('<key>', 'a key such as stepper.model (see stepper config list --all)')
    .option('--global', 'read only the global config (~/.gitconfig)')
    .option('--json', 'print the key, its documentation and every value with its scope as JSON')
    .action(async (key: string, options: { global?: boolean; json?: boolean }) => {
      const { runConfigGet } = await import('./commands/config.js');
      await runConfigGet(key, options);
    });

  config
    .command('set')
    .description("check a value against its key's type and store it in the repository's config, or the global one with --global")
    .argument('<key>', 'a key such as stepper.model (see stepper config list --all)')
    .argument('<value>', 'the value')
    .option('--global', 'write the global config (~/.gitconfig), which works outside a repository too')
    .option('--add', 'add one more value to a multi-valued key such as stepper.exclude, not replacing the others')
    .option('--json', 'print the stored value as JSON')
    .action(async (key: string, value: string, options: { global?: boolean; add?: boolean; json?: boolean }) => {
      const { runConfigSet } = await import('./commands/config.js');
      await runConfigSet(key, value, options);
    });

  config
    .command('unset')
    .description("remove every value of a key from the repository's config, or the global one with --global")
    .argument('<key>', 'a key such as stepper.model (see stepper config list --all)')
    .option('--global', 'write the global config (~/.gitconfig)')
    .option('--json', 'print what was removed as JSON')
    .action(async (key: string, options: { global?: boolean; json?: boolean }) => {
      const { runConfigUnset } = await import('./commands/config.js');
      await runConfigUnset(key, options);
    });

  config
    .command('list')
    .description('list the stepper.* keys that are set, with their scope; with --all every key with its type, default and description')
    .option('--all', 'every key stepper reads, set or not, with its documentation')
    .option('--global', 'read only the global config (~/.gitconfig)')
    .option('--json', 'print the keys as JSON')
    .action(async (options: { all?: boolean; global?: boolean; json?: boolean }) => {
      const { runConfigList } = await import('./commands/config.js');
      await runConfigList(options);
    });
}

/**
 * Runs the command line and returns the exit status: 0 on success, 1 for a runtime
 * failure, 2 for a usage error. Errors become output here and, for the plain forms of
 * `report` and `status` that bin/stepper.js runs without commander, in runQuick.
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

    return reportCommandError(error);
  }
}

import {
  type HookStatus,
  HookRefusedError,
  type InstallFileResult,
  type InstallResult,
  type UninstallFileResult,
  type WaitingHintsResult,
  hookStatus,
  installHooks,
  uninstallHooks,
} from '../../hook/install.js';
import { CommandExit, EXIT_FAILURE } from '../exit.js';

export interface HookCommandOptions {
  json?: boolean;
}

/** Installs the hooks and prints what changed; a refused hook is printed, then raised. */
export async function runHookInstall(options: HookCommandOptions): Promise<void> {
  let result: InstallResult;
  try {
    result = await installHooks();
  } catch (error) {
    if (error instanceof HookRefusedError) {
      printInstall(error.result, options);
    }
    throw error;
  }

  printInstall(result, options);
}

function printInstall(result: InstallResult, options: HookCommandOptions): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }

  const lines = result.files.map(describeInstall);
  if (result.waitingHints !== undefined) {
    lines.push(describeWaitingHints(result.waitingHints));
  }
  const warnings = [...result.files.flatMap((file) => file.warnings), ...result.warnings].map((warning) => `warning: ${warning}`);
  process.stdout.write(`${[...lines, ...warnings, `data directory: ${result.dataDir}`].join('\n')}\n`);
}

function describeInstall(file: InstallFileResult): string {
  // A non-shell hook that runs stepper-<hook> stays unchanged, and the action is that program's.
  const runBy = file.standalone === undefined ? '' : `, which ${file.file} runs`;
  const target = file.standalone ?? file.file;
  switch (file.action) {
    case 'created':
      return `created ${target}${runBy}`;
    case 'added':
      return `added stepper's block to ${target}`;
    case 'updated':
      return `updated stepper's block in ${target}${runBy}`;
    case 'unchanged':
      return `stepper's block in ${target} is current; nothing to change`;
    case 'refused':
      return `left ${file.file} unchanged and wrote ${file.standalone}`;
  }
}

function describeWaitingHints(hints: WaitingHintsResult): string {
  const read = hints.enqueued + hints.dropped;
  const parts = [
    `read ${plural(read, 'hint')} that ${read === 1 ? 'was' : 'were'} waiting with no kick or daemon to read ${read === 1 ? 'it' : 'them'}: queued ${plural(hints.jobs, 'report job')}`,
  ];
  if (hints.dropped > 0) {
    parts.push(`removed ${hints.dropped} that ${hints.dropped === 1 ? 'was' : 'were'} invalid or named a deleted repository (see hook.log)`);
  }
  if (hints.remaining > 0) {
    parts.push(`left ${hints.remaining} in place for the next kick or daemon`);
  }
  if (hints.daemonPid !== undefined) {
    parts.push(`the daemon (pid ${hints.daemonPid}) runs ${hints.jobs === 1 ? 'it' : 'them'}`);
  }

  return parts.join('; ');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Removes stepper's blocks and prints what changed. */
export async function runHookUninstall(options: HookCommandOptions): Promise<void> {
  const result = await uninstallHooks();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }

  const lines = result.files.map(describeUninstall);
  const warnings = result.files.flatMap((file) => file.warnings.map((warning) => `warning: ${warning}`));
  process.stdout.write(`${[...lines, ...warnings].join('\n')}\n`);
}

function describeUninstall(file: UninstallFileResult): string {
  switch (file.action) {
    case 'removed':
      return `removed stepper's block from ${file.file}`;
    case 'deleted':
      return `deleted ${file.file}`;
    case 'unchanged':
      return `no stepper block in ${file.file}; left it unchanged`;
    case 'absent':
      return `no stepper block in ${file.file}: the file does not exist`;
  }
}

/**
 * Prints the state of each hook, the hints waiting and the last hook failures. Exits with 1
 * when an installed hook cannot queue reports or hints wait that nothing will read.
 */
export async function runHookStatus(options: HookCommandOptions): Promise<void> {
  const status = await hookStatus();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
  } else {
    process.stdout.write(`${describeStatus(status).join('\n')}\n`);
  }

  if (!status.ok) {
    throw new CommandExit(EXIT_FAILURE);
  }
}

function describeStatus(status: HookStatus): string[] {
  const lines: string[] = [`hooks directory: ${status.hooksDir}`, `data directory: ${status.dataDir}`];
  for (const hook of status.hooks) {
    if (hook.damaged !== undefined) {
      lines.push(`${hook.hook}: damaged (see the warning below)`);
      continue;
    }

    if (!hook.installed) {
      lines.push(`${hook.hook}: not installed`);
      continue;
    }

    const version = hook.current ? 'current' : `older (stepper ${hook.stepperVersion ?? 'unknown'})`;
    const notRun = hook.runsStandalone === false ? `, but ${hook.file} does not run it (see the warning below)` : '';
    lines.push(`${hook.hook}: installed in ${hook.standalone ?? hook.file}, ${version}${notRun}`);
    lines.push(`  node: ${hook.node?.path ?? 'not recorded'}${hook.node?.usable === false ? ' (missing)' : ''}`);
    lines.push(`  kick: ${hook.kick?.path ?? 'not recorded'}${hook.kick?.usable === false ? ' (missing)' : ''}`);
  }

  lines.push(`hints waiting: ${status.pendingHints}${describeHintReader(status)}`);
  for (const warning of status.warnings) {
    lines.push(`warning: ${warning}`);
  }
  if (status.failures.length > 0) {
    lines.push('recent failures from hook.log:');
    for (const failure of status.failures) {
      lines.push(`  ${failure.time ?? '(time unknown)'} ${failure.message}`);
    }
  }

  return lines;
}

function describeHintReader(status: HookStatus): string {
  if (status.pendingHints === 0) {
    return '';
  }

  switch (status.hintReader) {
    case 'kick':
      return ` (a kick is pending, pid ${status.kickPid})`;
    case 'daemon':
      return ' (the daemon reads them)';
    case 'none':
      return ' (no kick or daemon will read them, see the warning below)';
  }
}

import { HookRefusedError, type InstallResult, hookStatus, installHooks, uninstallHooks } from '../../hook/install.js';

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

  const lines = result.files.map((file) => {
    switch (file.action) {
      case 'created':
        return `created ${file.file}`;
      case 'added':
        return `added stepper's block to ${file.file}`;
      case 'updated':
        return `updated stepper's block in ${file.file}`;
      case 'unchanged':
        return `stepper's block in ${file.file} is current; nothing to change`;
      case 'refused':
        return `left ${file.file} unchanged and wrote ${file.refused?.standalone}`;
    }
  });
  const warnings = result.files.flatMap((file) => file.warnings.map((warning) => `warning: ${warning}`));
  process.stdout.write(`${[...lines, ...warnings, `data directory: ${result.dataDir}`].join('\n')}\n`);
}

/** Removes stepper's blocks and prints what changed. */
export async function runHookUninstall(options: HookCommandOptions): Promise<void> {
  const result = await uninstallHooks();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }

  const lines = result.files.map((file) => {
    switch (file.action) {
      case 'removed':
        return `removed stepper's block from ${file.file}`;
      case 'deleted':
        return `deleted ${file.file}`;
      case 'absent':
        return `no stepper block in ${file.file}`;
    }
  });
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Prints the state of each hook, the hints waiting and the last hook failures. */
export async function runHookStatus(options: HookCommandOptions): Promise<void> {
  const status = await hookStatus();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }

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
    lines.push(`${hook.hook}: installed in ${hook.standalone ?? hook.file}, ${version}`);
    lines.push(`  node: ${hook.node?.path ?? 'not recorded'}${hook.node?.usable === false ? ' (missing)' : ''}`);
    lines.push(`  kick: ${hook.kick?.path ?? 'not recorded'}${hook.kick?.usable === false ? ' (missing)' : ''}`);
  }

  lines.push(`hints waiting: ${status.pendingHints}${status.kickPending ? ' (a kick is pending)' : ''}`);
  for (const warning of status.warnings) {
    lines.push(`warning: ${warning}`);
  }
  if (status.failures.length > 0) {
    lines.push('recent failures from hook.log:');
    for (const failure of status.failures) {
      lines.push(`  ${failure.time ?? '(time unknown)'} ${failure.message}`);
    }
  }

  process.stdout.write(`${lines.join('\n')}\n`);
}

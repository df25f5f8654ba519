import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { StepperError } from '../errors.js';
import { GitError, NotARepositoryError } from '../git/errors.js';
import { runGit } from '../git/git.js';
import { ensureDataDir, resolveDataDir } from '../store/data-dir.js';
import { VERSION } from '../version.js';
import {
  type BlockInfo,
  HOOK_FORMAT_VERSION,
  HOOK_NAMES,
  type HookName,
  findDamage,
  findEarlyExit,
  insertBlock,
  interpreterOf,
  isShellHook,
  readBlock,
  removeBlock,
  renderBlock,
  shellQuote,
} from './block.js';
import { HINTS_DIR, KICK_MARKER, readHookLog } from './log.js';
import { currentFolder } from '../git/current-folder.js';

/** The script the hook starts after a commit. */
export const KICK_ENTRY = fileURLToPath(new URL('./kick.js', import.meta.url));

/** Number of the latest failures from hook.log that status shows. */
const STATUS_FAILURES_SHOWN = 5;

export interface HookCommandOptions {
  /** A folder inside the repository. @default process.cwd() */
  cwd?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface InstallOptions extends HookCommandOptions {
  /** Node binary the hook runs. @default process.execPath */
  node?: string;
  /** Script the hook runs with node. @default KICK_ENTRY */
  kick?: string;
}

/** A hook file that is not a shell script, left unchanged, with the script to call from it. */
export interface RefusedHook {
  file: string;
  interpreter: string;
  /** Script that stepper wrote beside it, which contains the block. */
  standalone: string;
  /** The command the user's hook should run. */
  callLine: string;
}

export interface InstallFileResult {
  hook: HookName;
  file: string;
  /** `created` a new file, `added` the block to a shell hook, `updated` an existing block, found it `unchanged`, or `refused` a non-shell hook. */
  action: 'created' | 'added' | 'updated' | 'unchanged' | 'refused';
  refused?: RefusedHook;
  warnings: string[];
}

export interface InstallResult {
  hooksDir: string;
  dataDir: string;
  files: InstallFileResult[];
}

/** Raised by installHooks when a hook file is not a shell script. `result` contains what was installed. */
export class HookRefusedError extends StepperError {
  override name = 'HookRefusedError';
  readonly result: InstallResult;

  constructor(result: InstallResult) {
    const lines = result.files
      .filter((file) => file.refused)
      .map((file) => {
        const refused = file.refused as RefusedHook;
        return `${refused.file} is a ${refused.interpreter} hook, so stepper left it unchanged; add this line to it: ${refused.callLine}`;
      });
    super('HOOK_REFUSED', lines.join('\nstepper: '));
    this.result = result;
  }
}

/**
 * Raised by installHooks and uninstallHooks, before they change any file, when a hook file
 * contains a stepper block without its start or end line, or two blocks. Rewriting such a
 * file would leave the hook running stepper twice, so the user deletes the lines named.
 */
export class HookDamagedError extends StepperError {
  override name = 'HookDamagedError';
  readonly file: string;

  constructor(file: string, damage: { problem: string; fix: string }) {
    super('HOOK_REFUSED', `${damage.problem}; ${damage.fix}`);
    this.file = file;
  }
}

/**
 * Returns the problem of a hook file's stepper markers and the command-line fix naming the
 * lines to delete, or undefined when the file has no block or one whole block.
 */
export function describeDamage(file: string, content: string): { problem: string; fix: string } | undefined {
  const damage = findDamage(content);
  if (!damage) {
    return undefined;
  }

  const lines = damage.firstLine === damage.lastLine ? `line ${damage.firstLine}` : `lines ${damage.firstLine}-${damage.lastLine}`;
  return { problem: `${file} is damaged: ${damage.problem}`, fix: `delete ${lines} of ${file}, then run stepper hook install` };
}

/** Raises HookDamagedError for the first damaged file among the hooks and the scripts beside them. */
function checkUndamaged(hooksDir: string): void {
  for (const hook of HOOK_NAMES) {
    for (const file of [path.join(hooksDir, hook), path.join(hooksDir, `stepper-${hook}`)]) {
      const content = readBytes(file);
      const damage = content === undefined ? undefined : describeDamage(file, content);
      if (damage !== undefined) {
        throw new HookDamagedError(file, damage);
      }
    }
  }
}

/**
 * Finds the folder git runs hooks from for the repository around `cwd`: `core.hooksPath`
 * when set (a relative value is resolved from the worktree top, as git does), otherwise
 * the common git directory's `hooks`, which linked worktrees share.
 */
export async function findHooksDir(cwd: string): Promise<string> {
  try {
    const output = await runGit({ cwd }, ['rev-parse', '--path-format=absolute', '--git-path', 'hooks']);
    return output.endsWith('\n') ? output.slice(0, -1) : output;
  } catch (error) {
    if (error instanceof GitError && error.exitCode !== null) {
      throw new NotARepositoryError(path.resolve(cwd), error.stderr.trim().split('\n')[0] || 'git rev-parse failed', { cause: error });
    }
    throw error;
  }
}

/**
 * Installs the post-commit and post-rewrite blocks. A missing hook file is created with
 * mode 0755. A shell hook gets the block appended, or replaced in place when present,
 * and keeps its mode and every other byte. A hook in another language is left unchanged:
 * the block goes into `stepper-<hook>` beside it, and a HookRefusedError names the line
 * to add, after the other hook has been installed. A damaged hook file raises
 * HookDamagedError before anything is written.
 */
export async function installHooks(options: InstallOptions = {}): Promise<InstallResult> {
  const env = options.env ?? process.env;
  const node = checkRecordedPath('node binary', options.node ?? process.execPath);
  const kick = checkRecordedPath('kick script', options.kick ?? KICK_ENTRY);
  const dataDir = checkRecordedPath('data directory', resolveDataDir(env));
  const hooksDir = await findHooksDir(options.cwd ?? currentFolder());
  checkUndamaged(hooksDir);

  ensureDataDir(dataDir);
  fs.mkdirSync(path.join(dataDir, HINTS_DIR), { recursive: true, mode: 0o700 });
  fs.mkdirSync(hooksDir, { recursive: true });

  const files = HOOK_NAMES.map((hook) => installHook(hooksDir, hook, { node, kick, dataDir }));
  const result: InstallResult = { hooksDir, dataDir, files };
  if (files.some((file) => file.action === 'refused')) {
    throw new HookRefusedError(result);
  }

  return result;
}

function checkRecordedPath(what: string, value: string): string {
  if (!path.isAbsolute(value) || /[\n\r\0]/.test(value)) {
    throw new StepperError(
      'HOOK_REFUSED',
      `cannot record the ${what} ${JSON.stringify(value)} in a hook: it must be an absolute path without line breaks; move it or set STEPPER_HOME to a plain path`,
    );
  }

  return value;
}

interface RecordedPaths {
  node: string;
  kick: string;
  dataDir: string;
}

function installHook(hooksDir: string, hook: HookName, paths: RecordedPaths): InstallFileResult {
  const file = path.join(hooksDir, hook);
  const existing = readBytes(file);

  if (existing === undefined) {
    writeNewScript(file, hook, paths);
    return { hook, file, action: 'created', warnings: [] };
  }

  if (!isShellHook(existing)) {
    const standalone = path.join(hooksDir, `stepper-${hook}`);
    const current = readBytes(standalone);
    const block = toBytes(renderBlock({ hook, ...blockPaths(paths), stepperVersion: VERSION, createdFile: true }));
    fs.writeFileSync(standalone, current === undefined ? `#!/bin/sh\n${block}` : insertBlock(current, block), { encoding: 'latin1', mode: 0o755 });
    fs.chmodSync(standalone, 0o755);

    const callLine = hook === 'post-rewrite' ? `${standalone} "$1" (with the hook's standard input)` : standalone;
    const refused = { file, interpreter: interpreterOf(existing) ?? 'binary', standalone, callLine };
    return { hook, file, action: 'refused', refused, warnings: [] };
  }

  const previous = readBlock(existing);
  const block = toBytes(renderBlock({ hook, ...blockPaths(paths), stepperVersion: VERSION, createdFile: previous?.createdFile ?? false }));
  const content = insertBlock(existing, block);
  if (previous && content === existing) {
    return { hook, file, action: 'unchanged', warnings: shellHookWarnings(file, existing) };
  }

  fs.writeFileSync(file, content, 'latin1');
  return { hook, file, action: previous ? 'updated' : 'added', warnings: shellHookWarnings(file, existing) };
}

function blockPaths(paths: RecordedPaths): { node: string; kick: string; fallbackDataDir: string } {
  return { node: paths.node, kick: paths.kick, fallbackDataDir: paths.dataDir };
}

function writeNewScript(file: string, hook: HookName, paths: RecordedPaths): void {
  const block = toBytes(renderBlock({ hook, ...blockPaths(paths), stepperVersion: VERSION, createdFile: true }));
  fs.writeFileSync(file, `#!/bin/sh\n${block}`, { encoding: 'latin1', mode: 0o755, flag: 'wx' });
  // The umask may have cleared bits of 0755, and git runs only an executable hook.
  fs.chmodSync(file, 0o755);
}

function shellHookWarnings(file: string, content: string): string[] {
  const warnings: string[] = [];
  const early = findEarlyExit(content);
  if (early !== undefined) {
    warnings.push(`${file} has the line ${JSON.stringify(early)} before stepper's block, which then may never run; move the block above it`);
  }
  if (!isExecutable(file)) {
    warnings.push(notExecutableWarning(file));
  }

  return warnings;
}

/** The warning for a hook file git skips because it is not executable. */
export function notExecutableWarning(file: string): string {
  return `${file} is not executable, so git does not run it: run ${chmodCommand(file)}`;
}

/** The command that makes a hook file executable, with the path quoted for a POSIX shell. */
export function chmodCommand(file: string): string {
  return `chmod +x ${shellQuote(file)}`;
}

export interface UninstallFileResult {
  hook: HookName;
  file: string;
  /** `removed` the block, `deleted` a file stepper had created, or `absent` when there was no block. */
  action: 'removed' | 'deleted' | 'absent';
}

export interface UninstallResult {
  hooksDir: string;
  files: UninstallFileResult[];
}

/**
 * Removes stepper's block from the post-commit and post-rewrite hooks and from the
 * `stepper-<hook>` scripts written beside non-shell hooks. A file stepper created is
 * deleted when nothing but its `#!` line is left. Any other file keeps its other bytes.
 * A damaged hook file raises HookDamagedError before anything is changed.
 */
export async function uninstallHooks(options: HookCommandOptions = {}): Promise<UninstallResult> {
  const hooksDir = await findHooksDir(options.cwd ?? currentFolder());
  checkUndamaged(hooksDir);
  const files: UninstallFileResult[] = [];

  for (const hook of HOOK_NAMES) {
    for (const file of [path.join(hooksDir, hook), path.join(hooksDir, `stepper-${hook}`)]) {
      const result = uninstallFile(file, hook);
      if (result.action !== 'absent' || !path.basename(file).startsWith('stepper-')) {
        files.push(result);
      }
    }
  }

  return { hooksDir, files };
}

function uninstallFile(file: string, hook: HookName): UninstallFileResult {
  const content = readBytes(file);
  const block = content === undefined ? undefined : readBlock(content);
  if (content === undefined || block === undefined) {
    return { hook, file, action: 'absent' };
  }

  const rest = removeBlock(content);
  if (block.createdFile && /^(#![^\n]*\n?)?\s*$/.test(rest)) {
    fs.rmSync(file, { force: true });
    return { hook, file, action: 'deleted' };
  }

  fs.writeFileSync(file, rest, 'latin1');
  return { hook, file, action: 'removed' };
}

export interface HookFileStatus {
  hook: HookName;
  file: string;
  exists: boolean;
  executable: boolean;
  installed: boolean;
  /** The `stepper-<hook>` script beside a non-shell hook, when the block lives there. */
  standalone?: string;
  formatVersion?: number;
  stepperVersion?: string;
  /** Whether the block matches this stepper's format and version. */
  current: boolean;
  /**
   * Set when the file contains a start line without its end line, an end line without its
   * start line, or two blocks: the problem and the lines to delete. Such a hook counts as
   * not installed.
   */
  damaged?: string;
  /** The lines to delete from a damaged file and the command to run then. */
  damageFix?: string;
  node?: { path: string; usable: boolean };
  kick?: { path: string; usable: boolean };
  warnings: string[];
}

export interface HookStatus {
  hooksDir: string;
  dataDir: string;
  hooks: HookFileStatus[];
  /** Hint files no kick has read yet. */
  pendingHints: number;
  /**
   * Whether the marker that the hook writes when it starts a kick exists. The kick removes
   * it, so a marker that stays after commits have stopped means that kicks cannot start.
   */
  kickPending: boolean;
  /** The last failures from hook.log, oldest first. */
  failures: Array<{ time: string | undefined; message: string }>;
  /** Warnings of all hooks in one list, for a quick check. */

  warnings: string[];
}

/**
 * Reports, for each hook, whether the block is installed, whether it is current, and
 * whether the node binary and kick script it records still exist, with the last
 * failures from hook.log and the hints waiting for a kick.
 */
export async function hookStatus(options: HookCommandOptions = {}): Promise<HookStatus> {
  const env = options.env ?? process.env;
  const hooksDir = await findHooksDir(options.cwd ?? currentFolder());
  const dataDir = resolveDataDir(env);

  const hooks = HOOK_NAMES.map((hook) => fileStatus(hooksDir, hook));
  const failures = readHookLog(dataDir)
    .filter((entry) => entry.level === 'error')
    .slice(-STATUS_FAILURES_SHOWN)
    .map((entry) => ({ time: entry.time, message: entry.message }));

  return {
    hooksDir,
    dataDir,
    hooks,
    pendingHints: countHints(dataDir),
    kickPending: fs.existsSync(path.join(dataDir, HINTS_DIR, KICK_MARKER)),
    failures,
    warnings: hooks.flatMap((hook) => hook.warnings),
  };
}

function fileStatus(hooksDir: string, hook: HookName): HookFileStatus {
  const file = path.join(hooksDir, hook);
  const content = readBytes(file);
  const status: HookFileStatus = {
    hook,
    file,
    exists: content !== undefined,
    executable: content !== undefined && isExecutable(file),
    installed: false,
    current: false,
    warnings: [],
  };

  const damage = content === undefined ? undefined : describeDamage(file, content);
  if (damage !== undefined) {
    return markDamaged(status, damage);
  }

  let blockFile = file;
  let block = content === undefined ? undefined : readBlock(content);
  if (content !== undefined && block === undefined && !isShellHook(content)) {
    blockFile = path.join(hooksDir, `stepper-${hook}`);
    const standalone = readBytes(blockFile);
    const standaloneDamage = standalone === undefined ? undefined : describeDamage(blockFile, standalone);
    if (standaloneDamage !== undefined) {
      status.standalone = blockFile;
      return markDamaged(status, standaloneDamage);
    }

    block = standalone === undefined ? undefined : readBlock(standalone);
    if (block) {
      status.standalone = blockFile;
      status.warnings.push(`${file} is not a shell script: it must call ${blockFile} for stepper to see commits`);
    }
  }

  if (!block) {
    status.warnings.push(`${hook} hook not installed in ${hooksDir}: run stepper hook install`);
    return status;
  }

  status.installed = true;
  fillBlockStatus(status, block, blockFile);
  if (content !== undefined && blockFile === file) {
    status.warnings.push(...shellHookWarnings(file, content));
  }

  return status;
}

function markDamaged(status: HookFileStatus, damage: { problem: string; fix: string }): HookFileStatus {
  status.damaged = damage.problem;
  status.damageFix = damage.fix;
  status.warnings.push(`${damage.problem}; ${damage.fix}`);
  return status;
}

function fillBlockStatus(status: HookFileStatus, block: BlockInfo, blockFile: string): void {
  status.formatVersion = block.formatVersion;
  status.stepperVersion = block.stepperVersion ? fromBytes(block.stepperVersion) : undefined;
  status.current = block.formatVersion === HOOK_FORMAT_VERSION && status.stepperVersion === VERSION;
  if (!status.current) {
    status.warnings.push(
      `${blockFile} was installed by stepper ${status.stepperVersion ?? 'of an unknown version'}, this is ${VERSION}: run stepper hook install to update it`,
    );
  }

  for (const key of ['node', 'kick'] as const) {
    const recorded = block[key] === undefined ? undefined : fromBytes(block[key] as string);
    if (recorded === undefined) {
      status.warnings.push(`${blockFile} records no ${key} path: run stepper hook install`);
      continue;
    }

    const usable = key === 'node' ? isExecutable(recorded) : isReadableFile(recorded);
    status[key] = { path: recorded, usable };
    if (!usable) {
      status.warnings.push(`${blockFile} runs ${recorded}, which no longer exists: run stepper hook install again from the current stepper`);
    }
  }
}

function countHints(dataDir: string): number {
  try {
    return fs.readdirSync(path.join(dataDir, HINTS_DIR)).filter((name) => name.endsWith('.hint')).length;
  } catch {
    return 0;
  }
}

/** Reads a file as one char per byte, so that writing it back keeps bytes that are not UTF-8. */
function readBytes(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
}

/** Converts text to the one-char-per-byte form of readBytes, as its UTF-8 bytes. */
function toBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

function fromBytes(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function isReadableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { StepperError } from '../errors.js';
import { GitError, NotARepositoryError } from '../git/errors.js';
import { runGit } from '../git/git.js';
import { checkDataDirUsable, ensureDataDir, resolveDataDir } from '../store/data-dir.js';
import { VERSION } from '../version.js';
import {
  type BlockInfo,
  type BlockSettings,
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
import type { HintOutcome } from './hints.js';
import { HINTS_DIR, KICK_MARKER, type HookLogEntry, readHookLog } from './log.js';
import { currentFolder } from '../git/current-folder.js';
import { isProcessAlive, probeDaemonLock, readStartingMarker } from '../daemon/lock.js';
import { maskPassword } from '../ollama/host.js';

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

/** Set to 1 to read waiting hints without starting the daemon, as the kick does. */
const NO_DAEMON_VARIABLE = 'STEPPER_NO_DAEMON';

export interface InstallOptions extends HookCommandOptions {
  /** Node binary the hook runs. @default process.execPath */
  node?: string;
  /** Script the hook runs with node. @default KICK_ENTRY */
  kick?: string;
  /**
   * Whether to start the daemon for the jobs of hints that no kick or daemon would read.
   * @default true, unless STEPPER_NO_DAEMON=1 in `env`
   */
  startDaemon?: boolean;
}

/** A hook file that is not a shell script and does not run `stepper-<hook>` yet, left unchanged. */
export interface RefusedHook {
  file: string;
  interpreter: string;
  /** Program that stepper wrote beside it, which contains the block. */
  standalone: string;
  /** The change to make in the hook, such as `make it run this program: <standalone>`. */
  instruction: string;
}

export interface InstallFileResult {
  hook: HookName;
  file: string;
  /**
   * `created` a new file, `added` the block to a shell hook, `updated` an existing block, found
   * it `unchanged`, or `refused` a non-shell hook that does not run `stepper-<hook>`. For a
   * non-shell hook that runs it, the first three describe `standalone`.
   */
  action: 'created' | 'added' | 'updated' | 'unchanged' | 'refused';
  /** The `stepper-<hook>` program that contains the block, when `file` is not a shell script. */
  standalone?: string;
  refused?: RefusedHook;
  warnings: string[];
}

/** Outcome of the hints that `hook install` read because no kick or daemon would have read them. */
export interface WaitingHintsResult {
  /** Hint files turned into report jobs. */
  enqueued: number;
  /** Report jobs those hints produced, including jobs the queue already had. */
  jobs: number;
  /** Invalid hints and hints of deleted repositories, which were removed. */
  dropped: number;
  /** Hints left in place: still being written, or the queue and the spool failed. */
  remaining: number;
  /** Pid of the daemon started for the jobs, or undefined when none was started. */
  daemonPid?: number;
}

export interface InstallResult {
  hooksDir: string;
  dataDir: string;
  files: InstallFileResult[];
  /** Set when hints waited that no kick or daemon would read, so install read them. */
  waitingHints?: WaitingHintsResult;
  /** Problems with the waiting hints that did not stop the install. */
  warnings: string[];
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
        return `${refused.file} is a ${refused.interpreter} hook, so stepper left it unchanged; ${refused.instruction}`;
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
 * and keeps its mode and every other byte. A hook in another language is left unchanged,
 * and the block goes into `stepper-<hook>` beside it. When that hook does not run
 * `stepper-<hook>` yet, a HookRefusedError names the change to make, after the other hook
 * has been installed. A damaged hook file raises HookDamagedError before anything is written.
 *
 * Hints that wait with no live kick and no daemon to read them, as after a kick found its
 * node or script missing, are turned into jobs, and the daemon is started for them.
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

  const files = HOOK_NAMES.map((hook) => installHook(hooksDir, hook, { node, kick, dataDir, ...recordedSettings(env) }));
  const result: InstallResult = { hooksDir, dataDir, files, warnings: [] };
  if (hasPassword((env.OLLAMA_HOST ?? '').trim())) {
    result.warnings.push(
      'OLLAMA_HOST contains a password, so the hooks do not record it: a commit from a program without OLLAMA_HOST (a GUI git client) reaches Ollama at 127.0.0.1:11434; set OLLAMA_HOST in that program\'s environment',
    );
  }
  await readWaitingHints(result, env, options.startDaemon ?? env[NO_DAEMON_VARIABLE] !== '1');
  if (files.some((file) => file.action === 'refused')) {
    throw new HookRefusedError(result);
  }

  return result;
}

/**
 * Turns the hints that no kick or daemon would read into jobs and starts the daemon for
 * them, as the kick does. A failure here is added to `result.warnings`, because the hooks
 * are installed by then and the hints stay for the next kick or daemon.
 */
async function readWaitingHints(result: InstallResult, env: NodeJS.ProcessEnv, startDaemon: boolean): Promise<void> {
  const { dataDir } = result;
  if (countHints(dataDir) === 0 || findHintReader(dataDir).reader !== 'none') {
    return;
  }

  // The marker names a kick that has exited, so it is removed, as a kick removes its own.
  removeDeadKickMarker(dataDir);

  let outcomes: HintOutcome[];
  try {
    const { ingestHookHints } = await import('./hints.js');
    outcomes = await ingestHookHints(dataDir, { env });
  } catch (error) {
    result.warnings.push(`cannot read the hints waiting in ${path.join(dataDir, HINTS_DIR)}: ${(error as Error).message}; run stepper daemon start`);
    return;
  }

  const waiting: WaitingHintsResult = { enqueued: 0, jobs: 0, dropped: 0, remaining: 0 };
  for (const outcome of outcomes) {
    if (outcome.status === 'enqueued') {
      waiting.enqueued += 1;
      waiting.jobs += outcome.results.length;
    } else if (outcome.status === 'dropped') {
      waiting.dropped += 1;
    } else {
      waiting.remaining += 1;
    }
  }
  result.waitingHints = waiting;
  if (waiting.jobs === 0 || !startDaemon) {
    return;
  }

  try {
    const { ensureDaemon } = await import('../daemon/start.js');
    const daemon = ensureDaemon({ dataDir, env });
    waiting.daemonPid = daemon.pid;
  } catch (error) {
    result.warnings.push(`cannot start the daemon for the jobs of the waiting hints: ${(error as Error).message}; the jobs wait until you run stepper daemon start`);
  }
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
  stepperHome: string;
  ollamaHost: string;
  model: string;
}

/**
 * Returns the STEPPER_HOME, OLLAMA_HOST and STEPPER_MODEL that the block records for commits
 * made without them. A value with a password or a line break is not recorded, because hook
 * files are readable by everyone who can read the repository and hold one assignment per line.
 */
function recordedSettings(env: NodeJS.ProcessEnv): { stepperHome: string; ollamaHost: string; model: string } {
  const usable = (value: string | undefined) => (value === undefined || /[\n\r\0]/.test(value) ? '' : value.trim());
  const ollamaHost = usable(env.OLLAMA_HOST);
  const stepperHome = usable(env.STEPPER_HOME);
  return {
    // resolveDataDir has rejected a relative STEPPER_HOME before this runs.
    stepperHome: path.isAbsolute(stepperHome) ? path.normalize(stepperHome) : '',
    ollamaHost: hasPassword(ollamaHost) ? '' : ollamaHost,
    model: usable(env.STEPPER_MODEL),
  };
}

function hasPassword(ollamaHost: string): boolean {
  return maskPassword(ollamaHost) !== ollamaHost;
}

function installHook(hooksDir: string, hook: HookName, paths: RecordedPaths): InstallFileResult {
  const file = path.join(hooksDir, hook);
  const existing = readBytes(file);

  if (existing === undefined) {
    writeNewScript(file, hook, paths);
    return { hook, file, action: 'created', warnings: [] };
  }

  if (!isShellHook(existing)) {
    return installStandalone(hooksDir, hook, file, existing, paths);
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

/**
 * Writes the block into `stepper-<hook>` beside a hook in another language, which stays
 * unchanged. The install counts as refused until that hook runs the program.
 */
function installStandalone(hooksDir: string, hook: HookName, file: string, existing: string, paths: RecordedPaths): InstallFileResult {
  const standalone = path.join(hooksDir, `stepper-${hook}`);
  const current = readBytes(standalone);
  const block = toBytes(renderBlock({ hook, ...blockPaths(paths), stepperVersion: VERSION, createdFile: true }));
  // The script that uninstall leaves for a hook that still runs it is replaced whole.
  const content = current === undefined || isLeftoverScript(current) ? `#!/bin/sh\n${block}` : insertBlock(current, block);
  if (content !== current) {
    fs.writeFileSync(standalone, content, { encoding: 'latin1', mode: 0o755 });
  }
  fs.chmodSync(standalone, 0o755);

  if (linesRunning(existing, standalone).length === 0) {
    const refused = { file, interpreter: interpreterOf(existing) ?? 'binary', standalone, instruction: runInstruction(hook, standalone) };
    return { hook, file, action: 'refused', standalone, refused, warnings: [] };
  }

  let action: InstallFileResult['action'] = 'updated';
  if (current === undefined) {
    action = 'created';
  } else if (content === current) {
    action = 'unchanged';
  }

  return { hook, file, action, standalone, warnings: isExecutable(file) ? [] : [notExecutableWarning(file)] };
}

/** Tells a hook in another language how to run the block's program, in words that fit any language. */
export function runInstruction(hook: HookName, standalone: string): string {
  return hook === 'post-rewrite'
    ? `make it run this program with the hook's first argument and its standard input: ${standalone}`
    : `make it run this program: ${standalone}`;
}

/**
 * Returns the numbers, counted from 1, of the lines of a hook file that name `program` by
 * its file name, which a call by absolute or relative path contains.
 * NOTE: a comment that names the program counts as a call too.
 */
function linesRunning(content: string, program: string): number[] {
  const name = toBytes(path.basename(program));
  return content.split('\n').flatMap((line, index) => (line.includes(name) ? [index + 1] : []));
}

function blockPaths(paths: RecordedPaths): Pick<BlockSettings, 'node' | 'kick' | 'fallbackDataDir' | 'fallbackHome' | 'fallbackOllamaHost' | 'fallbackModel'> {
  return {
    node: paths.node,
    kick: paths.kick,
    fallbackDataDir: paths.dataDir,
    fallbackHome: paths.stepperHome,
    fallbackOllamaHost: paths.ollamaHost,
    fallbackModel: paths.model,
  };
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
  /**
   * `removed` the block, `deleted` a file stepper had created, left a file that has no block
   * `unchanged`, or `absent` when the hook file does not exist.
   */
  action: 'removed' | 'deleted' | 'unchanged' | 'absent';
  /** Set when a hook still runs the `stepper-<hook>` program, which stepper then kept. */
  warnings: string[];
}

export interface UninstallResult {
  hooksDir: string;
  files: UninstallFileResult[];
}

/**
 * Removes stepper's block from the post-commit and post-rewrite hooks and from the
 * `stepper-<hook>` programs written beside non-shell hooks. A file stepper created is
 * deleted when nothing but its `#!` line is left, except a `stepper-<hook>` program that
 * its hook still runs: it stays as a script that does nothing, with a warning naming the
 * lines that run it. Any other file keeps its other bytes. A damaged hook file raises
 * HookDamagedError before anything is changed.
 */
export async function uninstallHooks(options: HookCommandOptions = {}): Promise<UninstallResult> {
  const hooksDir = await findHooksDir(options.cwd ?? currentFolder());
  checkUndamaged(hooksDir);
  const files: UninstallFileResult[] = [];

  for (const hook of HOOK_NAMES) {
    const file = path.join(hooksDir, hook);
    files.push(uninstallFile(file, hook));

    const standalone = uninstallStandalone(path.join(hooksDir, `stepper-${hook}`), hook, file);
    if (standalone !== undefined) {
      files.push(standalone);
    }
  }

  return { hooksDir, files };
}

function uninstallFile(file: string, hook: HookName): UninstallFileResult {
  const content = readBytes(file);
  if (content === undefined) {
    return { hook, file, action: 'absent', warnings: [] };
  }

  const block = readBlock(content);
  if (block === undefined) {
    return { hook, file, action: 'unchanged', warnings: [] };
  }

  const rest = removeBlock(content);
  if (block.createdFile && isEmptyScript(rest)) {
    fs.rmSync(file, { force: true });
    return { hook, file, action: 'deleted', warnings: [] };
  }

  fs.writeFileSync(file, rest, 'latin1');
  return { hook, file, action: 'removed', warnings: [] };
}

/**
 * Removes the block from the `stepper-<hook>` program beside `hookFile`, or returns
 * undefined when there is no such file or it is not stepper's. A deleted program that the
 * hook still ran would make every commit print the hook's error (a Python hook raises
 * FileNotFoundError, for one), so while the hook names it, it stays as a script that does
 * nothing.
 */
function uninstallStandalone(file: string, hook: HookName, hookFile: string): UninstallFileResult | undefined {
  const content = readBytes(file);
  if (content === undefined) {
    return undefined;
  }

  const hookContent = readBytes(hookFile);
  const callers = hookContent === undefined ? [] : linesRunning(hookContent, file);
  const block = readBlock(content);
  const emptied = block === undefined ? isLeftoverScript(content) : block.createdFile && isEmptyScript(removeBlock(content));

  if (block !== undefined && !emptied) {
    fs.writeFileSync(file, removeBlock(content), 'latin1');
    return { hook, file, action: 'removed', warnings: [] };
  }
  if (!emptied) {
    // A file of that name without a block or the leftover text is not stepper's.
    return undefined;
  }
  if (callers.length === 0) {
    fs.rmSync(file, { force: true });
    return { hook, file, action: 'deleted', warnings: [] };
  }

  if (block !== undefined) {
    fs.writeFileSync(file, leftoverScript(hook), 'latin1');
  }
  const lines = callers.length === 1 ? `line ${callers[0]}` : `lines ${callers.join(', ')}`;
  const warning =
    `${hookFile} still runs ${file} (${lines}), so stepper kept that program as a script that does nothing and your commits keep working; ` +
    `remove the call on ${lines} of ${hookFile}, then run stepper hook uninstall again to delete the program`;
  return { hook, file, action: block === undefined ? 'unchanged' : 'removed', warnings: [warning] };
}

/** First comment line of the script that uninstall leaves in place of a program a hook still runs. */
const LEFTOVER_LINE = '# stepper hook uninstall left this script, which does nothing, because';

function leftoverScript(hook: HookName): string {
  const lines = [
    '#!/bin/sh',
    `${LEFTOVER_LINE} the ${hook} hook runs it.`,
    `# Once ${hook} no longer runs it, delete it or run stepper hook uninstall again.`,
  ];
  if (hook === 'post-rewrite') {
    // stepper's block read git's list of rewritten commits, so a hook that passes the list
    // on may rely on this script reading it.
    lines.push('while IFS= read -r stepper_line; do :; done');
  }

  return `${lines.join('\n')}\n`;
}

function isLeftoverScript(content: string): boolean {
  return content.split('\n')[1]?.startsWith(LEFTOVER_LINE) === true;
}

/** Returns true for the text of a file that contains at most a `#!` line and blank lines. */
function isEmptyScript(content: string): boolean {
  return /^(#![^\n]*\n?)?\s*$/.test(content);
}

export interface HookFileStatus {
  hook: HookName;
  file: string;
  exists: boolean;
  executable: boolean;
  installed: boolean;
  /** The `stepper-<hook>` program beside a non-shell hook, when the block lives there. */
  standalone?: string;
  /** With `standalone`: whether the hook names that program, which counts as running it. */
  runsStandalone?: boolean;
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
  /**
   * Whether git runs the block on a commit and the block can start the kick: the block is
   * installed, the file git runs is executable, a non-shell hook runs `stepper-<hook>`, and
   * the recorded node and kick paths exist. An older block that meets these still works.
   */
  working: boolean;
  warnings: string[];
}

/** The reader of the waiting hints: a `kick` about to run, a `daemon`, or `none`, so they stay. */
export type HintReader = 'kick' | 'daemon' | 'none';

export interface HookStatus {
  hooksDir: string;
  dataDir: string;
  hooks: HookFileStatus[];
  /** Hint files no kick or daemon has read yet. */
  pendingHints: number;
  /**
   * Whether kick.pending names a live process, which runs the kick. The kick deletes the
   * file, so one whose process has exited means a kick that could not start.
   */
  kickPending: boolean;
  /** Pid of that process, when kickPending is true. */
  kickPid?: number;
  /** The reader of the waiting hints. With `none` and hints waiting, they stay until a daemon starts. */
  hintReader: HintReader;
  /**
   * The last failures from hook.log, oldest first. A failure that names another
   * repository's git directory, or node and kick paths that none of this repository's
   * hooks runs, is left out.
   */
  failures: Array<{ time: string | undefined; message: string }>;
  /**
   * False when an installed hook is not `working`, a block is damaged, or hints wait that
   * nothing will read. `stepper hook status` then exits with 1. A hook that is not installed
   * or is older only warns.
   */
  ok: boolean;
  /** Warnings of all hooks and of the waiting hints in one list, for a quick check. */
  warnings: string[];
}

/**
 * Reports, for each hook, whether the block is installed, whether it is current, and
 * whether the node binary and kick script it records still exist, with the hints waiting,
 * what will read them, and this repository's last failures from hook.log.
 */
export async function hookStatus(options: HookCommandOptions = {}): Promise<HookStatus> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? currentFolder();
  const hooksDir = await findHooksDir(cwd);
  const dataDir = resolveDataDir(env);

  const hooks = HOOK_NAMES.map((hook) => fileStatus(hooksDir, hook));
  const commonDir = await findCommonDir(cwd);
  const failures = readHookLog(dataDir)
    .filter((entry) => entry.level === 'error' && concernsRepository(entry, commonDir, hooks))
    .slice(-STATUS_FAILURES_SHOWN)
    .map((entry) => ({ time: entry.time, message: entry.message }));

  const pendingHints = countHints(dataDir);
  const { reader, kickPid } = findHintReader(dataDir);
  const warnings = hooks.flatMap((hook) => hook.warnings);
  const stuck = pendingHints > 0 && reader === 'none';
  // A hook that cannot write into the data directory drops every commit without a trace.
  const unusable = unusableDataDirMessage(dataDir);
  if (unusable !== undefined) {
    warnings.push(`${unusable}; until then the hooks cannot queue any commit`);
  }
  if (stuck) {
    const [hints, them] = pendingHints === 1 ? ['1 hint waits', 'it'] : [`${pendingHints} hints wait`, 'them'];
    warnings.push(`${hints} in ${path.join(dataDir, HINTS_DIR)}, but no kick will run and no daemon runs to read ${them}: run stepper daemon start, which reads ${them}`);
  }

  return {
    hooksDir,
    dataDir,
    hooks,
    pendingHints,
    kickPending: kickPid !== undefined,
    kickPid,
    hintReader: reader,
    failures,
    ok: !stuck && unusable === undefined && hooks.every((hook) => hook.working || (!hook.installed && hook.damaged === undefined)),
    warnings,
  };
}

/** Returns checkDataDirUsable's message for a data directory that is a file or under one. */
function unusableDataDirMessage(dataDir: string): string | undefined {
  try {
    checkDataDirUsable(dataDir);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Finds what will read the hints: the process that kick.pending names while it is alive,
 * as the hook checks with `kill -0`, else a daemon that holds its lock or is starting.
 */
function findHintReader(dataDir: string): { reader: HintReader; kickPid?: number } {
  const pid = readKickMarker(dataDir);
  if (pid !== undefined && isProcessAlive(pid)) {
    return { reader: 'kick', kickPid: pid };
  }
  if (probeDaemonLock(dataDir) === 'held' || readStartingMarker(dataDir) !== undefined) {
    return { reader: 'daemon' };
  }

  return { reader: 'none' };
}

/** Returns the pid in kick.pending, or undefined when the file is missing or contains no pid. */
function readKickMarker(dataDir: string): number | undefined {
  let marker: string;
  try {
    marker = fs.readFileSync(path.join(dataDir, HINTS_DIR, KICK_MARKER), 'utf8').trim();
  } catch {
    return undefined;
  }

  return /^[1-9][0-9]*$/.test(marker) ? Number(marker) : undefined;
}

/**
 * Removes kick.pending unless a hook has just written the pid of a live process into it.
 * NOTE: a hook that writes between the check and the removal loses its marker, so the next
 * hook may start a second kick, which only enqueues what is already queued.
 */
function removeDeadKickMarker(dataDir: string): void {
  const pid = readKickMarker(dataDir);
  if (pid !== undefined && isProcessAlive(pid)) {
    return;
  }

  try {
    fs.rmSync(path.join(dataDir, HINTS_DIR, KICK_MARKER), { force: true });
  } catch {
    // The hook replaces a marker whose process has exited, so one left behind does no harm.
  }
}

/** Returns the real path of the repository's common git directory, or undefined when git cannot tell. */
async function findCommonDir(cwd: string): Promise<string | undefined> {
  try {
    const output = await runGit({ cwd }, ['rev-parse', '--path-format=absolute', '--git-common-dir']);
    return fs.realpathSync(output.endsWith('\n') ? output.slice(0, -1) : output);
  } catch {
    return undefined;
  }
}

// Two failures that the shell block writes (HOOK_FUNCTIONS in block.ts) name where they
// come from. The other lines name no repository, so status shows them everywhere.
const KICK_MISSING_LINE = /^kick cannot start: .* is missing; run stepper hook install again$/;
const HINT_NOT_WRITTEN_LINE = /^post-(?:commit|rewrite) cannot write a hint file into .* for (\/.*)$/;

/**
 * Returns false for a hook.log failure that cannot come from this repository's hooks: one
 * naming the git directory of another repository, or node and kick paths that none of its
 * hooks records now.
 */
function concernsRepository(entry: HookLogEntry, commonDir: string | undefined, hooks: HookFileStatus[]): boolean {
  if (KICK_MISSING_LINE.test(entry.message)) {
    return hooks.some(
      (hook) => hook.node !== undefined && hook.kick !== undefined && entry.message === `kick cannot start: ${hook.node.path} or ${hook.kick.path} is missing; run stepper hook install again`,
    );
  }

  const hint = HINT_NOT_WRITTEN_LINE.exec(entry.message);
  if (hint === null || commonDir === undefined) {
    return true;
  }

  // The hook names a worktree's own git directory, which lies inside the common one.
  const gitDir = realPathOrSelf(hint[1] as string);
  return gitDir === commonDir || gitDir.startsWith(`${commonDir}${path.sep}worktrees${path.sep}`);
}

function realPathOrSelf(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
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
    working: false,
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
      status.runsStandalone = linesRunning(content, blockFile).length > 0;
      status.warnings.push(...standaloneWarnings(status, content));
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

  const programRuns = status.standalone === undefined || (status.runsStandalone === true && isExecutable(status.standalone));
  status.working = status.executable && programRuns && status.node?.usable === true && status.kick?.usable === true;
  return status;
}

/** Warnings for a non-shell hook whose block lives in `stepper-<hook>`. */
function standaloneWarnings(status: HookFileStatus, content: string): string[] {
  const standalone = status.standalone as string;
  const warnings: string[] = [];
  if (!status.runsStandalone) {
    const language = interpreterOf(content) ?? 'binary';
    warnings.push(`${status.file} is a ${language} hook that does not run ${standalone}, so stepper sees no commits: ${runInstruction(status.hook, standalone)}`);
  }
  if (!status.executable) {
    warnings.push(notExecutableWarning(status.file));
  }
  if (!isExecutable(standalone)) {
    warnings.push(`${standalone} is not executable, so ${status.file} cannot run it: run ${chmodCommand(standalone)}`);
  }

  return warnings;
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
    // The same stepper version can have written an older block while stepper was developed.
    const written =
      status.stepperVersion === VERSION
        ? `holds a block of format v${block.formatVersion ?? '?'}, and this stepper writes v${HOOK_FORMAT_VERSION}`
        : `was installed by stepper ${status.stepperVersion ?? 'of an unknown version'}, this is ${VERSION}`;
    status.warnings.push(`${blockFile} ${written}: run stepper hook install to update it`);
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

// The shell block that stepper adds to a git hook, and the text operations on hook files.
// The block runs inside git commit, so its common path uses shell builtins only: no git,
// no node and no other program runs until git has finished.
import { DAEMON_LIVE_FILE } from './log.js';

/** Version of the block's format. A block with a lower number is reported as older. */
export const HOOK_FORMAT_VERSION = 4;

/** The hooks stepper installs. */
export const HOOK_NAMES = ['post-commit', 'post-rewrite'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

const BEGIN_LINE = '# >>> stepper hook >>>';
const END_LINE = '# <<< stepper hook <<<';
const CREATED_LINE = '# stepper created this file; `stepper hook uninstall` deletes it with the block.';
const VERSION_PATTERN = /^# stepper hook v(\d+) \(stepper ([^)\n]*)\)$/m;

/** Values recorded in a block at install time. */
export interface BlockSettings {
  hook: HookName;
  /** Absolute path of the node binary that runs the kick. */
  node: string;
  /** Absolute path of dist/hook/kick.js. */
  kick: string;
  /** The data directory when STEPPER_HOME, XDG_STATE_HOME and HOME are all unset in the hook's environment. */
  fallbackDataDir: string;
  /**
   * STEPPER_HOME, OLLAMA_HOST and STEPPER_MODEL as set at install time, or empty. The hook
   * uses them when git's environment lacks them, as a commit from a graphical client's does.
   */
  fallbackHome: string;
  fallbackOllamaHost: string;
  fallbackModel: string;
  stepperVersion: string;
  /** Whether stepper created the hook file, so that uninstall may delete it. */
  createdFile: boolean;
}

/** Settings read back from a hook file's block by status and install. */
export interface BlockInfo {
  formatVersion: number | undefined;
  stepperVersion: string | undefined;
  node: string | undefined;
  kick: string | undefined;
  createdFile: boolean;
}

/**
 * Quotes `value` for POSIX sh in single quotes, where only a single quote needs escaping.
 * A newline would survive the quoting but break the one-variable-per-line layout that
 * status reads back, so it is rejected by the caller first.
 */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Reverses shellQuote for a value written by it. */
function shellUnquote(quoted: string): string | undefined {
  if (!/^'(?:[^']|'\\'')*'$/.test(quoted)) {
    return undefined;
  }

  return quoted.slice(1, -1).replace(/'\\''/g, "'");
}

/**
 * Renders the block. The hook finds the data directory the way resolveDataDir does and
 * skips commits made while a rebase runs, because post-rewrite lists them at its end.
 * It writes the new commit ids into a hint file. Unless a live daemon watches the hints
 * folder, it starts the kick one second later, once per burst, sharing no stdio with git.
 * Every failure is swallowed, so the block ends with status 0 and prints nothing.
 */
export function renderBlock(settings: BlockSettings): string {
  const lines = [
    BEGIN_LINE,
    `# stepper hook v${HOOK_FORMAT_VERSION} (stepper ${settings.stepperVersion})`,
    '# Managed by `stepper hook install`; edits inside this block are lost when it runs again.',
  ];
  if (settings.createdFile) {
    lines.push(CREATED_LINE);
  }

  lines.push(
    `stepper_node=${shellQuote(settings.node)}`,
    `stepper_kick=${shellQuote(settings.kick)}`,
    `stepper_fallback_data=${shellQuote(settings.fallbackDataDir)}`,
    `stepper_fallback_home=${shellQuote(settings.fallbackHome)}`,
    `stepper_fallback_ollama_host=${shellQuote(settings.fallbackOllamaHost)}`,
    `stepper_fallback_model=${shellQuote(settings.fallbackModel)}`,
    HOOK_FUNCTIONS,
    settings.hook === 'post-commit'
      ? 'stepper_hook post-commit || :'
      : 'stepper_hook post-rewrite "${1-}" || :',
    END_LINE,
  );

  return `${lines.join('\n')}\n`;
}

// The functions every block shares. Variables read from the environment use ${NAME-}
// so that a hook running under `set -u` does not stop at an unset one. A redirection
// failure on a compound command or a regular builtin does not end a POSIX shell, so a
// missing or read-only folder makes a step fail rather than the hook exit early.
// stepper_record runs with stderr on /dev/null, one redirection for all its steps. A shell
// keeps a copy of each descriptor that a redirection replaces, and a subshell forked during
// the call would inherit git's stderr through that copy. A caller reading git's output
// through a pipe would then wait until the subshell's sleep ends, so the background
// subshell starts only after the call has returned.
//
// dash's `read` takes one byte per system call, so the common path reads only HEAD, the
// branch file and daemon.live, which are short.
const HOOK_FUNCTIONS = String.raw`stepper_valid_id() {
  case $1 in *[!0-9a-f]*) return 1 ;; esac
  case ${'$'}{#1} in 40|64) return 0 ;; esac
  return 1
}
stepper_head_id() {
  stepper_id=
  if [ ! -h "$stepper_gitdir/HEAD" ] && IFS= read -r stepper_line <"$stepper_gitdir/HEAD"; then
    case $stepper_line in
      'ref: refs/heads/'*)
        stepper_ref=${'$'}{stepper_line#ref: }
        stepper_common=$stepper_gitdir
        if [ -f "$stepper_gitdir/commondir" ] && IFS= read -r stepper_line <"$stepper_gitdir/commondir"; then
          case $stepper_line in
            /*) stepper_common=$stepper_line ;;
            *) stepper_common=$stepper_gitdir/$stepper_line ;;
          esac
        fi
        case $stepper_ref in
          *..*|*' '*) ;;
          *)
            if [ -f "$stepper_common/$stepper_ref" ] && [ ! -h "$stepper_common/$stepper_ref" ]; then
              IFS= read -r stepper_id <"$stepper_common/$stepper_ref"
            fi
            ;;
        esac
        ;;
      *) stepper_id=$stepper_line ;;
    esac
  fi
  stepper_valid_id "$stepper_id" && return 0
  # Packed refs, reftable, a symbolic link or a ref outside refs/heads: ask git.
  stepper_id=$(git rev-parse --verify -q HEAD) || stepper_id=
  stepper_valid_id "$stepper_id"
}
stepper_daemon_alive() {
  # The daemon holds this file open for its lifetime and writes "<pid> <descriptor>" into
  # it. A dead daemon, a reused pid or a missing /proc (macOS) fails the -ef test.
  IFS=' ' read -r stepper_live_pid stepper_live_fd <"$1" || return 1
  case $stepper_live_pid in ''|*[!0-9]*) return 1 ;; esac
  case $stepper_live_fd in ''|*[!0-9]*) return 1 ;; esac
  [ "/proc/$stepper_live_pid/fd/$stepper_live_fd" -ef "$1" ]
}
stepper_record() {
  stepper_gitdir=${'$'}{GIT_DIR-}
  if [ -z "$stepper_gitdir" ]; then
    if [ -d .git ]; then
      stepper_gitdir=.git
    elif [ -f .git ] && IFS= read -r stepper_line <.git && [ "${'$'}{stepper_line#gitdir: }" != "$stepper_line" ]; then
      stepper_gitdir=${'$'}{stepper_line#gitdir: }
    else
      stepper_gitdir=$(git rev-parse --absolute-git-dir) || return 1
    fi
  fi
  case $stepper_gitdir in
    /*) ;;
    *) stepper_gitdir=$PWD/$stepper_gitdir ;;
  esac

  # git commit --amend runs post-commit too, which records the new commit.
  [ "$1:${'$'}{2-}" != post-rewrite:amend ] || return 1
  # post-commit runs once per picked commit during a rebase, and post-rewrite rebase lists
  # them all at the end, while rebase-merge still exists. Cherry-pick and revert ranges
  # (the sequencer folder) run no post-rewrite, so their commits are recorded one by one.
  if [ "$1" = post-commit ] && { [ -d "$stepper_gitdir/rebase-merge" ] || [ -d "$stepper_gitdir/rebase-apply" ]; }; then
    return 1
  fi

  stepper_ids=
  if [ "$1" = post-commit ]; then
    stepper_head_id || return 1
    stepper_ids="commit $stepper_id"
  else
    while read -r stepper_old stepper_new stepper_rest; do
      stepper_valid_id "$stepper_new" || continue
      stepper_ids="$stepper_ids${'$'}{stepper_ids:+
}commit $stepper_new"
    done
    [ -n "$stepper_ids" ] || return 1
  fi

  if [ ! -d "$stepper_spool" ]; then
    # The umask makes every folder mkdir creates private, not only the last one.
    ( umask 077 && mkdir -p "$stepper_spool" ) || return 1
  fi

  # Noclobber makes each file belong to one hook run; the counter steps past names
  # left by an earlier process with the same pid.
  set -C
  stepper_n=0
  while [ "$stepper_n" -lt 20 ]; do
    stepper_hint=$stepper_spool/$$-$stepper_n.hint
    if printf '%s\n' 'stepper-hint 1' "event $1${'$'}{2:+ $2}" "gitdir $stepper_gitdir" "$stepper_ids" 'end' >"$stepper_hint"; then
      break
    fi
    if [ "$stepper_n" = 19 ] || [ ! -e "$stepper_hint" ]; then
      printf '%s\n' "- error $1 cannot write a hint file into $stepper_spool for $stepper_gitdir" >>"$stepper_data/hook.log"
      return 1
    fi
    stepper_n=$((stepper_n + 1))
  done

  # A live daemon watches the hints folder and reads this hint itself, so nothing is started.
  # The check comes after the hint is written, and a daemon removes ${DAEMON_LIVE_FILE}
  # before it reads the hints one last time and exits. A hook that still finds the file
  # therefore wrote its hint before that last read, and one that finds no file kicks.
  ! stepper_daemon_alive "$stepper_data/${DAEMON_LIVE_FILE}" || return 1

  # One kick per burst: the marker names the process that will run the kick, and the
  # kick deletes it first thing. A marker whose process is gone is replaced. Pid 0
  # would make kill -0 signal the hook's own process group.
  stepper_marker=$stepper_spool/kick.pending
  if IFS= read -r stepper_pid <"$stepper_marker"; then
    case $stepper_pid in
      ''|0*|*[!0-9]*) ;;
      *) ! kill -0 "$stepper_pid" || return 1 ;;
    esac
    printf '%s\n' "$$" >|"$stepper_marker"
  elif ! printf '%s\n' "$$" >"$stepper_marker"; then
    # Another hook created the marker a moment ago and starts the kick.
    return 1
  fi
  return 0
}
stepper_hook() {
  case ${'$'}{STEPPER_HOME-} in
    /*) stepper_data=$STEPPER_HOME ;;
    '')
      # A STEPPER_HOME set at install time wins over the defaults, so a commit from a program
      # without it reaches the same queue as one from the shell.
      case $stepper_fallback_home in
        /*) stepper_data=$stepper_fallback_home ;;
        *)
          case ${'$'}{XDG_STATE_HOME-} in
            /*) stepper_data=$XDG_STATE_HOME/stepper ;;
            *)
              case ${'$'}{HOME-} in
                '') stepper_data=$stepper_fallback_data ;;
                *) stepper_data=$HOME/.local/state/stepper ;;
              esac
              ;;
          esac
          ;;
      esac
      ;;
    # stepper rejects a relative STEPPER_HOME, so there is no queue to write to.
    *) return 0 ;;
  esac
  stepper_spool=$stepper_data/spool/hooks

  # stepper_record returns 0 only when this hook must start the kick.
  case $- in *C*) stepper_noclobber=1 ;; *) stepper_noclobber= ;; esac
  stepper_kick_due=
  stepper_record "$@" 2>/dev/null && stepper_kick_due=1
  [ -n "$stepper_noclobber" ] || set +C
  [ -n "$stepper_kick_due" ] || return 0

  # Node starts after git has finished, so it does not compete with the commit for the CPU.
  # The daemon that the kick may start keeps the install's Ollama and model unless git's
  # environment names its own.
  (
    sleep 1
    if [ -z "${'$'}{OLLAMA_HOST-}" ] && [ -n "$stepper_fallback_ollama_host" ]; then
      OLLAMA_HOST=$stepper_fallback_ollama_host
      export OLLAMA_HOST
    fi
    if [ -z "${'$'}{STEPPER_MODEL-}" ] && [ -n "$stepper_fallback_model" ]; then
      STEPPER_MODEL=$stepper_fallback_model
      export STEPPER_MODEL
    fi
    if [ -x "$stepper_node" ] && [ -f "$stepper_kick" ]; then
      exec "$stepper_node" "$stepper_kick" "$stepper_data"
    fi
    printf '%s\n' "- error kick cannot start: $stepper_node or $stepper_kick is missing; run stepper hook install again" >>"$stepper_data/hook.log"
  ) </dev/null >/dev/null 2>&1 &
  { printf '%s\n' "$!" >|"$stepper_marker"; } 2>/dev/null
  return 0
}`;

/** A block found in a hook file, with its position in the text. */
interface FoundBlock {
  start: number;
  end: number;
  text: string;
}

function findBlock(content: string): FoundBlock | undefined {
  const begin = content.indexOf(`${BEGIN_LINE}\n`);
  if (begin === -1 || (begin > 0 && content[begin - 1] !== '\n')) {
    return undefined;
  }

  const endAt = content.indexOf(END_LINE, begin);
  if (endAt === -1) {
    return undefined;
  }

  let end = endAt + END_LINE.length;
  if (content[end] === '\n') {
    end += 1;
  }

  return { start: begin, end, text: content.slice(begin, end) };
}

// The last line of the block's own code, so a block whose end line was deleted still shows where it ends.
const CALL_LINE = /^stepper_hook post-(commit|rewrite)\b.*\|\| :$/;

/** A hook file's stepper markers that do not form one whole block, with the lines to delete. */
export interface BlockDamage {
  /** Description of the damage, such as `line 2 starts a stepper block that has no end line`. */
  problem: string;
  /** First and last line to delete, counted from 1. */
  firstLine: number;
  lastLine: number;
}

/**
 * Finds a start line without its end line, an end line without its start line, or a second
 * block, any of which would make the hook run stepper twice or not at all. Returns the
 * first such problem, or undefined for a file with no block or one whole block.
 */
export function findDamage(content: string): BlockDamage | undefined {
  const lines = content.split('\n');
  let openAt: number | undefined;
  let blocks = 0;

  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index];
    if (line === BEGIN_LINE) {
      if (openAt !== undefined) {
        return unterminated(lines, openAt, index);
      }
      openAt = index;
    } else if (line === END_LINE) {
      if (openAt === undefined) {
        return { problem: `line ${index + 1} ends a stepper block that has no start line`, firstLine: index + 1, lastLine: index + 1 };
      }

      blocks += 1;
      if (blocks > 1) {
        return { problem: `lines ${openAt + 1}-${index + 1} are a second stepper block`, firstLine: openAt + 1, lastLine: index + 1 };
      }
      openAt = undefined;
    }
  }

  return openAt === undefined ? undefined : unterminated(lines, openAt, lines.length);
}

/** Describes the block starting at `start` (an index) whose end line is missing before `limit`. */
function unterminated(lines: readonly string[], start: number, limit: number): BlockDamage {
  let last = limit - 1;
  // A file ending in a newline splits into a last empty string, which is no line.
  while (last > start && lines[last] === '') {
    last -= 1;
  }
  for (let index = last; index > start; index -= 1) {
    if (CALL_LINE.test(lines[index] as string)) {
      last = index;
      break;
    }
  }

  return { problem: `line ${start + 1} starts a stepper block that has no end line`, firstLine: start + 1, lastLine: last + 1 };
}

/** Reads the settings recorded in a hook file's block, or returns undefined when it has none. */
export function readBlock(content: string): BlockInfo | undefined {
  const block = findBlock(content);
  if (!block) {
    return undefined;
  }

  const version = VERSION_PATTERN.exec(block.text);
  return {
    formatVersion: version ? Number(version[1]) : undefined,
    stepperVersion: version?.[2],
    node: readAssignment(block.text, 'stepper_node'),
    kick: readAssignment(block.text, 'stepper_kick'),
    createdFile: block.text.includes(CREATED_LINE),
  };
}

function readAssignment(text: string, name: string): string | undefined {
  const match = new RegExp(`^${name}=(.*)$`, 'm').exec(text);
  return match ? shellUnquote(match[1] as string) : undefined;
}

/**
 * Inserts `block` into a hook file's text, in place of an existing block or else at the
 * end. Everything outside the block stays byte for byte.
 */
export function insertBlock(content: string, block: string): string {
  const found = findBlock(content);
  if (found) {
    return content.slice(0, found.start) + block + content.slice(found.end);
  }

  if (content === '') {
    return block;
  }

  return content.endsWith('\n') ? content + block : `${content}\n${block}`;
}

/** Removes the block from a hook file's text, or returns the text unchanged when it has none. */
export function removeBlock(content: string): string {
  const found = findBlock(content);
  return found ? content.slice(0, found.start) + content.slice(found.end) : content;
}

/** Returns the interpreter a hook file names in its `#!` line, such as `sh` for `#!/usr/bin/env sh -e`, or undefined without one. */
export function interpreterOf(content: string): string | undefined {
  if (!content.startsWith('#!')) {
    return undefined;
  }

  const words = (content.slice(2).split('\n')[0] ?? '').trim().split(/\s+/);
  let program = words[0] ?? '';
  if (program.endsWith('/env')) {
    program = words.slice(1).find((word) => !word.startsWith('-')) ?? '';
  }

  return program.slice(program.lastIndexOf('/') + 1);
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh']);

/**
 * Returns true when the block may be added to an existing hook file, which is one git runs

 * with a POSIX shell. That is a file with a sh, bash, dash, zsh or ksh `#!` line, or a
 * text file without one, which git runs with sh.
 */
export function isShellHook(content: string): boolean {
  if (content.includes('\u0000')) {
    return false;
  }

  const interpreter = interpreterOf(content);
  return interpreter === undefined || SHELLS.has(interpreter);
}

/**
 * Finds a line outside the block that may end the hook before the block runs: an
 * `exit` or `exec` at the start of a line, outside any indentation.
 */
export function findEarlyExit(content: string): string | undefined {
  const outside = removeBlock(content);
  return outside.split('\n').find((line) => /^(exit|exec)\b/.test(line));
}

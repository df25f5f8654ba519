// Lets the git hook skip its kick while a daemon runs. The daemon writes daemon.live into the
// data directory and watches the hints folder, so a hint that a hook writes becomes a job within
// moments, with no node process started by the commit.
//
// The hook writes its hint (W) and then reads daemon.live (R). An orderly exit removes
// daemon.live (D) and then reads the hints once more (F), after any read still running.
// The steps can interleave in these ways:
// - R before D: W came before R, and R before D and F, so the hint is complete when F lists
//   the folder. F enqueues it, and the exiting daemon starts a successor for the new jobs.
// - D before R: the hook finds no file and starts the kick, as it does with no daemon. F may
//   enqueue the hint as well, and the queue deduplicates the second enqueue.
// - A hook that reads the file of a daemon that has just started: the daemon started its
//   watcher before it wrote the file, and scans once right after. That scan reads a hint
//   written before the watcher started, and a later hint raises a watch event.
// - A hook that reads the file while the daemon writes it: the file is replaced by a rename,
//   so the hook reads the old content, the new one, or nothing. It decides with the content
//   it read, as in the cases above.
// A daemon that dies without an orderly exit leaves daemon.live behind, but the kernel has
// closed the descriptor recorded in it, so hooks start the kick again.
import fs from 'node:fs';
import path from 'node:path';

import { DAEMON_LIVE_FILE, HINTS_DIR } from '../hook/log.js';
import type { DaemonLogger } from './log.js';
import { ensureDaemon } from './start.js';

export interface HintWatchOptions {
  dataDir: string;
  log: DaemonLogger;
  /** Ingests every complete hint once and returns how many became jobs. */
  ingest: () => Promise<number>;
  /** Wait after the last change in the folder before a scan, in milliseconds. @default 25 */
  debounceMs?: number;
}

/** Default wait after a change in the hints folder, so a file's creation and its write share one scan. */
const DEBOUNCE_MS = 25;

/**
 * The daemon's side of the hint folder: the liveness file, a watcher, and scans that never
 * overlap. A scan requested while one runs makes that scan run once more, so a hint that was
 * half-written, or written after the folder was listed, is read on that next pass.
 */
export class HintWatch {
  readonly #dir: string;
  readonly #liveFile: string;
  readonly #log: DaemonLogger;
  readonly #ingest: () => Promise<number>;
  readonly #debounceMs: number;
  #watcher?: fs.FSWatcher;
  #debounce?: NodeJS.Timeout;
  #running?: Promise<void>;
  #again = false;
  #stopped = false;
  /** Descriptor of daemon.live that this daemon holds open, or undefined when it wrote none. */
  #liveFd?: number;

  constructor(options: HintWatchOptions) {
    this.#dir = path.join(options.dataDir, HINTS_DIR);
    this.#liveFile = path.join(options.dataDir, DAEMON_LIVE_FILE);
    this.#log = options.log;
    this.#ingest = options.ingest;
    this.#debounceMs = options.debounceMs ?? DEBOUNCE_MS;
  }

  /**
   * Starts watching the hints folder, then writes daemon.live. Without a watcher, hints wait
   * for the next scan that the caller schedules. Call it only while holding the daemon lock.
   */
  start(): void {
    try {
      fs.mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      this.#log.warn(`hook hints: cannot create ${this.#dir}: ${describe(error)}; hooks keep starting the kick`);
      return;
    }

    this.#watch();
    this.#writeLiveFile();
  }

  /** Ingests the hints now, or once more after the scan that is running. */
  scan(): Promise<void> {
    if (this.#running) {
      this.#again = !this.#stopped;
      return this.#running;
    }

    if (this.#stopped) {
      return Promise.resolve();
    }

    this.#running = this.#scanUntilQuiet();
    return this.#running;
  }

  /** Removes daemon.live and stops the watcher, so the next hook starts the kick. Safe to call twice. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#removeLiveFile();
  }

  /**
   * Stops, waits for a running scan, and ingests once more, so a hint from a hook that read
   * daemon.live before stop() gets its job. Returns the number of hints enqueued.
   */
  async drain(): Promise<number> {
    this.stop();
    await this.#running;

    try {
      return await this.#ingest();
    } catch (error) {
      this.#log.error(`hook hints: the last read before exiting failed: ${describe(error)}`);
      return 0;
    }
  }

  async #scanUntilQuiet(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          await this.#ingest();
        } catch (error) {
          this.#log.error(`hook hints: reading the hints failed: ${describe(error)}`);
        }
      } while (this.#again && !this.#stopped);
    } finally {
      this.#running = undefined;
    }
  }

  #watch(): void {
    try {
      // Not persistent: the watcher alone must not keep an exiting daemon alive.
      const watcher = fs.watch(this.#dir, { persistent: false }, (_event, name) => {
        // Some platforms give no name, so an event without one counts as a hint.
        if (name === null || String(name).endsWith('.hint')) {
          this.#scheduleScan();
        }
      });
      watcher.on('error', (error) => {
        this.#log.warn(`hook hints: watching ${this.#dir} failed: ${describe(error)}; hints wait for the heartbeat scan`);
        watcher.close();
        if (this.#watcher === watcher) {
          this.#watcher = undefined;
        }
      });
      this.#watcher = watcher;
    } catch (error) {
      this.#log.warn(`hook hints: cannot watch ${this.#dir}: ${describe(error)}; hints wait for the heartbeat scan`);
    }
  }

  #scheduleScan(): void {
    if (this.#stopped) {
      return;
    }

    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.scan(), this.#debounceMs);
  }

  /**
   * Writes `<pid> <descriptor>` into daemon.live and keeps that descriptor open until stop().
   * A hook trusts the file only while /proc/<pid>/fd/<descriptor> is that very file, which
   * no other process holds at that number after this one has died.
   */
  #writeLiveFile(): void {
    const temporary = `${this.#liveFile}.${process.pid}.tmp`;
    let fd: number | undefined;
    try {
      // Node opens files with O_CLOEXEC, so no child process inherits the descriptor.
      fd = fs.openSync(temporary, 'w', 0o600);
      if (!isVisibleInProc(fd)) {
        this.#log.info(`hook hints: /proc/${process.pid}/fd is not readable, so hooks keep starting the kick after each commit`);
        fs.closeSync(fd);
        fs.rmSync(temporary, { force: true });
        return;
      }

      fs.writeSync(fd, `${process.pid} ${fd}\n`);
      // The rename keeps the inode that the descriptor refers to, and a hook never reads half a file.
      fs.renameSync(temporary, this.#liveFile);
      this.#liveFd = fd;
    } catch (error) {
      this.#log.warn(`hook hints: cannot write ${this.#liveFile}: ${describe(error)}; hooks keep starting the kick`);
      if (fd !== undefined) {
        fs.closeSync(fd);
      }
      fs.rmSync(temporary, { force: true });
    }
  }

  #removeLiveFile(): void {
    const fd = this.#liveFd;
    if (fd === undefined) {
      return;
    }

    try {
      // A daemon that took over after this one's lock file was deleted may have replaced the file.
      const held = fs.fstatSync(fd);
      const current = fs.statSync(this.#liveFile);
      if (held.ino === current.ino && held.dev === current.dev) {
        fs.rmSync(this.#liveFile, { force: true });
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#log.error(`hook hints: cannot remove ${this.#liveFile}: ${describe(error)}; hooks start the kick again once its descriptor is closed`);
      }
    }

    // Closing the descriptor makes the hook's check fail even when the file stayed behind.
    this.#liveFd = undefined;
    fs.closeSync(fd);
  }
}

/** Returns true when /proc/<pid>/fd/<fd> of this process refers to the file open at `fd`, as the hook checks it. */
function isVisibleInProc(fd: number): boolean {
  try {
    const viaProc = fs.statSync(`/proc/${process.pid}/fd/${fd}`);
    const held = fs.fstatSync(fd);
    return viaProc.ino === held.ino && viaProc.dev === held.dev;
  } catch {
    return false;
  }
}

/**
 * Starts the daemon that runs the jobs of the last hints an exiting daemon read. The exiting
 * daemon is marked as leaving, so the new one waits for its lock.
 */
export function startSuccessor(dataDir: string, env: NodeJS.ProcessEnv, log: DaemonLogger): void {
  try {
    const result = ensureDaemon({ dataDir, env });
    if (result.started) {
      log.info(`hook hints: started daemon ${result.pid ?? 'with an unknown pid'} for the jobs enqueued while exiting`);
    }
  } catch (error) {
    log.error(`hook hints: cannot start a daemon for the jobs enqueued while exiting: ${describe(error)}; the next enqueue starts one`);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${error.message} (${code})` : error.message;
  }

  return String(error);
}

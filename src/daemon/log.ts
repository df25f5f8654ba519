import fs from 'node:fs';

/** Destination of the daemon's log, which receives one message per call. */
export interface DaemonLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  close(): void;
}

export interface FileLoggerOptions {
  /** Size at which the file is rotated, in bytes. */
  maxBytes: number;
  /** Rotated files kept: `file.1` is the newest. 0 truncates instead of keeping one. */
  filesKept: number;
}

type Level = 'info' | 'warn' | 'error';

/** Formats one line: an ISO time, the level, the pid and the message on a single line. */
function formatLine(level: Level, message: string): string {
  const flat = message.replace(/[\r\n]+/g, ' ');
  return `${new Date().toISOString()} ${level} [${process.pid}] ${flat}\n`;
}

/**
 * A size-bounded log file with mode 0600. It is rotated when a write would take it past
 * `maxBytes`. A failed write (a full disk, a removed folder) is dropped and counted, never
 * thrown, so logging cannot stop the daemon. The count is written with the next line that
 * succeeds.
 */
export class FileLogger implements DaemonLogger {
  readonly file: string;
  readonly #options: FileLoggerOptions;
  #fd: number | undefined;
  #size = 0;
  #dropped = 0;

  constructor(file: string, options: FileLoggerOptions) {
    this.file = file;
    this.#options = options;
    this.#open();
  }

  info(message: string): void {
    this.#write('info', message);
  }

  warn(message: string): void {
    this.#write('warn', message);
  }

  error(message: string): void {
    this.#write('error', message);
  }

  close(): void {
    if (this.#fd !== undefined) {
      fs.closeSync(this.#fd);
      this.#fd = undefined;
    }
  }

  #open(): void {
    try {
      this.#fd = fs.openSync(this.file, 'a', 0o600);
      const stat = fs.fstatSync(this.#fd);
      // A file that another program created with looser permission bits is made owner-only, as the database is.
      if ((stat.mode & 0o077) !== 0) {
        fs.fchmodSync(this.#fd, stat.mode & 0o600);
      }
      this.#size = stat.size;
    } catch {
      this.#fd = undefined;
    }
  }

  #write(level: Level, message: string): void {
    let line = formatLine(level, message);
    if (this.#dropped > 0) {
      line = formatLine('warn', `${this.#dropped} earlier log lines could not be written`) + line;
    }

    const bytes = Buffer.byteLength(line);
    if (this.#size + bytes > this.#options.maxBytes) {
      this.#rotate();
    }

    if (this.#fd === undefined) {
      this.#open();
    }

    try {
      if (this.#fd === undefined) {
        throw new Error('log file is not open');
      }

      fs.writeSync(this.#fd, line);
      this.#size += bytes;
      this.#dropped = 0;
    } catch {
      this.#dropped += 1;
    }
  }

  #rotate(): void {
    this.close();
    try {
      if (this.#options.filesKept === 0) {
        fs.truncateSync(this.file, 0);
      } else {
        for (let index = this.#options.filesKept - 1; index >= 1; index--) {
          renameIfExists(`${this.file}.${index}`, `${this.file}.${index + 1}`);
        }
        renameIfExists(this.file, `${this.file}.1`);
      }
    } catch {
      // The next open appends to whatever is left, and a later write tries to rotate again.

    }

    this.#open();
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
  }
}

/** Writes lines to stderr, for `stepper daemon run` in the foreground. */
export class StderrLogger implements DaemonLogger {
  info(message: string): void {
    process.stderr.write(formatLine('info', message));
  }

  warn(message: string): void {
    process.stderr.write(formatLine('warn', message));
  }

  error(message: string): void {
    process.stderr.write(formatLine('error', message));
  }

  close(): void {}
}

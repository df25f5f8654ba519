import { stdoutChalk } from '../render/color.js';

import { readJobSubjects, subjectKey } from '../../api/subjects.js';
import { type WatchEvent, type WatchUpdate, watchQueue } from '../../api/watch.js';
import { OUTPUT_BUDGET_TOKENS } from '../../report/context.js';
import { resolveDataDir } from '../../store/data-dir.js';
import { renderWatchView } from '../render/watch-view.js';

export interface WatchCommandOptions {
  json?: boolean;
  follow?: boolean;
}

const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
const CLEAR_TO_END = '\u001b[J';

/** Width of the view when the terminal does not report one. */
const DEFAULT_COLUMNS = 80;

/**
 * Shows the queue: a view redrawn on every poll on a terminal, or one JSON line per job event
 * with `--json` or when stdout is not a terminal. Returns once no job is waiting, delayed or
 * active, unless `follow` is set. SIGINT and SIGTERM end it: the cursor is shown again, and the
 * process then ends by the same signal, so a shell gets status 130 for Ctrl-C.
 */
export async function runWatch(options: WatchCommandOptions): Promise<void> {
  const dataDir = resolveDataDir();
  const controller = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    signalled = signal;
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const output = options.json || !process.stdout.isTTY ? new EventLines() : new LiveView(dataDir, options.follow === true);
  let last: WatchUpdate | undefined;
  try {
    for await (const update of watchQueue({ dataDir, signal: controller.signal })) {
      output.show(update);
      last = update;
      if (update.idle && !options.follow) {
        break;
      }
    }
  } finally {
    output.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  // Jobs held for a missing model would keep watch running until the user acts, so watch
  // ends and prints the command to run.
  for (const model of signalled === undefined && last?.idle ? (last.snapshot?.held ?? []) : []) {
    const jobs = model.jobs === 1 ? '1 job waits' : `${model.jobs} jobs wait`;
    process.stderr.write(`stepper: ${jobs} for model ${JSON.stringify(model.model)}, which Ollama does not have: run ${model.pullCommand}\n`);
  }

  if (signalled !== undefined) {
    // With the handlers gone, the signal's default action ends the process with the usual status.
    process.kill(process.pid, signalled);
  }
}

interface WatchOutput {
  show(update: WatchUpdate): void;
  close(): void;
}

/** One JSON object per event: `{at, type, jobId, sha, repository, seq, data}`. */
class EventLines implements WatchOutput {
  show(update: WatchUpdate): void {
    if (update.events.length > 0) {
      process.stdout.write(update.events.map((event) => `${JSON.stringify(toJsonEvent(event))}\n`).join(''));
    }
  }

  close(): void {}
}

export function toJsonEvent(event: WatchEvent): Record<string, unknown> {
  return {
    at: new Date(event.at).toISOString(),
    type: event.type,
    jobId: event.jobId,
    sha: event.sha,
    repository: event.repository,
    seq: event.seq,
    data: event.data,
  };
}

/**
 * The redrawn view. Each frame moves the cursor up over the previous one and clears to the end
 * of the screen. Frames are cut to the terminal's size, because a wrapped line or a frame
 * taller than the screen would leave the cursor movement off by some lines.
 */
class LiveView implements WatchOutput {
  readonly #dataDir: string;
  readonly #follow: boolean;
  readonly #subjects = new Map<string, string>();
  /** Commits whose subject was asked for, so each is read from git once. */
  readonly #requested = new Set<string>();
  #height = 0;

  constructor(dataDir: string, follow: boolean) {
    this.#dataDir = dataDir;
    this.#follow = follow;
    process.stdout.write(HIDE_CURSOR);
  }

  show(update: WatchUpdate): void {
    this.#requestSubjects(update);
    const columns = process.stdout.columns || DEFAULT_COLUMNS;
    const rows = process.stdout.rows || 24;
    const lines = renderWatchView(update.snapshot, {
      chalk: stdoutChalk(),
      // One column stays free: some terminals wrap a line that fills the last column.
      width: columns - 1,
      now: Date.now(),
      outputBudgetTokens: OUTPUT_BUDGET_TOKENS,
      follow: this.#follow,
      dataDir: this.#dataDir,
      subjects: this.#subjects,
    }).slice(0, Math.max(1, rows - 1));

    const up = this.#height > 0 ? `\u001b[${this.#height}F` : '';
    process.stdout.write(`${up}${CLEAR_TO_END}${lines.join('\n')}\n`);
    this.#height = lines.length;
  }

  close(): void {
    process.stdout.write(SHOW_CURSOR);
  }

  /**
   * Reads from git the subjects of shown jobs that carry none, such as those the hook queued.
   * The read runs beside the polling, and the next frame shows what it found.
   */
  #requestSubjects(update: WatchUpdate): void {
    const jobs = update.snapshot === null ? [] : [...update.snapshot.active, ...update.snapshot.recent];
    const missing = jobs.filter((job) => {
      const key = subjectKey(job.repository, job.commitSha);
      return (job.payload as { subject?: unknown } | null)?.subject === undefined && !this.#requested.has(key);
    });
    if (missing.length === 0) {
      return;
    }

    for (const job of missing) {
      this.#requested.add(subjectKey(job.repository, job.commitSha));
    }
    void readJobSubjects(missing).then((subjects) => {
      for (const [key, subject] of subjects) {
        this.#subjects.set(key, subject);
      }
    });
  }
}

import { stdoutChalk } from '../render/color.js';

import { readJobSubjects, subjectKey } from '../../api/subjects.js';
import { type DaemonEvent, type WatchEvent, type WatchUpdate, watchQueue } from '../../api/watch.js';
import type { Job } from '../../queue/types.js';
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

    if (signalled === undefined) {
      await output.finish();
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
  /** Completes the last frame before watch ends on its own. */
  finish(): Promise<void>;
  close(): void;
}

/** One JSON object per event: `{at, type, jobId, sha, repository, seq, data}`. */
class EventLines implements WatchOutput {
  show(update: WatchUpdate): void {
    const lines = mergeByTime(update.events, update.daemonEvents).map((event) => ('jobId' in event ? toJsonEvent(event) : toJsonDaemonEvent(event)));
    if (lines.length > 0) {
      process.stdout.write(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    }
  }

  async finish(): Promise<void> {}

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
 * Puts each daemon event before the first job event that happened later. The job events keep
 * their order, which is the queue's, even where two processes' clocks disagree by a little.
 * At the same millisecond a wait ends before a job event and starts after one, because the
 * daemon claims no job while it waits.
 */
function mergeByTime(events: readonly WatchEvent[], daemonEvents: readonly DaemonEvent[]): Array<WatchEvent | DaemonEvent> {
  const merged: Array<WatchEvent | DaemonEvent> = [];
  let next = 0;
  const comesFirst = (daemonEvent: DaemonEvent, event: WatchEvent) =>
    daemonEvent.at < event.at || (daemonEvent.at === event.at && daemonEvent.type === 'ollama-wait-ended');
  for (const event of events) {
    while (next < daemonEvents.length && comesFirst(daemonEvents[next] as DaemonEvent, event)) {
      merged.push(daemonEvents[next] as DaemonEvent);
      next += 1;
    }
    merged.push(event);
  }

  return [...merged, ...daemonEvents.slice(next)];
}

/** Shapes a daemon event like a job event, with null in the fields that name a job. */
export function toJsonDaemonEvent(event: DaemonEvent): Record<string, unknown> {
  const data = event.type === 'ollama-wait-started' ? { host: event.host, error: event.error } : { host: event.host, reachable: event.reachable };
  return {
    at: new Date(event.at).toISOString(),
    type: event.type,
    jobId: null,
    sha: null,
    repository: null,
    seq: null,
    data,
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
  /** Subjects read from git, by job id. */
  readonly #subjects = new Map<string, string>();
  /** Jobs whose subject was asked for, so each is read from git once. */
  readonly #requested = new Set<string>();
  /** Subject reads from git that have not finished. */
  readonly #reads = new Set<Promise<void>>();
  #last: WatchUpdate | undefined;
  /** True when a subject arrived after the last frame was drawn. */
  #subjectsArrived = false;
  #height = 0;

  constructor(dataDir: string, follow: boolean) {
    this.#dataDir = dataDir;
    this.#follow = follow;
    process.stdout.write(HIDE_CURSOR);
  }

  show(update: WatchUpdate): void {
    this.#requestSubjects(update);
    this.#draw(update);
  }

  /** Waits for the subjects still being read, and draws the last frame again with them. */
  async finish(): Promise<void> {
    await Promise.all(this.#reads);
    if (this.#subjectsArrived && this.#last !== undefined) {
      this.#draw(this.#last);
    }
  }

  close(): void {
    process.stdout.write(SHOW_CURSOR);
  }

  #draw(update: WatchUpdate): void {
    this.#last = update;
    this.#subjectsArrived = false;
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

  /**
   * Reads from git the subjects of shown jobs that carry none, such as those the hook queued.
   * The read runs beside the polling, and the next frame shows what it found.
   */
  #requestSubjects(update: WatchUpdate): void {
    const snapshot = update.snapshot;
    const jobs: Job[] = snapshot === null ? [] : [...snapshot.active, ...snapshot.delayed.map((delayed) => delayed.job), ...snapshot.recent];
    const missing = jobs.filter((job) => (job.payload as { subject?: unknown } | null)?.subject === undefined && !this.#requested.has(job.id));
    if (missing.length === 0) {
      return;
    }

    for (const job of missing) {
      this.#requested.add(job.id);
    }
    const read = readJobSubjects(missing).then((subjects) => {
      for (const job of missing) {
        const subject = subjects.get(subjectKey(job.repository, job.commitSha));
        if (subject !== undefined) {
          this.#subjects.set(job.id, subject);
          this.#subjectsArrived = true;
        }
      }
    });
    this.#reads.add(read);
    void read.finally(() => this.#reads.delete(read));
  }
}

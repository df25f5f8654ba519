import path from 'node:path';

import type { ChalkInstance } from 'chalk';

import type { DelayedJob, QueueSnapshot } from '../../api/watch.js';
import type { Job } from '../../queue/types.js';
import { formatCount, formatDuration, oneLine, shortSha, wrap } from './text.js';

export interface WatchViewOptions {
  chalk: ChalkInstance;
  /** Terminal columns; every line is cut to fit, so no line wraps and the redraw stays aligned. */
  width: number;
  /** Epoch milliseconds of the frame, for elapsed times. */
  now: number;
  /** Output tokens one model call may produce (num_predict), the basis of the token ETA. */
  outputBudgetTokens: number;
  /** Whether watch goes on after the queue empties. */
  follow: boolean;
  /** Shown when there is no database yet. */
  dataDir: string;
  /** Subjects of jobs that carry none, such as the hook's, by job id. */
  subjects?: ReadonlyMap<string, string>;
}

/** Progress fields the report processor writes; any of them may be missing. */
interface ReportJobProgress {
  phase?: string;
  call?: number;
  tokens?: number;
  tokensPerSecond?: number | null;
  part?: { index: number; count: number };
}

/** How far a job is and when it may end. */
export interface JobEstimate {
  /** From 0 to 1; null when the job's progress is unknown. */
  fraction: number | null;
  /** Milliseconds left; null when unknown. */
  remainingMs: number | null;
  /** Basis of the estimate, shown next to it. */
  basis: string;
  /** True when remainingMs is an upper bound rather than a typical value. */
  atMost: boolean;
}

const BAR_WIDTH = 20;
const INDENT = '  ';
/** Indent of the lines under a job, such as its progress bar or its error. */
const DETAIL_INDENT = '    ';
/** Lines an error may take; the rest is cut. */
const MAX_ERROR_LINES = 2;

type Segment = [text: string, style?: (text: string) => string];

/**
 * Renders the live view of the queue as lines. Under the counts come the reasons jobs do not
 * run, then each active job with its phase, a progress bar, tokens per second and an ETA
 * that names its basis. The delayed jobs follow with their next attempt and error, and last
 * the newest finished jobs.
 */
export function renderWatchView(snapshot: QueueSnapshot | null, options: WatchViewOptions): string[] {
  const { chalk, width } = options;
  const stop = options.follow ? 'following; Ctrl-C to stop' : 'ends when the queue is empty; Ctrl-C to stop';

  if (snapshot === null) {
    return [fit([['stepper watch', chalk.bold], [`  no queue yet in ${options.dataDir}; ${stop}`, chalk.dim]], width)];
  }

  const { counts } = snapshot;
  const lines: string[] = [];
  lines.push(
    fit(
      [
        ['stepper watch', chalk.bold],
        [`  ${counts.active} active · ${counts.waiting} waiting · ${counts.delayed} delayed · `],
        [`${counts.completed} completed`, chalk.green],
        [' · '],
        [`${counts.failed} failed`, counts.failed > 0 ? chalk.red : undefined],
        [` · ${counts.cancelled} cancelled`],
      ],
      width,
    ),
    fit([[stop, chalk.dim]], width),
  );

  const notices = renderNotices(snapshot, chalk, width);
  if (notices.length > 0) {
    lines.push('', ...notices);
  }

  lines.push('', fit([['Active', chalk.bold]], width));
  if (snapshot.active.length === 0) {
    lines.push(fit([[`${INDENT}none`, chalk.dim]], width));
  }
  for (const job of snapshot.active) {
    lines.push(...renderActiveJob(job, snapshot, options));
  }
  if (counts.active > snapshot.active.length) {
    lines.push(fit([[`${INDENT}and ${counts.active - snapshot.active.length} more`, chalk.dim]], width));
  }

  if (snapshot.delayed.length > 0) {
    lines.push('', fit([['Delayed', chalk.bold]], width));
    for (const delayed of snapshot.delayed) {
      lines.push(...renderDelayedJob(delayed, options));
    }
    if (counts.delayed > snapshot.delayed.length) {
      lines.push(fit([[`${INDENT}and ${counts.delayed - snapshot.delayed.length} more`, chalk.dim]], width));
    }
  }

  if (snapshot.recent.length > 0) {
    lines.push('', fit([['Recent', chalk.bold]], width));
    for (const job of snapshot.recent) {
      lines.push(...renderFinishedJob(job, chalk, width, options.subjects));
    }
  }

  return lines;
}

/** Renders what keeps jobs from running: the daemon waits for Ollama, no daemon runs, or a model is missing. */
function renderNotices(snapshot: QueueSnapshot, chalk: ChalkInstance, width: number): string[] {
  const { counts, daemon } = snapshot;
  const lines: string[] = [];

  if (daemon.ollamaWait !== null) {
    const { host, error } = daemon.ollamaWait;
    lines.push(
      ...fitWrapped(`daemon waiting for Ollama at ${host}: ${error}`, width, INDENT, 2, chalk.yellow, ''),
      ...fitWrapped(
        'start Ollama with "ollama serve", or set OLLAMA_HOST to where it listens and restart the daemon',
        width,
        DETAIL_INDENT,
        2,
        chalk.dim,
        INDENT,
      ),
    );
  }

  const live = counts.waiting + counts.delayed + counts.active;
  if (daemon.state === 'stopped' && live > 0) {
    const jobs = live === 1 ? '1 job waits' : `${live} jobs wait`;
    lines.push(
      ...fitWrapped(`no daemon runs, so ${jobs}: start it with "stepper daemon start"`, width, INDENT, 2, chalk.yellow, ''),
      ...fitWrapped('the next "stepper report", or a commit in a repository with the git hook, starts it too', width, DETAIL_INDENT, 2, chalk.dim, INDENT),
    );
  } else if (daemon.state === 'starting' && live > 0) {
    lines.push(fit([['daemon starting', chalk.dim]], width));
  }

  for (const model of snapshot.held) {
    const jobs = model.jobs === 1 ? '1 job waits' : `${model.jobs} jobs wait`;
    lines.push(...fitWrapped(`model ${JSON.stringify(model.model)} is not installed in Ollama, so ${jobs}: run ${model.pullCommand}`, width, INDENT, 2, chalk.yellow, ''));
  }

  return lines;
}

/**
 * Estimates a job's progress. While the model generates at a known rate, the bar is the share
 * of the output budget used, and the ETA assumes the model writes the whole budget, so it is
 * an upper bound for the current model call. Otherwise the ETA is the mean duration of
 * recent completed jobs minus the time this one has run, and unknown once the job runs longer.
 */
export function estimateJob(job: Job, snapshot: QueueSnapshot, now: number, outputBudgetTokens: number): JobEstimate {
  const progress = readProgress(job);
  const tokens = progress.tokens ?? 0;
  const rate = progress.tokensPerSecond;

  if (progress.phase === 'generating' && typeof rate === 'number' && rate > 0) {
    const left = Math.max(0, outputBudgetTokens - tokens);
    return {
      fraction: Math.min(1, tokens / outputBudgetTokens),
      remainingMs: (left / rate) * 1000,
      basis: `rate, ${formatCount(outputBudgetTokens)}-token budget`,
      atMost: true,
    };
  }

  // The daemon claims one job ahead of its generation limit, and that job waits here until the
  // model is free, so its time since the claim does not measure its progress.
  if (progress.phase === 'waiting') {
    return { fraction: 0, remainingMs: null, basis: 'its request waits for the model', atMost: false };
  }

  if (snapshot.averageDurationMs !== null && job.startedAt !== null) {
    const elapsed = Math.max(0, now - job.startedAt);
    const jobs = `${snapshot.averageOver} recent ${snapshot.averageOver === 1 ? 'job' : 'jobs'}`;

    // Past the mean, the mean gives no estimate, and "~ 0 ms" would read as done.
    if (elapsed >= snapshot.averageDurationMs) {
      return { fraction: 0.99, remainingMs: null, basis: `running longer than the mean of ${jobs}`, atMost: false };
    }

    return {
      fraction: Math.min(0.99, elapsed / Math.max(1, snapshot.averageDurationMs)),
      remainingMs: snapshot.averageDurationMs - elapsed,
      basis: `mean of ${jobs}`,
      atMost: false,
    };
  }

  return { fraction: null, remainingMs: null, basis: 'no rate or finished job yet', atMost: false };
}

function renderActiveJob(job: Job, snapshot: QueueSnapshot, options: WatchViewOptions): string[] {
  const { chalk, width, now } = options;
  const progress = readProgress(job);
  const estimate = estimateJob(job, snapshot, now, options.outputBudgetTokens);

  let phase = progress.phase ?? 'starting';
  if (progress.call !== undefined && progress.call > 1) {
    phase += ` (call ${progress.call})`;
  }
  if (progress.part) {
    phase += ` (part ${progress.part.index} of ${progress.part.count})`;
  }

  const filled = estimate.fraction === null ? 0 : Math.round(estimate.fraction * BAR_WIDTH);
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`;
  const rate = typeof progress.tokensPerSecond === 'number' ? `  ${progress.tokensPerSecond.toFixed(1)} tokens/s` : '';
  const tokens = progress.tokens === undefined ? '' : `  ${formatCount(progress.tokens)} ${progress.tokens === 1 ? 'token' : 'tokens'}`;
  const elapsed = job.startedAt === null ? '' : `  ${formatDuration(Math.max(0, now - job.startedAt))}`;

  let eta = 'ETA unknown';
  if (estimate.remainingMs !== null) {
    eta = `ETA ${estimate.atMost ? '≤' : '~'} ${formatDuration(estimate.remainingMs)}`;
  }

  return [
    fit(
      [
        [`${INDENT}${shortSha(job.commitSha)}`, chalk.yellow],
        [`  ${repositoryName(job.repository)}  `],
        [phase, chalk.cyan],
        [elapsed],
        [subjectOf(job, options.subjects), chalk.dim],
      ],
      width,
    ),
    fit([[`${INDENT}  ${bar}`, chalk.cyan], [`${tokens}${rate}  `], [eta, chalk.bold], [` (${estimate.basis})`, chalk.dim]], width),
  ];
}

/** Renders a delayed job: when its next attempt is due, and the error or reason that delayed it. */
function renderDelayedJob({ job, reason }: DelayedJob, options: WatchViewOptions): string[] {
  const { chalk, width, now } = options;
  const attempt = `attempt ${job.attemptsMade + 1} of ${job.maxAttempts}`;
  // A daemon moves a due job to waiting when it next claims, so without one it stays delayed.
  const due = job.runAt > now ? `${attempt} in ${formatDuration(job.runAt - now)} (${formatClockTime(job.runAt)})` : `${attempt} due now`;
  const lines = [
    fit(
      [
        [`${INDENT}${shortSha(job.commitSha)}`, chalk.yellow],
        [`  ${repositoryName(job.repository)}  `],
        [due, chalk.cyan],
        [subjectOf(job, options.subjects), chalk.dim],
      ],
      width,
    ),
  ];

  if (reason !== null) {
    lines.push(...fitWrapped(conciseError(reason), width, DETAIL_INDENT, MAX_ERROR_LINES, chalk.dim));
  }

  return lines;
}

function renderFinishedJob(job: Job, chalk: ChalkInstance, width: number, subjects: ReadonlyMap<string, string> | undefined): string[] {
  const duration = job.startedAt !== null && job.finishedAt !== null ? `  in ${formatDuration(job.finishedAt - job.startedAt)}` : '';
  const segments: Segment[] = [];

  if (job.state === 'completed') {
    segments.push([`${INDENT}✓ completed `, chalk.green]);
  } else if (job.state === 'failed') {
    segments.push([`${INDENT}✗ failed    `, chalk.red]);
  } else {
    segments.push([`${INDENT}- ${job.state.padEnd(10)}`, chalk.dim]);
  }

  segments.push([shortSha(job.commitSha), chalk.yellow], [`  ${repositoryName(job.repository)}${duration}`], [subjectOf(job, subjects), chalk.dim]);
  const lines = [fit(segments, width)];

  // The error has lines of its own, so the subject before it cannot push its cause out of view.
  if (job.state === 'failed' && job.lastError !== null) {
    lines.push(...fitWrapped(conciseError(job.lastError), width, DETAIL_INDENT, MAX_ERROR_LINES, chalk.dim));
  }

  return lines;
}

/**
 * Shortens a job's error for the view: its first line, without the note in brackets on where
 * the Ollama URL came from, such as `(OLLAMA_HOST="127.0.0.1:11500")`. The URL stays, and
 * `stepper status JOB` shows the whole error.
 */
export function conciseError(message: string): string {
  const first = message.split(/\r?\n/).find((line) => line.trim() !== '') ?? '';
  return oneLine(first.replace(/ \((?:OLLAMA_HOST="(?:[^"\\]|\\.)*"(?:, which means the default)?|OLLAMA_HOST is not set)\)/g, '').trim());
}

/** Formats epoch milliseconds as the local time of day, `14:03:05`. */
function formatClockTime(at: number): string {
  const time = new Date(at);
  return [time.getHours(), time.getMinutes(), time.getSeconds()].map((part) => String(part).padStart(2, '0')).join(':');
}

/** Returns the commit subject of a job, from its payload or else from `subjects`, with a leading separator, or ''. */
function subjectOf(job: Job, subjects: ReadonlyMap<string, string> | undefined): string {
  const carried = (job.payload as { subject?: unknown } | null)?.subject;
  const subject = typeof carried === 'string' ? carried : subjects?.get(job.id);
  return subject !== undefined && subject !== '' ? `  ${oneLine(subject)}` : '';
}

function readProgress(job: Job): ReportJobProgress {
  return typeof job.progress === 'object' && job.progress !== null ? (job.progress as ReportJobProgress) : {};
}

/** Returns the folder name of a repository: `/src/app/.git` is `app`, a bare `/srv/app.git` is `app.git`. */
function repositoryName(gitDir: string): string {
  const base = path.basename(gitDir);
  return oneLine(base === '.git' ? path.basename(path.dirname(gitDir)) : base);
}

/** Joins styled segments, cutting the text that goes past `width` columns before styling it. */
function fit(segments: Segment[], width: number): string {
  let room = Math.max(1, width);
  let line = '';
  for (const [text, style] of segments) {
    if (room <= 0) {
      break;
    }

    const characters = [...text];
    const visible = characters.length > room ? `${characters.slice(0, Math.max(0, room - 1)).join('')}…` : text;
    room -= Math.min(characters.length, room);
    line += style ? style(visible) : visible;
  }

  return line;
}

/**
 * Wraps text at spaces into at most `maxLines` lines of `width` columns, the first indented
 * by `firstIndent` and the rest by `indent`, and cuts the last line with `…` when text is
 * left over. Line breaks and other control characters in `text` are shown as oneLine does.
 */
function fitWrapped(text: string, width: number, indent: string, maxLines: number, style?: (text: string) => string, firstIndent = indent): string[] {
  const lines = wrap(oneLine(text), Math.max(1, width), indent, firstIndent);
  const visible = lines.slice(0, maxLines);
  if (lines.length > maxLines) {
    // The last visible line is extended past the width, so fit cuts it and marks the cut.
    visible[visible.length - 1] += ` ${lines[maxLines]?.trimStart() ?? ''}`;
  }

  return visible.map((line) => fit([[line, style]], width));
}

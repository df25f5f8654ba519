import { performance } from 'node:perf_hooks';

import { type RequestedReport, requestReports } from '../../api/report.js';
import type { FinishedJob } from '../../api/wait.js';
import { InvalidOptionError } from '../../errors.js';
import { CommandExit } from '../exit.js';
import { type Paint, PLAIN, paintFor, stateColor } from '../render/paint.js';
import { neutralizeControls } from '../render/text.js';
import type { Job, JobPriorityName } from '../../queue/types.js';

export interface ReportCommandOptions {
  wait?: boolean;
  json?: boolean;
  force?: boolean;
  model?: string;
  priority?: string;
  since?: string;
  until?: string;
  author?: string;
  maxCount?: number;
  quiet?: boolean;
  /** Folder inside the repository. @default process.cwd() */
  cwd?: string;
}

const PRIORITIES: readonly JobPriorityName[] = ['high', 'normal', 'low'];

/**
 * Enqueues a report job per commit and prints one line each, or waits for the reports and
 * prints them. Returns the exit status: 1 when `--wait` saw a job fail, else 0.
 */
export async function runReport(revisions: readonly string[], options: ReportCommandOptions): Promise<number> {
  if (options.priority !== undefined && !PRIORITIES.includes(options.priority as JobPriorityName)) {
    throw new InvalidOptionError('--priority', PRIORITIES.join(', '), options.priority);
  }

  const result = await requestReports({
    cwd: options.cwd,
    revisions,
    model: options.model,
    force: options.force,
    priority: options.priority as JobPriorityName | undefined,
    since: options.since,
    until: options.until,
    author: options.author,
    maxCount: options.maxCount,
  });

  if (result.reports.length === 0 && !options.json) {
    const filtered = [options.since, options.until, options.author, options.maxCount].some((value) => value !== undefined);
    const reason = filtered ? ' with the given filters' : '';
    process.stderr.write(`stepper: no commit matches ${revisions.join(' ') || 'HEAD'}${reason}; nothing to report\n`);
    return 0;
  }

  warnAboutSpool(result.reports);

  if (!options.wait) {
    if (options.json) {
      process.stdout.write(`${JSON.stringify(result.reports.map(toJson), null, 2)}\n`);
    } else if (!options.quiet) {
      const paint = await paintFor(process.stdout);
      process.stdout.write(result.reports.map((report) => renderLine(report, paint)).join(''));
    }
    return 0;
  }

  // Only --wait loads the waiting and the report views, which the common call does not need.
  const { describeUnfinished, renderFinishedJob } = await import('../render/finished-job.js');
  const finished = await waitWithSpinner(result.reports, options);
  const failed = finished.some(({ job }) => job.state !== 'completed');

  if (options.json) {
    const entries = result.reports.map((report, index) => ({ ...toJson(report), ...waitedJson(finished[index] as FinishedJob, describeUnfinished) }));
    process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
  } else if (!options.quiet) {
    const [{ stdoutChalk }, { textWidth }] = await Promise.all([import('../render/color.js'), import('./show.js')]);
    const chalk = stdoutChalk();
    const width = textWidth();
    process.stdout.write(finished.map((entry, index) => renderFinishedJob(entry, result.reports[index] as RequestedReport, chalk, width)).join('\n'));
  }

  // The rendered reports go to stdout, where a script may parse them. Each unfinished job
  // also gets one stderr line, as every other error does.
  for (const entry of finished) {
    if (entry.job.state === 'completed') {
      continue;
    }

    const next = entry.job.state === 'failed' ? `; run stepper retry ${entry.job.id} once the cause is fixed` : '';
    process.stderr.write(`stepper: job ${entry.job.id} for commit ${entry.job.commitSha.slice(0, 12)} is ${entry.job.state}: ${neutralizeControls(describeUnfinished(entry))}${next}\n`);
  }

  return failed ? 1 : 0;
}

/** Converts one commit's request to its stable JSON shape. */
function toJson(report: RequestedReport): Record<string, unknown> {
  return {
    jobId: report.jobId,
    sha: report.sha,
    subject: report.subject,
    state: report.state,
    deduplicated: report.deduplicated,
    cached: report.cached,
  };
}

function waitedJson(finished: FinishedJob, describeUnfinished: (finished: FinishedJob) => string): Record<string, unknown> {
  const { job, report } = finished;
  if (job.state === 'completed') {
    return { state: job.state, report: (report?.content as { report?: unknown } | undefined)?.report ?? null };
  }

  return { state: job.state, error: describeUnfinished(finished) };
}

/**
 * Writes to stderr why jobs went to the spool. They are safe there, but a database that keeps
 * refusing writes needs the user, and the job lines alone would not say so.
 */
function warnAboutSpool(reports: readonly RequestedReport[]): void {
  const spooled = reports.filter((report) => report.spooled);
  if (spooled.length === 0) {
    return;
  }

  const jobs = spooled.length === 1 ? '1 job' : `${spooled.length} jobs`;
  process.stderr.write(
    `stepper: warning: ${jobs} went to the spool because the database did not take them (${spooled[0]?.spoolReason ?? 'unknown reason'}); ` +
      'the daemon adds them once it can write to the database. Run `stepper doctor` to check it\n',
  );
}

function renderLine(report: RequestedReport, paint: Paint): string {
  let state: string = report.state;
  if (report.cached) {
    state = 'cached';
  } else if (report.deduplicated) {
    state = `${report.state} (already queued)`;
  } else if (report.spooled) {
    state = 'spooled';
  }

  const color = stateColor(report.state, paint);
  return `${color(state.padEnd(9))}  ${report.sha.slice(0, 7)}  ${sanitize(report.subject)}  ${paint.dim(`job ${report.jobId}`)}\n`;
}


/**
 * Waits for the jobs with a spinner on stderr that shows the job being worked on: its
 * phase, tokens so far and rate, and the time since the wait began.
 */
async function waitWithSpinner(reports: readonly RequestedReport[], options: ReportCommandOptions): Promise<FinishedJob[]> {
  const showSpinner = !options.quiet && !options.json;
  const [{ default: ora }, { waitForJobs }] = await Promise.all([import('ora'), import('../../api/wait.js')]);
  // On a pipe or a file, a spinner's frames would be noise, so it stays silent there. It is
  // silent on a terminal that reports 0 columns too, because ora 9 divides by the width to
  // count the lines it clears and then clears lines without end. discardStdin is off because
  // ora would put a terminal in raw mode, and Ctrl-C would then not interrupt.
  const colored = (await paintFor(process.stderr)) !== PLAIN;
  const spinner = ora({
    text: 'waiting for the daemon',
    stream: process.stderr,
    // ora colours its frames even under NO_COLOR, so stepper makes the decision itself.
    color: colored ? 'cyan' : false,
    isSilent: !showSpinner || process.stderr.isTTY !== true || !(process.stderr.columns > 0),
    discardStdin: false,
  });
  if (showSpinner) {
    spinner.start();
  }

  const startedAt = performance.now();
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);

  try {
    return await waitForJobs(
      reports.map((report) => report.jobId),
      {
        signal: interrupt.signal,
        onPoll: (jobs) => {
          spinner.text = describeProgress(jobs, reports, performance.now() - startedAt);
        },
      },
    );
  } catch (error) {
    if (interrupt.signal.aborted) {
      spinner.stop();
      process.stderr.write('stepper: stopped waiting; the jobs go on in the background (see `stepper status`)\n');
      throw new CommandExit(130);
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onSignal);
    spinner.stop();
  }
}

function describeProgress(jobs: ReadonlyArray<Job | undefined>, reports: readonly RequestedReport[], elapsedMs: number): string {
  const done = jobs.filter((job) => job !== undefined && ['completed', 'failed', 'cancelled'].includes(job.state)).length;
  const index = jobs.findIndex((job) => job?.state === 'active');
  const elapsed = `${Math.round(elapsedMs / 1000)}s`;
  if (index < 0) {
    return `${done}/${jobs.length} done, waiting for the daemon  ${elapsed}`;
  }

  const progress = (jobs[index]?.progress ?? {}) as { phase?: string; tokens?: number; tokensPerSecond?: number | null };
  const rate = typeof progress.tokensPerSecond === 'number' ? ` at ${progress.tokensPerSecond.toFixed(1)} tokens/s` : '';
  const tokens = typeof progress.tokens === 'number' ? `, ${progress.tokens} tokens${rate}` : '';
  const sha = reports[index]?.sha.slice(0, 7) ?? '';
  return `${done}/${jobs.length} done; ${sha} ${progress.phase ?? 'started'}${tokens}  ${elapsed}`;
}

/** Shows control characters as `^X`, so a subject cannot send escape sequences to the terminal. */
function sanitize(text: string): string {
  return neutralizeControls(text.replace(/[\n\t]/g, ' '));
}

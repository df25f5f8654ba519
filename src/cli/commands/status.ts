import type { CommitReport } from '../../api/show.js';
import { describeJob, getQueueStatus, type JobDetail, type JobStatus, type QueueStatus } from '../../api/status.js';
import { JOB_STATES } from '../../queue/types.js';
import { type Paint, paintFor, stateColor } from '../render/paint.js';
import { neutralizeControls } from '../render/text.js';

export interface StatusCommandOptions {
  json?: boolean;
  all?: boolean;
  limit?: number;
  /** Folder inside the repository. @default process.cwd() */
  cwd?: string;
}

/** Prints the queue's status, or one job's detail when `target` (a job id or revision) is given. */
export async function runStatus(target: string | undefined, options: StatusCommandOptions): Promise<void> {
  if (target !== undefined) {
    const { detail, commitReport } = await describeJob(target, { cwd: options.cwd });
    if (options.json) {
      process.stdout.write(`${JSON.stringify(detail, null, 2)}\n`);
      return;
    }

    process.stdout.write(renderDetail(detail, await paintFor(process.stdout)));
    if (commitReport) {
      process.stdout.write(`\n${await renderCommitReport(commitReport)}`);
    }
    return;
  }

  const status = await getQueueStatus({ cwd: options.cwd, all: options.all, limit: options.limit });
  process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status, options.all === true, await paintFor(process.stdout)));
}

function renderStatus(status: QueueStatus, all: boolean, paint: Paint): string {
  const lines = [
    `${label('daemon', paint)}${describeDaemon(status, paint)}`,
    `${label('ollama', paint)}${describeOllama(status, paint)}`,
  ];

  // A daemon that a commit started from a program without the shell's OLLAMA_HOST uses the
  // default address, while the ollama line above probes this shell's address.
  const { daemon, ollama } = status;
  if (daemon.state === 'running' && daemon.ollamaHost !== null && daemon.ollamaHost !== ollama.host) {
    lines.push(`${label('warning', paint)}${paint.yellow(`the daemon uses Ollama at ${daemon.ollamaHost}, not ${ollama.host}`)}; ${OTHER_HOST_FIX}`);
  }

  lines.push(
    `${label('queue', paint)}${JOB_STATES.map((state) => `${status.counts[state]} ${state}`).join(', ')}`,
  );

  if (status.spooled > 0) {
    const jobs = status.spooled === 1 ? '1 job' : `${status.spooled} jobs`;
    lines.push(`${label('spool', paint)}${paint.yellow(jobs)} the database did not take, waiting for the daemon to add them; run \`stepper doctor\` if they stay`);
  }

  if (status.oldestWaitingAgeMs !== null) {
    lines.push(`${label('oldest', paint)}waiting for ${formatAge(status.oldestWaitingAgeMs)}`);
  }

  for (const held of status.held) {
    const model = paint.yellow(`model ${sanitize(JSON.stringify(held.model))} is not installed in Ollama`);
    lines.push(`${label('held', paint)}${model}, so its jobs wait: run ${sanitize(held.pullCommand)}`);
  }

  lines.push('');
  if (status.jobs.length === 0) {
    lines.push(all ? 'No jobs yet. Run `stepper report` in a repository.' : 'No jobs for this repository yet. Run `stepper report` to queue one.');
  } else {
    lines.push(all ? 'Latest jobs:' : 'Latest jobs of this repository:');
    lines.push(...status.jobs.map((job) => `  ${renderJobLine(job, all, paint)}`));
  }

  return `${lines.join('\n')}\n`;
}

const OTHER_HOST_FIX = 'run `stepper daemon stop`, then `stepper daemon start` in this shell to switch it';

function describeDaemon(status: QueueStatus, paint: Paint): string {
  const { daemon } = status;
  if (daemon.state === 'stopped') {
    return `${paint.yellow('stopped')} (the next \`stepper report\` or commit starts it)`;
  }

  if (daemon.state === 'starting') {
    return `${paint.green('starting')} (pid ${daemon.pid ?? '?'})`;
  }

  let activity = daemon.currentJobId ? `working on job ${daemon.currentJobId}` : 'idle';
  if (daemon.waitingForOllama) {
    activity = paint.yellow('waiting for Ollama');
  }

  const uptime = daemon.startedAt === null ? '' : `, up ${formatAge(Date.now() - daemon.startedAt)}`;
  return `${paint.green('running')}, ${activity} (pid ${daemon.pid ?? '?'}${uptime}, stepper ${daemon.version ?? '?'})`;
}

function describeOllama(status: QueueStatus, paint: Paint): string {
  const { ollama } = status;
  const model = ollama.modelError === null ? `model ${ollama.model}` : paint.red(sanitize(ollama.modelError));
  if (ollama.reachable) {
    return `${paint.green('reachable')} at ${ollama.hostSource}, ${model}`;
  }

  return `${paint.red('not reachable')} at ${ollama.hostSource}: ${sanitize(ollama.detail ?? 'no answer')}; ${model}`;
}

function renderJobLine(job: JobStatus, withRepository: boolean, paint: Paint): string {
  const subject = job.subject === null ? paint.dim('(commit not readable)') : sanitize(job.subject);
  const where = withRepository ? `  ${paint.dim(job.repo)}` : '';
  const error = job.state === 'failed' && job.error ? `\n      ${paint.red(sanitize(firstLine(job.error)))}` : '';
  return `${stateColor(job.state, paint)(job.state.padEnd(9))}  ${job.sha.slice(0, 7)}  ${subject}  ${paint.dim(`job ${job.id}`)}${where}${error}`;
}

function renderDetail(detail: JobDetail, paint: Paint): string {
  const lines = [
    `${label('job', paint)}${detail.id}`,
    `${label('commit', paint)}${detail.sha}  ${detail.subject === null ? '' : sanitize(detail.subject)}`,
    `${label('repo', paint)}${detail.repo}`,
    `${label('state', paint)}${colorState(detail.state, paint)} (${describeAttempts(detail)})`,
    `${label('priority', paint)}${detail.priority}`,
    `${label('created', paint)}${formatTime(detail.createdAt)}`,
  ];
  if (detail.startedAt !== null) {
    lines.push(`${label('started', paint)}${formatTime(detail.startedAt)}`);
  }
  if (detail.finishedAt !== null) {
    lines.push(`${label('finished', paint)}${formatTime(detail.finishedAt)}`);
  }
  if (detail.nextAttemptAt !== undefined) {
    const wait = detail.nextAttemptAt - Date.now();
    lines.push(`${label('next try', paint)}${formatTime(detail.nextAttemptAt)} (${wait > 0 ? `in ${formatAge(wait)}` : 'due now'})`);
  }
  if (detail.progress !== null && detail.state === 'active') {
    lines.push(`${label('progress', paint)}${sanitize(describeProgress(detail.progress))}`);
  }
  if (detail.held) {
    lines.push(`${label('held', paint)}model ${sanitize(JSON.stringify(detail.held.model))} is not installed in Ollama: run ${detail.held.pullCommand}`);
  }
  if (detail.error !== null) {
    // A job that runs or waits again still carries the error of its previous attempt.
    const finished = detail.state === 'failed' || detail.state === 'cancelled' || detail.state === 'completed';
    const from = finished || detail.attempts === 0 ? '' : `from attempt ${detail.attempts}: `;
    lines.push(`${label('error', paint)}${from}${sanitize(detail.error)}`);
  }

  return `${lines.join('\n')}\n`;
}

/** Renders a report as `stepper show` does. Only this path loads chalk and the text view. */
async function renderCommitReport(commitReport: CommitReport): Promise<string> {
  const [{ stdoutChalk }, { renderReportText }, { textWidth }] = await Promise.all([
    import('../render/color.js'),
    import('../render/report-text.js'),
    import('./show.js'),
  ]);
  return renderReportText(commitReport, { chalk: stdoutChalk(), width: textWidth() });
}

function label(name: string, paint: Paint): string {
  return paint.bold(name.padEnd(10));
}

function colorState(state: string, paint: Paint): string {
  return stateColor(state, paint)(state);
}

function formatAge(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 90) {
    return `${seconds}s`;
  }
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) {
    return `${minutes}m`;
  }
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours}h` : `${Math.round(hours / 24)}d`;
}

function formatTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/**
 * Describes a report job's progress, such as `generating, model call 2, part 1 of 3, 46 tokens
 * at 12.3 tokens/s`. Progress of another shape is shown as JSON.
 */
export function describeProgress(progress: unknown): string {
  const { phase, call, part, tokens, tokensPerSecond } = (progress ?? {}) as {
    phase?: unknown;
    call?: unknown;
    part?: { index?: unknown; count?: unknown };
    tokens?: unknown;
    tokensPerSecond?: unknown;
  };
  if (typeof phase !== 'string') {
    return JSON.stringify(progress);
  }

  const parts = [phase];
  if (typeof call === 'number') {
    parts.push(`model call ${call}`);
  }
  if (typeof part?.index === 'number' && typeof part.count === 'number') {
    parts.push(`part ${part.index} of ${part.count}`);
  }
  if (typeof tokens === 'number') {
    const rate = typeof tokensPerSecond === 'number' ? ` at ${tokensPerSecond.toFixed(1)} tokens/s` : '';
    parts.push(`${tokens} ${tokens === 1 ? 'token' : 'tokens'}${rate}`);
  }

  return parts.join(', ');
}

/** Numbers a running attempt from 1, as daemon.log does; `attempts` counts finished ones. */
function describeAttempts(detail: JobDetail): string {
  if (detail.state === 'active') {
    return `attempt ${detail.attempts + 1} of ${detail.maxAttempts}`;
  }

  return `${detail.attempts} of ${detail.maxAttempts} attempts made`;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

function sanitize(text: string): string {
  return neutralizeControls(text.replace(/\t/g, ' '));
}

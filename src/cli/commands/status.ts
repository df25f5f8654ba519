import chalk from 'chalk';

import { getJobStatus, getQueueStatus, type JobDetail, type JobStatus, type QueueStatus } from '../../api/status.js';
import { JOB_STATES } from '../../queue/types.js';
import { renderReportContent } from '../render/finished-job.js';

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
    const detail = await getJobStatus(target, { cwd: options.cwd });
    process.stdout.write(options.json ? `${JSON.stringify(detail, null, 2)}\n` : renderDetail(detail));
    return;
  }

  const status = await getQueueStatus({ cwd: options.cwd, all: options.all, limit: options.limit });
  process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : renderStatus(status, options.all === true));
}

function renderStatus(status: QueueStatus, all: boolean): string {
  const lines = [
    `${label('daemon')}${describeDaemon(status)}`,
    `${label('ollama')}${describeOllama(status)}`,
    `${label('queue')}${JOB_STATES.map((state) => `${status.counts[state]} ${state}`).join(', ')}`,
  ];

  if (status.oldestWaitingAgeMs !== null) {
    lines.push(`${label('oldest')}waiting for ${formatAge(status.oldestWaitingAgeMs)}`);
  }

  lines.push('');
  if (status.jobs.length === 0) {
    lines.push(all ? 'No jobs yet. Run `stepper report` in a repository.' : 'No jobs for this repository yet. Run `stepper report` to queue one.');
  } else {
    lines.push(all ? 'Latest jobs:' : 'Latest jobs of this repository:');
    lines.push(...status.jobs.map((job) => `  ${renderJobLine(job, all)}`));
  }

  return `${lines.join('\n')}\n`;
}

function describeDaemon(status: QueueStatus): string {
  const { daemon } = status;
  if (daemon.state === 'stopped') {
    return `${chalk.yellow('stopped')} (the next \`stepper report\` or commit starts it)`;
  }

  const activity = daemon.currentJobId ? `working on job ${daemon.currentJobId}` : 'idle';
  const uptime = daemon.startedAt === null ? '' : `, up ${formatAge(Date.now() - daemon.startedAt)}`;
  return `${chalk.green('running')}, ${activity} (pid ${daemon.pid ?? '?'}${uptime}, stepper ${daemon.version ?? '?'})`;
}

function describeOllama(status: QueueStatus): string {
  const { ollama } = status;
  if (ollama.reachable) {
    return `${chalk.green('reachable')} at ${ollama.host}, model ${ollama.model}`;
  }

  return `${chalk.red('not reachable')} at ${ollama.host} (${sanitize(ollama.detail ?? 'no answer')}); model ${ollama.model}`;
}

function renderJobLine(job: JobStatus, withRepository: boolean): string {
  const subject = job.subject === null ? chalk.dim('(commit not readable)') : sanitize(job.subject);
  const where = withRepository ? `  ${chalk.dim(job.repo)}` : '';
  const error = job.state === 'failed' && job.error ? `\n      ${chalk.red(sanitize(firstLine(job.error)))}` : '';
  return `${colorState(job.state).padEnd(9 + colorOverhead(job.state))}  ${job.sha.slice(0, 7)}  ${subject}  ${chalk.dim(`job ${job.id}`)}${where}${error}`;
}

function renderDetail(detail: JobDetail): string {
  const lines = [
    `${label('job')}${detail.id}`,
    `${label('commit')}${detail.sha}  ${detail.subject === null ? '' : sanitize(detail.subject)}`,
    `${label('repo')}${detail.repo}`,
    `${label('state')}${colorState(detail.state)} (${detail.attempts} of ${detail.maxAttempts} attempts made)`,
    `${label('priority')}${detail.priority}`,
    `${label('created')}${formatTime(detail.createdAt)}`,
  ];
  if (detail.startedAt !== null) {
    lines.push(`${label('started')}${formatTime(detail.startedAt)}`);
  }
  if (detail.finishedAt !== null) {
    lines.push(`${label('finished')}${formatTime(detail.finishedAt)}`);
  }
  if (detail.progress !== null && detail.state === 'active') {
    lines.push(`${label('progress')}${JSON.stringify(detail.progress)}`);
  }
  if (detail.error !== null) {
    lines.push(`${label('error')}${sanitize(detail.error)}`);
  }

  let text = `${lines.join('\n')}\n`;
  if (detail.report) {
    text += `\n${renderReportContent(detail.sha, detail.subject ?? '', detail.report)}`;
  }

  return text;
}

function label(name: string): string {
  return chalk.bold(name.padEnd(10));
}

const STATE_COLORS = {
  waiting: chalk.yellow,
  delayed: chalk.yellow,
  active: chalk.cyan,
  completed: chalk.green,
  failed: chalk.red,
  cancelled: chalk.gray,
} as const;

function colorState(state: keyof typeof STATE_COLORS): string {
  return STATE_COLORS[state](state);
}

/** Bytes of escape codes chalk adds, so padding counts visible characters only. */
function colorOverhead(state: keyof typeof STATE_COLORS): number {
  return colorState(state).length - state.length;
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

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

function sanitize(text: string): string {
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, (char) => (char === '\u007f' ? '^?' : `^${String.fromCharCode(char.charCodeAt(0) + 64)}`));
}

import type { RequestedReport } from '../../api/report.js';
import type { FinishedJob } from '../../api/wait.js';
import type { ReportContent } from '../../report/processor.js';
import type { Paint } from './paint.js';

/** Renders a waited-for job: its report when completed, else its state and last error. */
export function renderFinishedJob(finished: FinishedJob, request: RequestedReport, paint: Paint): string {
  const { job, report } = finished;
  if (job.state !== 'completed' || report === undefined) {
    const reason = describeUnfinished(finished);
    return `${paint.red(job.state)}  ${request.sha.slice(0, 7)}  ${sanitize(request.subject)}\n  ${sanitize(reason)}\n  job ${job.id}\n`;
  }

  return renderReportContent(request.sha, request.subject, report.content as ReportContent, paint);
}

/** Says why a waited-for job has no report: its error, or the model the daemon holds it for. */
export function describeUnfinished({ job, held }: FinishedJob): string {
  if (held) {
    return `model ${JSON.stringify(held.model)} is not installed in Ollama: run "${held.pullCommand}"; the job stays queued and runs once the model is there`;
  }

  return job.lastError ?? `the job was ${job.state}`;
}

/** Renders a stored report under a heading with the commit's short id and subject. */
export function renderReportContent(sha: string, subject: string, content: ReportContent, paint: Paint): string {
  const lines = [paint.bold(`${sha.slice(0, 7)}  ${sanitize(subject)}`), '', paint.bold(sanitize(content.report.title)), '', sanitize(content.report.summary)];
  if (content.report.changes.length > 0) {
    lines.push('', ...content.report.changes.map((change) => `- ${sanitize(change)}`));
  }

  return `${lines.join('\n')}\n`;
}

function sanitize(text: string): string {
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, (char) => (char === '\u007f' ? '^?' : `^${String.fromCharCode(char.charCodeAt(0) + 64)}`));
}

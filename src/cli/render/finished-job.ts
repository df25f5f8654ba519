import type { ChalkInstance } from 'chalk';

import type { RequestedReport } from '../../api/report.js';
import { toCommitReport } from '../../api/show.js';
import type { FinishedJob } from '../../api/wait.js';
import { renderReportText } from './report-text.js';
import { neutralizeControls } from './text.js';

/** Renders a waited-for job: its report as `stepper show` prints it, else its state and why. */
export function renderFinishedJob(finished: FinishedJob, request: RequestedReport, chalk: ChalkInstance, width: number): string {
  const { job, report } = finished;
  if (job.state !== 'completed' || report === undefined) {
    const reason = describeUnfinished(finished);
    return `${chalk.red(job.state)}  ${request.sha.slice(0, 7)}  ${neutralizeControls(request.subject)}\n  ${neutralizeControls(reason)}\n  job ${job.id}\n`;
  }

  return renderReportText(toCommitReport(report), { chalk, width });
}

/** Describes why a waited-for job has no report: its error, or the missing model the daemon holds it for. */
export function describeUnfinished({ job, held }: FinishedJob): string {
  if (held) {
    return `model ${JSON.stringify(held.model)} is not installed in Ollama: run "${held.pullCommand}"; the job stays queued and runs once the model is there`;
  }

  return job.lastError ?? `the job was ${job.state}`;
}

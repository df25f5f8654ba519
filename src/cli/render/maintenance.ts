import type { ConfigEntry, ConfigValue, SetConfigResult, UnsetConfigResult } from '../../api/config.js';
import type { ChangedJob, PruneResult, RedoStaleResult } from '../../api/maintenance.js';
import type { EnsureDaemonResult } from '../../daemon/start.js';
import { type Paint, stateColor } from './paint.js';
import { oneLine } from './text.js';

/** Renders one line per job: new state, short commit id, subject and job id, as `stepper report` prints them. */
export function renderChangedJobs(jobs: readonly ChangedJob[], paint: Paint): string {
  return jobs
    .map((job) => {
      const state = job.deduplicated ? `${job.state} (already queued)` : job.state;
      const subject = job.subject === null ? '' : `  ${oneLine(job.subject)}`;
      return `${stateColor(job.state, paint)(state.padEnd(9))}  ${job.sha.slice(0, 7)}${subject}  ${paint.dim(`job ${job.jobId}`)}\n`;
    })
    .join('');
}

export function renderDaemonStart(daemon: EnsureDaemonResult | undefined): string {
  if (!daemon?.started) {
    return '';
  }

  return `started the daemon (pid ${daemon.pid ?? 'unknown'})\n`;
}

export function renderPrune(result: PruneResult): string {
  const verb = result.dryRun ? 'would remove' : 'removed';
  const jobs = result.completed + result.failed + result.cancelled;
  const lines = [
    `${verb} ${jobs} finished ${plural(jobs, 'job')} older than ${describeDuration(result.olderThanMs)} (${result.completed} completed, ${result.failed} failed, ${result.cancelled} cancelled)`,
    `${verb} ${result.events} ${plural(result.events, 'event')} of removed jobs`,
    `${verb} ${result.summaries} part ${plural(result.summaries, 'summary', 'summaries')} not used since then`,
    `${verb} ${result.reports} superseded ${plural(result.reports, 'report')}`,
    `${verb} ${result.spoolIngested} spool ${plural(result.spoolIngested, 'record')} already ingested and ${result.spoolRejected} rejected spool ${plural(result.spoolRejected, 'file')}`,
  ];

  if (result.bytesAfter === null) {
    lines.push(`database and WAL: ${formatBytes(result.bytesBefore)}; a dry run does not measure the size after pruning`);
  } else {
    lines.push(`database and WAL: ${formatBytes(result.bytesBefore)} before, ${formatBytes(result.bytesAfter)} after the checkpoint`);
  }

  return `${lines.join('\n')}\n`;
}

export function renderRedo(result: RedoStaleResult, paint: Paint): string {
  const target = `${result.model.name}, prompt v${result.promptVersion}, schema v${result.schemaVersion}`;
  if (result.reports.length === 0) {
    return `no stale reports: every report was made with ${target}\n`;
  }

  const lines = result.reports.map((entry) => {
    const versions = `${entry.model ?? 'unknown model'}, prompt v${entry.promptVersion ?? '?'}, schema v${entry.schemaVersion ?? '?'}`;
    const subject = entry.subject === null ? '' : `  ${oneLine(entry.subject)}`;
    let outcome = '';
    if (entry.skipped !== null) {
      outcome = `  ${paint.red(`skipped: ${entry.skipped}`)}`;
    } else if (entry.jobId !== null) {
      outcome = `  ${paint.dim(`job ${entry.jobId}${entry.deduplicated ? ' (already queued)' : ''}`)}`;
    }

    return `${entry.commitSha.slice(0, 7)}${subject}  (${versions})${outcome}`;
  });

  return `${[renderRedoHeader(result, target), ...lines].join('\n')}\n`;
}

/** Renders the summary line of redo, counting new jobs, jobs already queued and skipped commits apart. */
function renderRedoHeader(result: RedoStaleResult, target: string): string {
  const count = result.reports.length;
  const skipped = result.reports.filter((entry) => entry.skipped !== null).length;
  const reports = `${count} stale ${plural(count, 'report')}`;

  if (result.dryRun) {
    const skips = skipped === 0 ? '' : `; ${skipped} ${plural(skipped, 'is', 'are')} skipped because the repository or commit is gone`;
    return `${skipped === 0 ? reports : `${count - skipped} of ${reports}`} would be made again with ${target}${skips}:`;
  }

  const already = result.reports.filter((entry) => entry.jobId !== null && entry.deduplicated).length;
  const fresh = result.reports.filter((entry) => entry.jobId !== null && !entry.deduplicated).length;
  const others = [already > 0 ? `${already} already queued` : '', skipped > 0 ? `${skipped} skipped` : ''].filter((part) => part !== '');
  const detail = others.length === 0 ? '' : ` (${others.join(', ')})`;
  return `queued ${fresh} of ${reports} to be made again with ${target}${detail}; the old reports stay until the new ones are stored:`;
}

/** Renders the value in effect, or each value of a multi-valued key, one per line. */
export function renderConfigGet(value: ConfigValue): string {
  if (value.multiValued) {
    return value.entries.map((entry) => `${oneLine(entry.value)}\n`).join('');
  }

  return value.value === null ? '' : `${oneLine(value.value)}\n`;
}

/** Renders `key = value (scope: file)` for each value set, or with `all` every registry key with its documentation. */
export function renderConfigList(keys: readonly ConfigValue[], unknown: readonly ConfigEntry[], all: boolean, paint: Paint): string {
  const lines: string[] = [];
  if (!all) {
    for (const key of keys) {
      lines.push(...key.entries.map((entry) => `${entry.key} = ${oneLine(entry.value)}  ${paint.dim(`(${entry.scope}: ${entry.origin})`)}`));
    }
  } else {
    for (const key of keys) {
      const type = key.multiValued ? `${key.type}, multi-valued` : key.type;
      lines.push(paint.bold(key.key), `  type     ${type}`, `  default  ${key.defaultValue ?? '(none)'}`, `  ${key.description}`);
      if (key.entries.length === 0) {
        lines.push('  value    (not set)');
      }
      for (const entry of key.entries) {
        lines.push(`  value    ${oneLine(entry.value)}  ${paint.dim(`(${entry.scope}: ${entry.origin})`)}`);
      }
      lines.push('');
    }
  }

  for (const entry of unknown) {
    lines.push(`${paint.yellow('warning:')} ${entry.key} is set (${entry.scope}: ${entry.origin}) but stepper does not read it; see stepper config list --all`);
  }

  return lines.length === 0 ? '' : `${lines.join('\n').trimEnd()}\n`;
}

export function renderConfigSet(result: SetConfigResult): string {
  const values = result.values.length > 1 ? ` (${result.values.length} values now)` : '';
  return `set ${result.key} = ${oneLine(result.value)} in the ${result.scope} config${values}\n`;
}

export function renderConfigUnset(result: UnsetConfigResult): string {
  if (result.removed === 0) {
    return `${result.key} was not set in the ${result.scope} config\n`;
  }

  return `removed ${result.key} from the ${result.scope} config (${result.removed} ${plural(result.removed, 'value')})\n`;
}

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return count === 1 ? singular : pluralForm;
}

function describeDuration(ms: number): string {
  const units: Array<[number, string]> = [
    [7 * 86_400_000, 'w'],
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
  ];
  for (const [size, unit] of units) {
    if (ms % size === 0) {
      return `${ms / size}${unit}`;
    }
  }

  return `${ms / 1000}s`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KiB`;
  }

  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

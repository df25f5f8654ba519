import fs from 'node:fs';

import { InvalidOptionError, checkDataDir } from '../errors.js';
import { type LoggedCommit, logCommits, repositoryName } from '../diary/commits.js';
import { parseGitDate, resolveTimeZone } from '../diary/dates.js';
import { groupCommits } from '../diary/group.js';
import { ZoneCalendar } from '../diary/periods.js';
import { listKnownRepositories, readStoredStates, reportStateOf, type StoredCommitState } from '../diary/reports.js';
import type { Diary, DiaryCommit, DiaryGrouping } from '../diary/types.js';
import { GitError, NotARepositoryError } from '../git/errors.js';
import { openRepository } from '../git/repository.js';
import type { Repository } from '../git/types.js';
import { openExistingQueue } from '../queue/queue.js';
import { resolveDataDir } from '../store/data-dir.js';
import { currentFolder } from '../git/current-folder.js';

export const DIARY_GROUPINGS: readonly DiaryGrouping[] = ['day', 'week', 'month'];

export interface DiaryOptions {
  /** Only commits authored at or after this date, in any form `git log --since` reads. */
  since?: string;
  /** Only commits authored at or before this date. */
  until?: string;
  /** Length of a period. @default 'day' */
  by?: DiaryGrouping;
  /** Extended regular expression matched against the author's name and email, as `git log -E --author` matches it. */
  author?: string;
  /** Read every repository the queue has jobs or reports for, not the one of `cwd`. @default false */
  allRepos?: boolean;
  /** IANA zone the periods are cut in and the dates are read in. @default the TZ variable's zone, or the system's */
  timeZone?: string;
  /** Folder inside the repository. @default process.cwd() */
  cwd?: string;
  /** Data directory holding the database. @default resolveDataDir() */
  dataDir?: string;
}

/**
 * Builds the diary: the commits of the local branches and HEAD, with their stored reports,
 * grouped into days, ISO weeks or months of one time zone, with counts per period.
 * Nothing is written: the database is opened read-only, and a missing one means no reports.
 *
 * Raises InvalidOptionError for an unknown grouping or zone, a date git cannot read or an
 * author pattern git cannot compile, and NotARepositoryError when `cwd` is outside a
 * repository and `allRepos` is not set.
 */
export async function buildDiary(options: DiaryOptions = {}): Promise<Diary> {
  const grouping = options.by ?? 'day';
  if (!DIARY_GROUPINGS.includes(grouping)) {
    throw new InvalidOptionError('--by', DIARY_GROUPINGS.join(', '), grouping);
  }

  const timeZone = resolveTimeZone(options.timeZone);
  const dataDir = options.dataDir === undefined ? resolveDataDir() : checkDataDir(options.dataDir);
  const [sinceSeconds, untilSeconds] = await Promise.all([
    options.since === undefined ? null : parseGitDate('--since', options.since, timeZone),
    options.until === undefined ? null : parseGitDate('--until', options.until, timeZone),
  ]);
  if (sinceSeconds !== null && untilSeconds !== null && sinceSeconds > untilSeconds) {
    throw new InvalidOptionError('--since', `a date before --until (${options.until}, read as ${new Date(untilSeconds * 1000).toISOString()})`, options.since);
  }

  const current = options.allRepos ? null : await openCurrentRepository(options.cwd ?? currentFolder());
  // Opening read-only creates nothing, so a missing database means no report has been made yet.
  const queue = openExistingQueue({ dataDir });
  const diary: Diary = {
    grouping,
    timeZone,
    since: null,
    until: null,
    author: options.author ?? null,
    repositories: [],
    skipped: [],
    periods: [],
    totals: { commits: 0, reported: 0, additions: 0, deletions: 0, types: {} },
  };

  const commits: DiaryCommit[] = [];
  try {
    let repositories: string[] = [];
    if (current) {
      repositories = [current.gitDir];
    } else if (queue) {
      repositories = listKnownRepositories(queue);
    }

    for (const repository of repositories) {
      const logged = await readRepository(repository, { author: options.author, sinceSeconds: sinceSeconds ?? undefined, untilSeconds: untilSeconds ?? undefined }, current !== null);
      if ('reason' in logged) {
        diary.skipped.push({ repository, reason: logged.reason });
        continue;
      }

      diary.repositories.push(repository);
      const stored = queue ? readStoredStates(queue, repository) : new Map<string, StoredCommitState>();
      for (const commit of logged.commits) {
        commits.push(toDiaryCommit(commit, repository, stored.get(commit.sha)));
      }
    }
  } finally {
    queue?.close();
  }

  const calendar = new ZoneCalendar(timeZone);
  const sinceMs = sinceSeconds === null ? null : sinceSeconds * 1000;
  const untilMs = untilSeconds === null ? null : untilSeconds * 1000;
  diary.since = sinceMs === null ? null : calendar.isoString(sinceMs);
  diary.until = untilMs === null ? null : calendar.isoString(untilMs);

  // Commits of several repositories interleave by author date. Within a repository, equal dates keep git's order.
  const { periods, totals } = groupCommits(commits, { grouping, calendar, sinceMs, untilMs, nowMs: Date.now() });
  diary.periods = periods;
  diary.totals = totals;
  return diary;
}

async function openCurrentRepository(cwd: string): Promise<Repository> {
  try {
    return await openRepository(cwd);
  } catch (error) {
    throw error instanceof NotARepositoryError ? error.withAlternative('add --all-repos for every repository stepper knows') : error;
  }
}

type LogOutcome = { commits: LoggedCommit[] } | { reason: string };

/**
 * Reads one repository's commits, oldest first. A repository named by the queue that no
 * longer exists or cannot be read is returned with the reason, but the errors of the
 * current repository are raised.
 */
async function readRepository(repository: string, limits: Parameters<typeof logCommits>[1], raise: boolean): Promise<LogOutcome> {
  if (!raise && !fs.existsSync(repository)) {
    return { reason: 'the folder does not exist' };
  }

  try {
    return { commits: (await logCommits(repository, limits)).reverse() };
  } catch (error) {
    if (raise || error instanceof InvalidOptionError) {
      throw error;
    }

    // Anything else about one of several repositories skips it, such as a `.git` folder that
    // became a file (spawn fails with ENOTDIR) or a history git cannot read.
    if (error instanceof GitError) {
      return { reason: error.stderr.trim().split('\n').pop() || error.message };
    }
    return { reason: error instanceof Error ? error.message : String(error) };
  }
}

function toDiaryCommit(commit: LoggedCommit, repository: string, stored: StoredCommitState | undefined): DiaryCommit {
  return {
    sha: commit.sha,
    repository,
    repositoryName: repositoryName(repository),
    authorName: commit.authorName,
    authorEmail: commit.authorEmail,
    authoredAt: commit.authoredAt,
    authoredAtMs: commit.authoredAtMs,
    subject: commit.subject,
    merge: commit.merge,
    type: commit.type,
    additions: commit.additions,
    deletions: commit.deletions,
    files: commit.files,
    reportState: reportStateOf(stored),
    report: stored?.report ?? null,
  };
}

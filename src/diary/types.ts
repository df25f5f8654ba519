/** Length of one diary period. Weeks start on Monday, as ISO 8601 weeks do. */
export type DiaryGrouping = 'day' | 'week' | 'month';

/** Whether a diary commit has a report, and if not, the state of its report job in the queue. */
export type DiaryReportState = 'reported' | 'pending' | 'failed' | 'none';

/** The part of a stored report the diary shows. */
export interface DiaryReport {
  title: string;
  summary: string;
  tags: string[];
  model: string;
  /** When the report was stored, as an ISO 8601 UTC timestamp. */
  createdAt: string;
}

/** One commit in the diary, with its report when one is stored. */
export interface DiaryCommit {
  sha: string;
  /** Real path of the repository's common git directory, as the queue stores it. */
  repository: string;
  /** Short display name of the repository: the name of its work tree folder. */
  repositoryName: string;
  authorName: string;
  authorEmail: string;
  /** Author date as git records it, ISO 8601 with the author's own UTC offset. */
  authoredAt: string;
  /** Author date in epoch milliseconds, which decides the commit's period. */
  authoredAtMs: number;
  subject: string;
  /**
   * True for a commit with more than one parent, whose lines are counted against the first
   * parent. buildDiary always sets it; it is optional so that diaries built by hand stay valid.
   */
  merge?: boolean;
  /** Conventional-commit type of the subject (`feat`, `fix`, ...), or null when the subject has none. */
  type: string | null;
  /** Lines added and removed in text files, as `git log --numstat` counts them against the first parent. */
  additions: number;
  deletions: number;
  files: number;
  /** `reported` when `report` is set; otherwise the state of the commit's report job, or `none`. */
  reportState: DiaryReportState;
  report: DiaryReport | null;
}

/** One day, week or month of the diary. */
export interface DiaryPeriod {
  /** Stable key: `2026-03-29` for a day, `2026-W13` for an ISO week, `2026-03` for a month. */
  key: string;
  /** Human label, such as `Sunday 29 March 2026` or `Week 13, 23–29 March 2026`. */
  label: string;
  /** First instant of the period in the diary's time zone, as an ISO 8601 timestamp with offset. */
  start: string;
  /** First instant after the period, as an ISO 8601 timestamp with offset. */
  end: string;
  /** Oldest first. Empty for a period without commits. */
  commits: DiaryCommit[];
  /** Commit counts by conventional-commit type; subjects without a type count under `other`. */
  types: Record<string, number>;
  reported: number;
  additions: number;
  deletions: number;
}

export interface Diary {
  grouping: DiaryGrouping;
  /** IANA time zone the periods are cut in, such as `Europe/Berlin`. */
  timeZone: string;
  /** Window start and end as ISO 8601 timestamps, or null when open. */
  since: string | null;
  until: string | null;
  /** Author pattern the commits were filtered with, or null. */
  author: string | null;
  /** Repositories read, as real paths of their common git directories. */
  repositories: string[];
  /** Repositories that could not be read (moved or deleted), with the reason. */
  skipped: Array<{ repository: string; reason: string }>;
  /** Oldest first, every period from the first to the last included, empty ones too. */
  periods: DiaryPeriod[];
  totals: {
    commits: number;
    reported: number;
    additions: number;
    deletions: number;
    types: Record<string, number>;
  };
}

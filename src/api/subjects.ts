import { readCommits } from '../git/commit.js';
import { openRepository } from '../git/repository.js';
import type { Job } from '../queue/types.js';

/** Key of a commit in the map readJobSubjects returns. */
export function subjectKey(repository: string, sha: string): string {
  return `${repository}\0${sha}`;
}

/**
 * Reads the subject of each job's commit, keyed by subjectKey. A job queued by `stepper report`
 * carries its subject. The git hook reads no commit, so its jobs carry none, and their subjects
 * are read with one git call per repository. A repository that moved or a commit that was
 * garbage-collected leaves its subject out.
 */
export async function readJobSubjects(jobs: readonly Pick<Job, 'repository' | 'commitSha' | 'payload'>[]): Promise<Map<string, string>> {
  const subjects = new Map<string, string>();
  const missing = new Map<string, Set<string>>();
  for (const job of jobs) {
    const carried = (job.payload as { subject?: unknown } | null)?.subject;
    if (typeof carried === 'string') {
      subjects.set(subjectKey(job.repository, job.commitSha), carried);
    } else {
      missing.set(job.repository, (missing.get(job.repository) ?? new Set()).add(job.commitSha));
    }
  }

  for (const [repository, shas] of missing) {
    try {
      const repo = await openRepository(repository);
      for (const commit of await readCommits(repo, [...shas])) {
        subjects.set(subjectKey(repository, commit.sha), commit.subject);
      }
    } catch {
      // The subject stays unknown; the caller shows the job without it.
    }
  }

  return subjects;
}

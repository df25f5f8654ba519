import { describe, expect, it } from 'vitest';

import { MAX_PART_CALLS, MAX_REPORT_CALLS } from '../../src/report/generate.js';
import { MAX_PARTS } from '../../src/report/parts.js';
import { chatRequests, provenanceOf, resultOf, runReportJob, seedRepo, startStand, userMessage } from '../helpers/report-queue.js';
import { numberedLines, type RepoBuilder } from '../helpers/repo-builder.js';

describe('report of a large commit', () => {
  // NOTE: 8192 and not 4096, because with 4096 the final prompt has no room for the worst case of
  // six part summaries, so generateReport sends one prompt whose evidence is cut to fit instead of parts.
  const SMALL_MODEL = { name: 'small-context:1b', contextLength: 8192 };

  function largeCommit(): { builder: RepoBuilder; sha: string } {
    const { builder } = seedRepo();
    for (let file = 1; file <= 20; file += 1) {
      builder.write(`src/module-${String(file).padStart(2, '0')}.ts`, numberedLines(160, `export const setting${file}Value = 'a fairly long configuration text'; //`));
    }
    return { builder, sha: builder.commit('Add twenty modules\n') };
  }

  /** Answers a part request with a title that names the part, so the final prompt can be checked for it. */
  function partAnswer(request: { prompt: string }): object | undefined {
    const match = /part (\d+) of (\d+)/.exec(request.prompt);
    if (!match) {
      return undefined;
    }

    return {
      title: `Summary title of part ${match[1]}`,
      summary: `Part ${match[1]} adds modules.`,
      changes: [`Add the modules of part ${match[1]}`],
      rationale: '',
      impact_and_tests: '',
      next_steps: [],
      tags: ['modules'],
    };
  }

  it('parts summarized before the report', async () => {
    const stand = await startStand({ fake: { models: [SMALL_MODEL], answer: partAnswer } });
    const { builder, sha } = largeCommit();
    const job = await runReportJob(stand, builder, sha, { model: SMALL_MODEL.name });
    const parts = provenanceOf(resultOf(stand, job)).parts;
    const requests = chatRequests(stand.fake);
    const count = parts?.count ?? 0;

    expect(job.state).toBe('completed');
    expect(count).toBeGreaterThanOrEqual(2);
    expect(parts?.reused).toBe(0);
    expect(parts?.failed).toBe(0);
    expect(requests).toHaveLength(count + 1);
    expect(requests.length).toBeLessThanOrEqual(MAX_PARTS * MAX_PART_CALLS + MAX_REPORT_CALLS);
    for (let index = 1; index <= count; index += 1) {
      expect(userMessage(requests[index - 1])).toContain(`part ${index} of ${count}`);
      expect(userMessage(requests[count])).toContain(`Title: Summary title of part ${index}`);
    }
    expect(userMessage(requests[count])).not.toMatch(/part \d+ of \d+ of one commit/);
  });

  it('forced rerun reuses every part summary', async () => {
    const stand = await startStand({ fake: { models: [SMALL_MODEL], answer: partAnswer } });
    const { builder, sha } = largeCommit();
    await runReportJob(stand, builder, sha, { model: SMALL_MODEL.name });
    const before = chatRequests(stand.fake).length;
    const forced = await runReportJob(stand, builder, sha, { model: SMALL_MODEL.name, force: true });
    const parts = provenanceOf(resultOf(stand, forced)).parts;

    expect(forced.state).toBe('completed');
    expect(parts?.reused).toBe(parts?.count);
    expect(chatRequests(stand.fake).length - before).toBe(1);
  });

  it('failing parts stay within the call bound', async () => {
    const stand = await startStand({ fake: { models: [SMALL_MODEL] } });
    stand.fake.enqueue({ fault: { kind: 'ignore_format' }, times: 'always' });
    const { builder, sha } = largeCommit();
    const job = await runReportJob(stand, builder, sha, { model: SMALL_MODEL.name, maxAttempts: 1 });

    expect(job.state).toBe('failed');
    expect(job.errorClass).toBe('InvalidReportError');
    expect(chatRequests(stand.fake).length).toBeLessThanOrEqual(MAX_PARTS * MAX_PART_CALLS + MAX_REPORT_CALLS);
    // More requests than MAX_REPORT_CALLS show that the parts were tried before the final request.
    expect(chatRequests(stand.fake).length).toBeGreaterThan(MAX_REPORT_CALLS);
  });
});


// One measured stepper run, started by run.mjs in its own process so that peak RSS is this run's alone.
// Usage: node bench/evidence/stepper-child.mjs evidence <repository> <commit> <token budget>
//        node bench/evidence/stepper-child.mjs import-only
// Prints one JSON line. maxRssKiB is this Node process's peak resident set; the git
// processes that buildEvidence starts are not part of it.
import { performance } from 'node:perf_hooks';

const [mode, repositoryDir, sha, budgetText] = process.argv.slice(2);

const importStart = performance.now();
const { buildEvidence } = await import('../../dist/evidence/build.js');
const { openRepository } = await import('../../dist/git/repository.js');
const importMs = performance.now() - importStart;

if (mode === 'import-only') {
  console.log(JSON.stringify({ importMs, maxRssKiB: process.resourceUsage().maxRSS }));
} else if (mode === 'evidence') {
  const tokenBudget = Number(budgetText);
  const start = performance.now();
  const repo = await openRepository(repositoryDir);
  const evidence = await buildEvidence(repo, sha, { tokenBudget });
  const buildMs = performance.now() - start;

  const coverage = {};
  for (const file of evidence.files) {
    const mark = file.coverage.startsWith('excluded') ? 'excluded' : file.coverage;
    coverage[mark] = (coverage[mark] ?? 0) + 1;
  }

  console.log(
    JSON.stringify({
      importMs,
      buildMs,
      maxRssKiB: process.resourceUsage().maxRSS,
      files: evidence.files.length,
      tokenBudget,
      estimatedTokens: evidence.estimatedTokens,
      identitySource: evidence.identity.source,
      coverage,
    }),
  );
} else {
  console.error(`unknown mode ${JSON.stringify(mode)}: expected evidence or import-only`);
  process.exit(2);
}

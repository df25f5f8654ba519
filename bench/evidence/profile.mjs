// Reads a V8 CPU profile (node --cpu-prof) of one buildEvidence run into the few numbers
// that show where its time goes.

/**
 * Functions reported, by name and the end of their script's URL. Sampled time is counted
 * for a function whenever it is on the stack, so callers include their callees. Time in an
 * async function after an `await` is not counted for it, which is why the git calls show
 * up as "(idle)": the main thread waiting for git output.
 */
const REPORTED = [
  { name: 'all samples', match: (frame) => frame.functionName === '(root)' },
  { name: '(idle): waiting for git', match: (frame) => frame.functionName === '(idle)' },
  { name: '(garbage collector)', match: (frame) => frame.functionName === '(garbage collector)' },
  { name: 'describeFile: exclusion rules per file', match: (frame) => frame.functionName === 'describeFile' && frame.url.endsWith('/evidence/build.js') },
  { name: 'PatchStream.write: parsing the diff', match: (frame) => frame.functionName === 'write' && frame.url.endsWith('/git/patch-stream.js') },
  { name: 'PatchIdSink.write: piping the diff to git patch-id', match: (frame) => frame.functionName === 'write' && frame.url.endsWith('/git/patch-id.js') },
  { name: 'fitToBudget: cutting to the token budget', match: (frame) => frame.functionName === 'fitToBudget' },
  { name: 'renderEvidence', match: (frame) => frame.functionName === 'renderEvidence' },
];

/** Returns `{ name, ms }` for each reported function, callees included. */
export function summarizeProfile(profile) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) {
      parents.set(child, node.id);
    }
  }

  const microsByNode = new Map();
  profile.samples.forEach((id, index) => {
    microsByNode.set(id, (microsByNode.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });

  const totals = REPORTED.map(() => 0);
  for (const [id, micros] of microsByNode) {
    // A recursive function appears more than once on a stack; count its time once.
    const counted = new Set();
    for (let current = id; current !== undefined; current = parents.get(current)) {
      const frame = nodes.get(current).callFrame;
      REPORTED.forEach((entry, index) => {
        if (!counted.has(index) && entry.match(frame)) {
          counted.add(index);
          totals[index] += micros;
        }
      });
    }
  }

  return REPORTED.map((entry, index) => ({ name: entry.name, ms: totals[index] / 1000 }));
}

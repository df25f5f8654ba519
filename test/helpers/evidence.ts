import type { EvidenceFile } from '../../src/evidence/types.js';

/** Builds an evidence file entry: a modified source file, +2 -1, fully covered, no diff shown. */
export function evidenceFile(path: string, overrides: Partial<EvidenceFile> = {}): EvidenceFile {
  return {
    path,
    status: 'modified',
    oldMode: '100644',
    newMode: '100644',
    modeChanged: false,
    oldObject: 'a'.repeat(40),
    newObject: 'b'.repeat(40),
    additions: 2,
    deletions: 1,
    binary: false,
    category: 'source',
    coverage: 'full',
    flags: [],
    patch: null,
    patchBytes: 0,
    ...overrides,
  };
}

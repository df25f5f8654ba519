import type { DirectoryGroup, EvidenceFile } from './types.js';

/** Rendered bytes of one group line besides the directory name, an estimate on the safe side. */
const GROUP_LINE_OVERHEAD_BYTES = 48;

/** Name of the group that collects the directories left over when even one level does not fit. */
export const OTHER_DIRECTORIES = '(other directories)';

/**
 * Groups files by directory for a commit whose file list does not fit. Tries the deepest
 * grouping whose lines fit `maxBytes`, then shallower ones; at the top level it keeps the
 * directories with the most changed lines and folds the rest into one group, so the
 * result is bounded whatever the number of files.
 */
export function groupByDirectory(files: readonly EvidenceFile[], maxBytes: number): DirectoryGroup[] {
  const maxDepth = Math.max(1, ...files.map((file) => file.path.split('/').length - 1));

  for (let depth = maxDepth; depth >= 1; depth--) {
    const groups = groupAtDepth(files, depth);
    if (renderedSize(groups) <= maxBytes) {
      return groups;
    }
  }

  const top = groupAtDepth(files, 1).sort((a, b) => b.additions + b.deletions - (a.additions + a.deletions));
  const kept: DirectoryGroup[] = [];
  const other: DirectoryGroup = { directory: OTHER_DIRECTORIES, files: 0, additions: 0, deletions: 0, excluded: 0 };
  let size = OTHER_DIRECTORIES.length + GROUP_LINE_OVERHEAD_BYTES;

  for (const group of top) {
    const lineSize = group.directory.length + GROUP_LINE_OVERHEAD_BYTES;
    if (size + lineSize <= maxBytes) {
      kept.push(group);
      size += lineSize;
      continue;
    }

    other.files += group.files;
    other.additions += group.additions;
    other.deletions += group.deletions;
    other.excluded += group.excluded;
  }

  return other.files > 0 ? [...kept, other] : kept;
}

function groupAtDepth(files: readonly EvidenceFile[], depth: number): DirectoryGroup[] {
  const groups = new Map<string, DirectoryGroup>();

  for (const file of files) {
    const parts = file.path.split('/').slice(0, -1);
    const directory = parts.slice(0, depth).join('/');
    const group = groups.get(directory) ?? { directory, files: 0, additions: 0, deletions: 0, excluded: 0 };
    group.files += 1;
    group.additions += file.additions ?? 0;
    group.deletions += file.deletions ?? 0;
    if (file.coverage.startsWith('excluded')) {
      group.excluded += 1;
    }

    groups.set(directory, group);
  }

  return [...groups.values()].sort((a, b) => a.directory.localeCompare(b.directory));
}

function renderedSize(groups: readonly DirectoryGroup[]): number {
  return groups.reduce((total, group) => total + group.directory.length + GROUP_LINE_OVERHEAD_BYTES, 0);
}

import type { DirectoryGroup, EvidenceFile } from './types.js';

/** Bytes of a rendered group line besides its label and numbers: `- `, two `  `, ` files`, `+`, ` -` and the newline. */
const GROUP_LINE_FIXED_BYTES = 16;

/** Name of the group that collects the directories left over when even one level does not fit. */
export const OTHER_DIRECTORIES = '(other directories)';

/**
 * Groups files by directory for a commit whose file list does not fit. Tries the deepest
 * grouping whose lines fit `maxBytes`, then shallower ones. At the top level it keeps the
 * directories with the most changed lines and folds the rest into one group, so the
 * rendered lines fit `maxBytes` whatever the number of files. Returns no groups when not
 * even the folded group's line fits.
 */
export function groupByDirectory(files: readonly EvidenceFile[], maxBytes: number): DirectoryGroup[] {
  // A loop, not Math.max(...spread): a commit can change more files than a call takes arguments.
  let maxDepth = 1;
  for (const file of files) {
    maxDepth = Math.max(maxDepth, file.path.split('/').length - 1);
  }

  for (let depth = maxDepth; depth >= 1; depth--) {
    const groups = groupAtDepth(files, depth);
    if (renderedSize(groups) <= maxBytes) {
      return groups;
    }
  }

  const top = groupAtDepth(files, 1).sort((a, b) => b.additions + b.deletions - (a.additions + a.deletions));
  const kept: DirectoryGroup[] = [];
  const other: DirectoryGroup = { directory: OTHER_DIRECTORIES, files: 0, additions: 0, deletions: 0, excluded: 0 };
  // The folded group's counts are not known yet, but those of all files bound them.
  let size = lineBytes({ ...sumGroups(top), directory: OTHER_DIRECTORIES });
  if (size > maxBytes) {
    // Not even one line fits. The list's heading still gives the totals.
    return [];
  }

  for (const group of top) {
    const lineSize = lineBytes(group);
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
  return groups.reduce((total, group) => total + lineBytes(group), 0);
}

/**
 * Returns an upper bound of the bytes of the group's rendered line. The label is counted
 * as quoted JSON plus a slash, which is never shorter than the label the list shows.
 */
function lineBytes(group: DirectoryGroup): number {
  const label = group.directory === '' ? '(top level)'.length : Buffer.byteLength(JSON.stringify(group.directory)) + 1;
  const excluded = group.excluded > 0 ? `, ${group.excluded} excluded`.length : 0;
  const numbers = `${group.files}${group.additions}${group.deletions}`.length;
  return GROUP_LINE_FIXED_BYTES + label + numbers + excluded;
}

function sumGroups(groups: readonly DirectoryGroup[]): Omit<DirectoryGroup, 'directory'> {
  const sum = { files: 0, additions: 0, deletions: 0, excluded: 0 };
  for (const group of groups) {
    sum.files += group.files;
    sum.additions += group.additions;
    sum.deletions += group.deletions;
    sum.excluded += group.excluded;
  }

  return sum;
}

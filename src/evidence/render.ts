import type { CommitInfo, FileChange } from '../git/types.js';
import { OTHER_DIRECTORIES } from './directories.js';
import type { DirectoryGroup, Evidence, EvidenceFile, FileFlag } from './types.js';

const FLAG_TEXT: Record<FileFlag, string> = {
  'line-endings-only': 'only line endings changed (CRLF and LF), the text is the same',
  'no-trailing-newline': 'no newline at the end of the file',
  'trailing-newline-added': 'a newline was added at the end of the file',
  'non-utf8': 'content is not valid UTF-8 and is shown with replacement characters',
  'mode-only': 'only the file mode changed',
  'rename-only': 'same content as the old path',
  submodule: 'submodule pointer moved',
  'long-lines': 'has lines longer than 64 KiB, cut in the diff',
};

/**
 * Renders evidence as the plain text a model reads: the commit, stated policies, the file
 * list with coverage marks (or directory groups), then the diffs chosen for the budget.
 */
export function renderEvidence(evidence: Evidence): string {
  const parts = [renderHeader(evidence.commit, evidence.notes), renderFileSection(evidence)];

  for (const file of evidence.files) {
    if (file.patch) {
      parts.push(renderPatch(file));
    }
  }

  return `${parts.join('\n')}\n`;
}

/** Renders the commit's metadata, message and notes. */
export function renderHeader(commit: CommitInfo, notes: readonly string[]): string {
  const lines = [
    `Commit: ${commit.sha}`,
    `Parents: ${commit.parents.length > 0 ? commit.parents.join(' ') : 'none (root commit)'}`,
    `Author: ${commit.author.name} <${commit.author.email}> ${commit.author.date}`,
  ];

  if (commit.committer.name !== commit.author.name || commit.committer.email !== commit.author.email) {
    lines.push(`Committer: ${commit.committer.name} <${commit.committer.email}> ${commit.committer.date}`);
  }

  lines.push('', 'Message:', commit.subject);
  if (commit.body.length > 0) {
    lines.push('', commit.body);
  }

  if (notes.length > 0) {
    lines.push('', 'Notes:', ...notes.map((note) => `- ${note}`));
  }

  return `${lines.join('\n')}\n`;
}

/** Renders the file list, or the directory groups that replace it when it does not fit. */
export function renderFileSection(evidence: Evidence): string {
  return evidence.directories ? renderDirectories(evidence) : renderFileList(evidence.files);
}

/** Renders one line per file: status, path, line counts, coverage and flags. */
export function renderFileList(files: readonly EvidenceFile[]): string {
  const totals = sumLines(files);
  const lines = [`Changed files (${files.length}, +${totals.additions} -${totals.deletions}):`];

  for (const file of files) {
    lines.push(renderFileLine(file));
  }

  return `${lines.join('\n')}\n`;
}

export function renderFileLine(file: EvidenceFile): string {
  const parts = [`- ${file.status}`, describePath(file)];

  if (file.binary) {
    parts.push('binary');
  } else if (file.additions !== null && file.deletions !== null) {
    parts.push(`+${file.additions} -${file.deletions}`);
  }

  if (file.modeChanged) {
    parts.push(`mode ${file.oldMode} -> ${file.newMode}`);
  }

  if (file.submodule) {
    parts.push(`submodule ${file.submodule.oldCommit ?? 'none'} -> ${file.submodule.newCommit ?? 'none'}`);
  }

  parts.push(`[${file.coverage}]`);
  const flags = file.flags.filter((flag) => flag !== 'mode-only' && flag !== 'submodule');
  if (flags.length > 0) {
    parts.push(`(${flags.map((flag) => FLAG_TEXT[flag]).join('; ')})`);
  }

  return parts.join('  ');
}

function renderDirectories(evidence: Evidence): string {
  const groups = evidence.directories as DirectoryGroup[];
  const totals = sumLines(evidence.files);
  const summary = `Changed files (${evidence.files.length}, +${totals.additions} -${totals.deletions}), too many to list`;
  const lines = [groups.length > 0 ? `${summary}, grouped by directory:` : `${summary} within the budget.`];

  for (const group of groups) {
    const excluded = group.excluded > 0 ? `, ${group.excluded} excluded` : '';
    lines.push(`- ${directoryLabel(group.directory)}  ${group.files} files  +${group.additions} -${group.deletions}${excluded}`);
  }

  return `${lines.join('\n')}\n`;
}

function directoryLabel(directory: string): string {
  if (directory === '') {
    return '(top level)';
  }

  return directory === OTHER_DIRECTORIES ? directory : `${quotePath(directory)}/`;
}

/** Renders one shown diff with its heading. */
export function renderPatch(file: EvidenceFile): string {
  return `Diff of ${quotePath(file.path)} [${file.coverage}]:\n${file.patch as string}`;
}

function describePath(file: FileChange): string {
  if (file.oldPath !== undefined && file.oldPath !== file.path) {
    const similarity = file.similarity === undefined ? '' : ` (${file.similarity}% similar)`;
    return `${quotePath(file.oldPath)} -> ${quotePath(file.path)}${similarity}`;
  }

  return quotePath(file.path);
}

/** Quotes a path as JSON when it has characters that would break the line layout. */
export function quotePath(path: string): string {
  return /[\u0000-\u001f\u007f]|^\s|\s$|^"/.test(path) ? JSON.stringify(path) : path;
}

function sumLines(files: readonly FileChange[]): { additions: number; deletions: number } {
  let additions = 0;
  let deletions = 0;
  for (const file of files) {
    additions += file.additions ?? 0;
    deletions += file.deletions ?? 0;
  }

  return { additions, deletions };
}

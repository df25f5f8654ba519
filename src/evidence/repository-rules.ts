import path from 'node:path/posix';

import { EXCLUDE_KEY } from '../config/keys.js';
import { GitError } from '../git/errors.js';
import type { ObjectReader } from '../git/cat-file.js';
import { readGit, runGit } from '../git/git.js';
import { objectContext, worktreeContext } from '../git/repository.js';
import type { Repository } from '../git/types.js';
import { type ParsedAttributes, parseGitAttributes } from './gitattributes.js';

/**
 * Reads the user's `stepper.exclude` patterns: every value of the multi-valued key from
 * the repository's config and the global one, in git's order. None set gives [].
 */
export async function readExcludePatterns(repo: Repository): Promise<string[]> {
  try {
    const output = await runGit(worktreeContext(repo), ['config', '--null', '--get-all', EXCLUDE_KEY]);
    return output.split('\0').filter((pattern) => pattern.trim().length > 0);
  } catch (error) {
    // `git config --get-all` exits with 1 when the key is not set.
    if (error instanceof GitError && error.exitCode === 1) {
      return [];
    }

    throw error;
  }
}

/**
 * Reads the `.gitattributes` files of `commit` that can apply to `paths`: the one at the top
 * and those in each directory above a changed path. They are read as stored in that commit,
 * not from the worktree, so an old commit is judged by the rules it was made under.
 * `reader` is a cat-file process the caller started early, which this uses or ends.
 */
export async function readAttributes(
  repo: Repository,
  commit: string,
  paths: readonly string[],
  reader: ObjectReader,
): Promise<ParsedAttributes[]> {
  const directories = new Set<string>(['']);
  for (const file of paths) {
    for (let directory = path.dirname(file); directory !== '.' && directory !== '/'; directory = path.dirname(directory)) {
      directories.add(directory);
    }
  }

  // Shallower files first: deeper ones override them.
  const ordered = [...directories].sort((a, b) => depth(a) - depth(b));
  let found: AttributeFile[];
  if (ordered.every(isNameableDirectory)) {
    found = await readAttributeFilesByName(reader, commit, ordered);
  } else {
    reader.cancel();
    found = await readAttributeFilesFromListing(repo, commit, directories, ordered);
  }

  return found.map(({ directory, text }) => parseGitAttributes(text, directory));
}

/**
 * Reports whether `<commit>:<directory>/.gitattributes` names the file exactly. cat-file
 * reads one name per line and resolves `.` and `..` against the working folder. A path
 * whose bytes are not UTF-8 was decoded with U+FFFD, so it no longer spells the stored name.
 */
function isNameableDirectory(directory: string): boolean {
  return !/[\n\uFFFD]/.test(directory) && !directory.split('/').some((part) => part === '.' || part === '..');
}

/** Reads the attributes file of each directory, in the order given, with one `git cat-file --batch` lookup each. */
async function readAttributeFilesByName(reader: ObjectReader, commit: string, directories: readonly string[]): Promise<AttributeFile[]> {
  const names = directories.map((directory) => `${commit}:${directory === '' ? '' : `${directory}/`}.gitattributes`);
  const objects = await reader.read(names);

  const found: AttributeFile[] = [];
  objects.forEach((object, index) => {
    // A directory or a submodule named .gitattributes is not an attributes file.
    if (object?.type === 'blob') {
      found.push({ directory: directories[index] as string, text: object.content.toString('utf8') });
    }
  });
  return found;
}

/** Lists the whole tree and reads each attributes file found, for directory names cat-file cannot take. */
async function readAttributeFilesFromListing(
  repo: Repository,
  commit: string,
  directories: ReadonlySet<string>,
  ordered: readonly string[],
): Promise<AttributeFile[]> {
  const listing = await readGit(objectContext(repo), ['ls-tree', '-r', '-z', '--full-tree', commit]);
  const objects = new Map<string, string>();
  for (const entry of listing.toString('utf8').split('\0')) {
    const tab = entry.indexOf('\t');
    if (tab === -1) {
      continue;
    }

    const file = entry.slice(tab + 1);
    const [, type, object] = entry.slice(0, tab).split(' ');
    const directory = path.dirname(file) === '.' ? '' : path.dirname(file);
    if (type === 'blob' && object && path.basename(file) === '.gitattributes' && directories.has(directory)) {
      objects.set(directory, object);
    }
  }

  const found: AttributeFile[] = [];
  for (const directory of ordered) {
    const object = objects.get(directory);
    if (object !== undefined) {
      const text = (await readGit(objectContext(repo), ['cat-file', 'blob', object])).toString('utf8');
      found.push({ directory, text });
    }
  }
  return found;
}

interface AttributeFile {
  directory: string;
  text: string;
}

function depth(directory: string): number {
  return directory === '' ? 0 : directory.split('/').length;
}

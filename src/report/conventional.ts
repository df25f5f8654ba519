// Conventional Commits subjects, read without the model. Kept apart from the report
// generator so that readers such as the diary do not load the Ollama client with it.

/** Conventional Commits types that `git.conventional` recognises. */
export const CONVENTIONAL_TYPES = ['feat', 'fix', 'docs', 'chore', 'refactor', 'test', 'perf', 'build', 'ci', 'style', 'revert'] as const;

export type ConventionalType = (typeof CONVENTIONAL_TYPES)[number];

export interface ConventionalSubject {
  type: ConventionalType;
  scope: string | null;
  /** Set by a `!` before the colon. */
  breaking: boolean;
  description: string;
}

// type, optional (scope) without parentheses or line breaks inside, optional !, colon, space, description.
const CONVENTIONAL_PATTERN = /^([a-z]+)(?:\(([^()\r\n]+)\))?(!)?: +(\S.*)$/i;

/**
 * Parses a Conventional Commits subject such as `fix(parser)!: reject empty input`. The type
 * is matched without regard to case and returned in lower case. Returns null for other
 * subjects and for types outside CONVENTIONAL_TYPES.
 */
export function parseConventionalSubject(subject: string): ConventionalSubject | null {
  const match = CONVENTIONAL_PATTERN.exec(subject.trim());
  if (!match) {
    return null;
  }

  const type = (match[1] as string).toLowerCase();
  if (!(CONVENTIONAL_TYPES as readonly string[]).includes(type)) {
    return null;
  }

  const scope = match[2]?.trim();
  return {
    type: type as ConventionalType,
    scope: scope ? scope : null,
    breaking: match[3] === '!',
    description: (match[4] as string).trim(),
  };
}

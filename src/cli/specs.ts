// The arguments and options of `stepper report` and `stepper status`, in one place. main.ts
// builds their commander commands from these specs, and the quick parser below reads the
// same specs, so the two cannot accept different options. This module imports nothing, because
// it loads before every `report` and `status`.

/** One option, in commander's own notation. */
export interface OptionSpec {
  /** Such as `-q, --quiet` or `--model <name>`: a `<value>` makes the option take one. */
  flags: string;
  description: string;
  /** The value is a whole number, checked by {@link isWholeNumber} and parsed with Number. */
  integer?: boolean;
  /** Smallest value an integer option accepts. @default 0 */
  minimum?: number;
  /** Value when the option is not given. */
  default?: number;
}

export interface CommandSpec {
  name: 'report' | 'status';
  description: string;
  argument: {
    /** `[name...]` takes any number of operands, `[name]` at most one. */
    name: string;
    description: string;
    default?: readonly string[];
  };
  options: readonly OptionSpec[];
}

export const REPORT_SPEC: CommandSpec = {
  name: 'report',
  description: 'queue a report for each commit and return at once with the job ids; the daemon writes the reports',
  argument: { name: '[revisions...]', description: 'commits and ranges (A..B, A...B, A^!), as git accepts them', default: ['HEAD'] },
  options: [
    { flags: '--wait', description: 'wait for the reports with a progress spinner, then print them; exit 1 if any job failed' },
    { flags: '--json', description: 'print JSON: one object per commit' },
    { flags: '--force', description: 'make new reports even where one exists; the old one stays until the new one is stored' },
    { flags: '--model <name>', description: 'Ollama model (default: STEPPER_MODEL, git config stepper.model, then qwen2.5-coder:7b)' },
    { flags: '--priority <level>', description: 'high, normal or low (default: high for single commits, low for ranges)' },
    { flags: '--since <date>', description: 'only commits committed after this date, as git log --since reads it' },
    { flags: '--until <date>', description: 'only commits committed before this date' },
    {
      flags: '--author <pattern>',
      description: 'only commits whose author name or email matches this extended regular expression, such as "Ada|Grace"',
    },
    { flags: '--max-count <n>', description: 'at most this many commits of each range, newest first', integer: true, minimum: 1 },
    { flags: '-q, --quiet', description: 'print nothing but errors' },
  ],
};

export const STATUS_SPEC: CommandSpec = {
  name: 'status',
  description: 'show the daemon, Ollama, job counts and the latest jobs; or one job in detail with its report',
  argument: { name: '[job-or-revision]', description: 'a job id, or a commit of the current repository' },
  options: [
    { flags: '--json', description: 'print JSON' },
    { flags: '--all', description: 'list the jobs of every repository, not only the current one' },
    { flags: '--limit <n>', description: 'jobs listed at most', integer: true, minimum: 1, default: 10 },
  ],
};

/** The commands the quick parser may take, by name. */
export const QUICK_COMMANDS: ReadonlyMap<string, CommandSpec> = new Map([
  [REPORT_SPEC.name, REPORT_SPEC],
  [STATUS_SPEC.name, STATUS_SPEC],
]);

/** Whether `value` is a non-negative whole number that a double holds exactly, as integer options require. */
export function isWholeNumber(value: string): boolean {
  return /^\d+$/.test(value) && Number.isSafeInteger(Number(value));
}

/** An option's names and attribute, read from its flags as commander reads them. */
interface ParsedFlags {
  short: string | undefined;
  long: string;
  /** `max-count` becomes `maxCount`, as commander names the attribute. */
  attribute: string;
  takesValue: boolean;
}

function parseFlags(flags: string): ParsedFlags {
  const names = flags.split(/[ ,|]+/).filter((part) => part.startsWith('-'));
  const long = names.find((name) => name.startsWith('--'));
  if (long === undefined) {
    throw new Error(`option spec ${JSON.stringify(flags)} has no long name`);
  }

  return {
    short: names.find((name) => !name.startsWith('--')),
    long,
    attribute: long.slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()),
    takesValue: /<[^>]+>/.test(flags),
  };
}

export interface QuickParse {
  operands: string[];
  options: Record<string, string | number | boolean>;
}

/**
 * Reads the arguments after the command name the way commander would, for the plain forms
 * only: known options as `--name`, `--name value`, `--name=value` or `-x`, each at most
 * once, and operands. Returns undefined for anything else (help, unknown or repeated
 * options, `--`, missing or odd values, bad numbers, too many operands), which the caller
 * hands to commander so its output and exit status stay the only ones for those.
 */
export function parseQuick(spec: CommandSpec, args: readonly string[]): QuickParse | undefined {
  const known = spec.options.map((option) => ({ option, flags: parseFlags(option.flags) }));
  const options: Record<string, string | number | boolean> = {};
  for (const { option, flags } of known) {
    if (option.default !== undefined) {
      options[flags.attribute] = option.default;
    }
  }

  const operands: string[] = [];
  const seen = new Set<string>();

  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    // commander reads any word of two or more characters that starts with a dash as an option.
    if (arg.length < 2 || !arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }

    const equals = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = equals === -1 ? arg : arg.slice(0, equals);
    const match = known.find(({ flags }) => flags.long === name || flags.short === name);
    if (!match || seen.has(match.flags.attribute)) {
      return undefined;
    }
    seen.add(match.flags.attribute);

    if (!match.flags.takesValue) {
      if (equals !== -1) {
        return undefined;
      }
      options[match.flags.attribute] = true;
      continue;
    }

    let value: string | undefined;
    if (equals === -1) {
      value = args[index + 1];
      index++;
    } else {
      value = arg.slice(equals + 1);
    }
    if (value === undefined || value === '' || value.startsWith('-')) {
      return undefined;
    }

    if (match.option.integer) {
      // commander names the error for a value it would reject too.
      if (!isWholeNumber(value) || Number(value) < (match.option.minimum ?? 0)) {
        return undefined;
      }
      options[match.flags.attribute] = Number(value);
    } else {
      options[match.flags.attribute] = value;
    }
  }

  const variadic = spec.argument.name.endsWith('...]');
  if (!variadic && operands.length > 1) {
    return undefined;
  }

  if (operands.length === 0 && spec.argument.default !== undefined) {
    operands.push(...spec.argument.default);
  }

  return { operands, options };
}

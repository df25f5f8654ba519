/** Colours the commands use. Each returns its text wrapped in escape codes, or as it is. */
export interface Paint {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  gray(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const same = (text: string): string => text;

/** Paint that leaves text as it is, for pipes, files and NO_COLOR. */
export const PLAIN: Paint = { red: same, green: same, yellow: same, cyan: same, gray: same, dim: same, bold: same };

/**
 * Returns chalk when output to `stream` should be coloured, else PLAIN. chalk is imported
 * only then, because loading it costs a command run through a pipe about a tenth of its time.
 * FORCE_COLOR (other than 0 or false) turns colour on and wins over NO_COLOR, as in Node itself.
 */
export async function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Promise<Paint> {
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const refused = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  if (!forced && (refused || stream.isTTY !== true)) {
    return PLAIN;
  }

  const { stdoutChalk } = await import('./color.js');
  return stdoutChalk(env);
}

/** Returns the colour of a job state: yellow while it waits, cyan while it runs, then green, red or gray. */
export function stateColor(state: string, paint: Paint): (text: string) => string {
  switch (state) {
    case 'waiting':
    case 'delayed':
      return paint.yellow;
    case 'active':
      return paint.cyan;
    case 'completed':
      return paint.green;
    case 'failed':
      return paint.red;
    default:
      return paint.gray;
  }
}

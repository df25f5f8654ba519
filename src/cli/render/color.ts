import chalk, { Chalk, type ChalkInstance } from 'chalk';

/**
 * Returns the chalk instance for stdout. chalk 5.6 reads FORCE_COLOR and whether stdout is a
 * terminal, but not NO_COLOR, so a non-empty NO_COLOR turns colour off here (no-color.org).
 * FORCE_COLOR wins over NO_COLOR, as in Node's own `tty.WriteStream.hasColors`.
 */
export function stdoutChalk(env: NodeJS.ProcessEnv = process.env): ChalkInstance {
  if (!('FORCE_COLOR' in env) && env.NO_COLOR !== undefined && env.NO_COLOR !== '') {
    return new Chalk({ level: 0 });
  }

  return chalk;
}

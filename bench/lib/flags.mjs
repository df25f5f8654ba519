// Flag reading shared by the benchmark scripts.

/**
 * Reads flag `name` of parseArgs' `values` as a whole number of at least `minimum`. An
 * invalid value ends the process with status 2 and a message that names the flag.
 */
export function readCount(flags, name, minimum) {
  const value = Number(flags[name]);
  if (!Number.isSafeInteger(value) || value < minimum) {
    console.error(`invalid --${name} ${JSON.stringify(flags[name])}: expected an integer >= ${minimum}`);
    process.exit(2);
  }
  return value;
}

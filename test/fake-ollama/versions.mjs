// Server version gates: the fake changes a few behaviours by the `version` it reports, so tests
// can check a client against older servers.

function parseVersion(text) {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!match) {
    throw new TypeError(`version must look like 0.32.15, got ${JSON.stringify(text)}`);
  }

  return match.slice(1).map(Number);
}

/** Checks a version string such as "0.32.15" (pre-release suffixes are ignored). */
export function validateVersion(text) {
  parseVersion(text);
}

/** Returns true when `version` is the same as or newer than `minimum`. */
export function isVersionAtLeast(version, minimum) {
  const have = parseVersion(version);
  const want = parseVersion(minimum);
  for (let index = 0; index < 3; index += 1) {
    if (have[index] !== want[index]) {
      return have[index] > want[index];
    }
  }

  return true;
}

/**
 * Shows control characters other than newline and tab as `^X`, so a commit message or a
 * model's response cannot send escape sequences to the user's terminal. C1 controls (a
 * terminal may read U+009B as an escape sequence) and the bidirectional overrides and
 * isolates, which can make a line read differently from its bytes, are shown as `\uXXXX`.
 */
export function neutralizeControls(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (char) => {
    const code = char.charCodeAt(0);
    if (code < 0x20) {
      return `^${String.fromCharCode(code + 64)}`;
    }

    return code === 0x7f ? '^?' : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Shows every control character, newline and tab included, so the text stays on one line. */
export function oneLine(text: string): string {
  return neutralizeControls(text.replace(/\r?\n/g, ' ').replace(/\t/g, ' '));
}

/**
 * Wraps text at spaces so lines fit `width` columns after `indent`. A word longer than the
 * line stays whole. Existing line breaks are kept.
 */
export function wrap(text: string, width: number, indent = '', firstIndent = indent): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    let prefix = lines.length === 0 ? firstIndent : indent;
    for (const word of paragraph.split(/ +/).filter((item) => item !== '')) {
      if (line !== '' && prefix.length + line.length + 1 + word.length > width) {
        lines.push(prefix + line);
        prefix = indent;
        line = word;
      } else {
        line = line === '' ? word : `${line} ${word}`;
      }
    }
    lines.push(prefix + line);
  }

  return lines;
}

/** Formats milliseconds as `850 ms`, `12.3 s`, `4 min 05 s` or `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  if (ms < 60_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }

  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  }

  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** Formats a count with thousands separators, as `1,234`. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** Returns the first 12 hex digits of a commit id, as `git log --abbrev=12` shows it. */
export function shortSha(sha: string | null): string {
  return sha === null ? '(unknown)' : sha.slice(0, 12);
}

/** Formats epoch milliseconds as `2026-12-04 21:07 UTC`. */
export function formatTimestamp(at: number | string): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

// Escaping of untrusted text (model output, commit messages, file names) for the Markdown views.

/** Backslash-escapes the characters that open code spans, emphasis, links or HTML tags. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_<>[\]])/g, '\\$1');
}

/**
 * Escapes text that starts a line or a list item, so it stays literal paragraph text. It
 * escapes what escapeMarkdown escapes, plus `|` (GFM tables) and `~` (GFM strikethrough and
 * fences) anywhere. It also escapes a leading list marker (`-`, `+`, `1.`, `1)`), `#` or `=`.
 */
export function escapeMarkdownLine(text: string): string {
  return escapeMarkdown(text)
    .replace(/[|~]/g, '\\$&')
    .replace(/^([ \t]*)([-+#=])/, '$1\\$2')
    .replace(/^([ \t]*\d{1,9})([.)])/, '$1\\$2');
}

/**
 * Wraps text in a CommonMark code span that shows it verbatim, backticks included. The
 * delimiter is a run of backticks longer than any run inside. A space pads content that
 * starts or ends with a backtick, and content with a space at both ends, because the parser
 * strips one space from each side of such content.
 */
export function codeSpan(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const padded = /^`|`$/.test(text) || (/^ .* $/s.test(text) && text.trim() !== '');
  const padding = padded ? ' ' : '';
  return `${fence}${padding}${text}${padding}${fence}`;
}

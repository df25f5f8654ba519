/**
 * Escapes text for HTML element content and quoted attribute values, and shows control
 * characters as visible code points. HTML treats C0 and C1 controls as parse errors, and a
 * commit message or a model's response may contain any of them. Newline and tab stay.
 * Bidi embedding, override and isolate controls are shown too, because they can make a
 * subject read differently from what it contains. Marks (U+200E, U+200F) stay.
 */
export function escapeHtml(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[&<>"']/g, (char) => HTML_ENTITIES[char] ?? char)
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text and keeps it on one line, for titles, tooltips and attribute values. */
export function escapeLine(text: string): string {
  return escapeHtml(text.replace(/[\r\n\t]+/g, ' '));
}

/**
 * Wraps one line of untrusted text in `<bdi>`, so right-to-left text or a stray bidi control
 * in a subject cannot reorder the commit id and time around it.
 */
export function bdi(text: string): string {
  return `<bdi>${escapeLine(text)}</bdi>`;
}

/** Turns text into a fragment id of letters, digits and hyphens, as `p-2026-W13`. */
export function fragmentId(prefix: string, text: string): string {
  return `${prefix}-${text.replace(/[^A-Za-z0-9-]/g, '_')}`;
}

import { describe, expect, it } from 'vitest';

import { neutralizeControls, oneLine } from '../../../src/cli/render/text.js';

describe('neutralizeControls', () => {
  it('shows C0 escapes as caret notation', () => {
    expect(neutralizeControls('\u001b[31mred\u001b[0m \u001b]0;title\u0007')).toBe('^[[31mred^[[0m ^[]0;title^G');
  });

  it('shows DEL as ^?', () => {
    expect(neutralizeControls('a\u007fb')).toBe('a^?b');
  });

  it('shows C1 controls as code points', () => {
    expect(neutralizeControls('\u009b31m \u0085')).toBe('\\u009b31m \\u0085');
  });

  it('shows bidi overrides and isolates', () => {
    expect(neutralizeControls('a\u202eb\u2066c\u2069')).toBe('a\\u202eb\\u2066c\\u2069');
  });

  it('keeps newline, tab and other text', () => {
    expect(neutralizeControls('line\n\tnext é 漢字 🙂 \u200f')).toBe('line\n\tnext é 漢字 🙂 \u200f');
  });

  it('oneLine also joins lines', () => {
    expect(oneLine('a\nb\tc\u001b')).toBe('a b c^[');
  });
});

/**
 * C0 and C1 control characters, DEL included, which a terminal acts on, and the bidirectional
 * formatting characters, which reorder what is shown (U+202E turns the rest of a line around).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A line with those characters written out (`\x1b`, `\u0085`, `\u202e`). Names come from the
 * store, and domains from `.pages` files any Forgejo user writes, which the plugin keeps
 * verbatim but for white space and quotes at the ends: a domain holding `ESC [3A ESC [J`
 * moved the cursor up and erased the report's lines before it in an operator's terminal.
 */
export function escapeControls(line: string): string {
  if (!CONTROL.test(line)) return line;
  return line.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

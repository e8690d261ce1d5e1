/** C0 and C1 control characters, DEL included: a terminal acts on them. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A line with its control characters written out (`\x1b`, `\u0085`). Names come from the
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

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The bytes of a base64 text, or undefined when it is not base64: Node's decoder skips
 * what it does not understand, so garbage would pass as other bytes (a `.pages` file read
 * as a changed `custom_domain`, a backup entry restored as bytes nobody wrote). Line
 * breaks are allowed (Forgejo breaks `content` into lines).
 */
export function strictBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\r?\n/g, '');
  return BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}

import { isUtf8 } from 'node:buffer';
import { domainToASCII } from 'node:url';

/**
 * The key model of the pages plugin (DESIGN §2). Every key name the reaper reads or
 * deletes is built or recognised here, literally: no function in this file produces a
 * pattern, so a domain like `*.x.com` can never widen what is touched.
 */

export const FORWARD_PREFIX = 'custom_domain:';
/** The reaper's own namespace (see core/grace.ts). */
export const GRACE_MARK_PREFIX = 'pages-reaper:stale-since:';
export const REDIRECTS_META_PREFIX = 'redirects_meta:';
const BRANCH_REVERSE_MARKER = ':branch:';
export const ROUTER_NAME_PREFIX = 'custom-';
const REDIRECT_MIDDLEWARE = /^redirects-(.+)-(\d+)$/;

/** Dots become dashes; the plugin changes nothing else when it names Traefik objects. */
export function sanitizeDomain(domain: string): string {
  return domain.replaceAll('.', '-');
}

/**
 * Every domain the plugin would give this sanitized name: each `-` was a `-` or a `.`.
 * Undefined when there are more than `limit`, too many to guard one by one.
 */
export function domainsSanitizedAs(sanitized: string, limit: number): string[] | undefined {
  if (domainCountSanitizedAs(sanitized) > limit) return undefined;
  const parts = sanitized.split('-');
  let domains = [parts[0]];
  for (const part of parts.slice(1)) domains = domains.flatMap((prefix) => [`${prefix}-${part}`, `${prefix}.${part}`]);
  return domains;
}

/** How many domains `domainsSanitizedAs` would list, without listing them. */
export function domainCountSanitizedAs(sanitized: string): number {
  let dashes = 0;
  for (let at = sanitized.indexOf('-'); at !== -1; at = sanitized.indexOf('-', at + 1)) dashes++;
  return 2 ** dashes;
}

export function forwardKey(domain: string): string {
  return FORWARD_PREFIX + domain;
}

export function reverseKey(owner: string, repo: string, branch?: string): string {
  return branch === undefined ? `${owner}:${repo}` : `${owner}:${repo}${BRANCH_REVERSE_MARKER}${branch}`;
}

export function redirectsMetaKey(domain: string): string {
  return REDIRECTS_META_PREFIX + domain;
}

export function routerName(domain: string): string {
  return ROUTER_NAME_PREFIX + sanitizeDomain(domain);
}

/**
 * Where the router name ends (the slash before the sub-key) in a key of a `custom-…`
 * router under `routers`, or -1 when the key is no such router key. Works in place: the
 * scanner calls it on every router key without building a name.
 */
export function routerKeySlash(key: string, routers: string): number {
  if (!key.startsWith(routers) || !key.startsWith(ROUTER_NAME_PREFIX, routers.length)) return -1;
  const slash = key.indexOf('/', routers.length);
  return slash > routers.length + ROUTER_NAME_PREFIX.length && slash < key.length - 1 ? slash : -1;
}

export function routersRoot(rootKey: string): string {
  return `${rootKey}/http/routers/`;
}

export function middlewaresRoot(rootKey: string): string {
  return `${rootKey}/http/middlewares/`;
}

/**
 * The label the plugin puts in front of the custom domain for a branch subdomain
 * (`sanitizeBranchForSubdomain`): an empty result means the plugin skips the branch.
 */
export function branchLabel(branch: string): string {
  let label = branch
    .toLowerCase()
    .replace(/[/_.]/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  if (label.length > 63) label = label.slice(0, 63).replace(/-+$/, '');
  return /^[a-z0-9]/.test(label) ? label : '';
}

/** The sanitized domain a middleware name belongs to, when it is one of the plugin's. */
export function redirectMiddlewareOwner(middlewareName: string): string | undefined {
  return REDIRECT_MIDDLEWARE.exec(middlewareName)?.[1];
}

export type KeyClass =
  | { kind: 'forward'; domain: string }
  | { kind: 'router'; name: string }
  | { kind: 'middleware'; name: string; sanitizedDomain: string }
  | { kind: 'redirects-meta'; domain: string }
  | { kind: 'reverse'; owner: string; repo: string; branch?: string }
  | { kind: 'grace-mark'; domain: string }
  | { kind: 'foreign' };

const FOREIGN: KeyClass = { kind: 'foreign' };

/**
 * What a key name can be, by its name alone. Reverse keys share their shape with other
 * keys (`password:…`, `settings:o/r`, content cache), so a `reverse` class is only a
 * candidate until its value proves to be a domain name (see `isDomainName`).
 */
let classifierRoot: string | undefined;
let classifier: ((key: string) => KeyClass) | undefined;

/** Classifies one key; the classifier of the last root key asked for is kept (backup classifies every key). */
export function classifyKey(key: string, rootKey: string): KeyClass {
  if (classifier === undefined || classifierRoot !== rootKey) {
    classifier = keyClassifier(rootKey);
    classifierRoot = rootKey;
  }
  return classifier(key);
}

/** `classifyKey` for one root key, with its prefixes built once: it runs on every key scanned. */
export function keyClassifier(rootKey: string): (key: string) => KeyClass {
  const routers = routersRoot(rootKey);
  const middlewares = middlewaresRoot(rootKey);
  return (key) => {
    if (key.startsWith(GRACE_MARK_PREFIX)) {
      const domain = key.slice(GRACE_MARK_PREFIX.length);
      return domain ? { kind: 'grace-mark', domain } : FOREIGN;
    }
    if (key.startsWith(FORWARD_PREFIX)) {
      const domain = key.slice(FORWARD_PREFIX.length);
      return domain ? { kind: 'forward', domain } : FOREIGN;
    }
    if (key.startsWith(REDIRECTS_META_PREFIX)) {
      const domain = key.slice(REDIRECTS_META_PREFIX.length);
      return domain ? { kind: 'redirects-meta', domain } : FOREIGN;
    }
    if (key.startsWith(routers)) {
      const slash = routerKeySlash(key, routers);
      return slash === -1 ? FOREIGN : { kind: 'router', name: key.slice(routers.length, slash) };
    }
    if (key.startsWith(middlewares)) {
      const name = key.slice(middlewares.length).split('/', 1)[0];
      const sanitizedDomain = redirectMiddlewareOwner(name);
      return sanitizedDomain !== undefined && key.length > middlewares.length + name.length + 1
        ? { kind: 'middleware', name, sanitizedDomain }
        : FOREIGN;
    }
    // Reverse keys have one colon, or three with `branch` between the second and third:
    // found by position, so foreign keys (the content cache) cost no substring or array.
    const first = key.indexOf(':');
    if (first < 0) return FOREIGN;
    const second = key.indexOf(':', first + 1);
    if (second < 0) {
      const owner = key.slice(0, first);
      const repo = key.slice(first + 1);
      return isRepoPart(owner) && isRepoPart(repo) ? { kind: 'reverse', owner, repo } : FOREIGN;
    }
    if (!key.startsWith(BRANCH_REVERSE_MARKER, second) || key.indexOf(':', second + BRANCH_REVERSE_MARKER.length) >= 0) return FOREIGN;
    const owner = key.slice(0, first);
    const repo = key.slice(first + 1, second);
    const branch = key.slice(second + BRANCH_REVERSE_MARKER.length);
    return isRepoPart(owner) && isRepoPart(repo) && isBranchName(branch) ? { kind: 'reverse', owner, repo, branch } : FOREIGN;
  };
}

/**
 * Owner and repository names as Forgejo can have them: letters, digits, `-`, `_`, `.`,
 * never `.` or `..` alone (path traversal) and never empty.
 */
export function isRepoPart(name: string): boolean {
  return name.length > 0 && name.length <= 255 && /^[A-Za-z0-9_.-]+$/.test(name) && name !== '.' && name !== '..';
}

/** Git's rules for a ref name component, the parts that matter for a URL and a key. */
export function isBranchName(name: string): boolean {
  if (name.length === 0 || name.length > 255) return false;
  // eslint-disable-next-line no-control-regex -- git refuses control characters in a ref name
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  if (name.includes('..') || name.includes('//') || name.includes('@{')) return false;
  if (name.startsWith('/') || name.startsWith('-') || name.endsWith('/') || name.endsWith('.') || name.endsWith('.lock')) return false;
  return name.split('/').every((part) => part !== '' && !part.startsWith('.'));
}

/**
 * A host name as the plugin could have registered it: dot-separated labels, at least
 * two, the last not all digits (no top-level domain is: RFC 3696 §2). Used to tell a
 * reverse mapping from look-alike keys, whose values are hashes, `count=N`, page content,
 * or an address, a version or a number (`backend:addr` → `10.0.0.1`, `app:version` →
 * `1.2.3`): those are someone else's, never deleted as orphan reverse keys.
 */
export function isDomainName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  // Label by label in place: it runs on every reverse key's value a scan reads, and a
  // split with a pattern per label allocated more than the rest of the check.
  for (let start = 0, labels = 1; ; labels++) {
    const dot = value.indexOf('.', start);
    const end = dot < 0 ? value.length : dot;
    if (!isHostLabel(value, start, end)) return false;
    if (dot < 0) return labels >= 2 && !isAllDigits(value, start, end);
    start = dot + 1;
  }
}

/**
 * A host name with a label outside ASCII (`bücher.test`), one `isDomainName` takes once in
 * its ASCII form. The scan never takes a reverse key naming one as the plugin's (an orphan
 * of that shape stays); a stale domain's group deletes the one its mapping names when its
 * value names the domain back (`REVERSE_IF_NAMED`), so a restore must put it back with
 * that registration, not on its own.
 */
export function isInternationalDomainName(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return isDomainName(domainToASCII(value));
  return false;
}

/** `*`, or 1–63 of `A-Za-z0-9_-` neither starting nor ending with `-`: a label of `isDomainName`. */
function isHostLabel(text: string, start: number, end: number): boolean {
  const length = end - start;
  if (length === 1 && text.charCodeAt(start) === 0x2a) return true;
  if (length < 1 || length > 63 || text.charCodeAt(start) === 0x2d || text.charCodeAt(end - 1) === 0x2d) return false;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    const isLabelChar =
      (code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || (code >= 0x41 && code <= 0x5a) || code === 0x5f;
    if (!isLabelChar) return false;
  }
  return true;
}

function isAllDigits(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return end > start;
}

/**
 * Key names as the port hands them over: text. A name that is not UTF-8 cannot round-trip
 * through a string, so it is recorded in `skipped` (escaped, for reports), never dropped
 * silently.
 */
export function textKeyNames(names: Buffer[], skipped: string[]): string[] {
  const keys: string[] = [];
  for (const name of names) {
    if (isUtf8(name)) keys.push(name.toString('utf8'));
    else
      skipped.push(
        [...name]
          .map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
          .join(''),
      );
  }
  return keys;
}

/** Escapes Redis glob characters so `SCAN MATCH` sees the prefix literally. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => '\\' + c);
}

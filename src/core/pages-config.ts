/**
 * The `.pages` file as the plugin reads it (`GetPagesConfig` in forgejo_client.go): a
 * line-based reader, not YAML. Liveness means "the plugin would register this again
 * today", so the reaper must read the file exactly as the plugin does — a YAML parser
 * disagrees with it on inline comments (`custom_domain: a.com # x` keeps the comment)
 * and on nested keys (the plugin ignores indentation). The plugin also parses `enabled:`,
 * but no version of it ever reads the result: it serves and registers a site whatever
 * `enabled` says, so a site with `enabled: false` is live and that line is not read here.
 */
export interface PagesConfig {
  customDomain: string;
  enableBranches: string[];
}

const QUOTES = /^["']+|["']+$/g;

/**
 * Go's `strings.TrimSpace`, which the plugin trims every line and value with: Unicode
 * white space as Go's `unicode.IsSpace` has it. JavaScript's `trim()` differs on two
 * characters: it keeps U+0085 (NEL), so `custom_domain: a.com<NEL>` read as another
 * domain, and it drops U+FEFF (a byte-order mark), so `<BOM>custom_domain: b.com` read as
 * naming b.com where the plugin ignores the line.
 */
const GO_SPACE = '\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000';
const EDGE_SPACE = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');

export function trimSpace(text: string): string {
  return text.replace(EDGE_SPACE, '');
}

function unquote(value: string): string {
  return trimSpace(value).replace(QUOTES, '');
}

function valueAfterColon(line: string): string {
  return trimSpace(line.slice(line.indexOf(':') + 1));
}

function parseInlineList(value: string): string[] {
  let inner = value;
  if (inner.startsWith('[')) inner = inner.slice(1);
  if (inner.endsWith(']')) inner = inner.slice(0, -1);
  return inner
    .split(',')
    .map(unquote)
    .filter((item) => item !== '');
}

export function parsePagesConfig(text: string): PagesConfig {
  const config: PagesConfig = { customDomain: '', enableBranches: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = trimSpace(lines[i]);
    if (line.startsWith('custom_domain:')) {
      config.customDomain = unquote(valueAfterColon(line));
    } else if (line.startsWith('enable_branches:')) {
      const value = valueAfterColon(line);
      if (value !== '') {
        config.enableBranches = parseInlineList(value);
        continue;
      }
      // A block list appends to what earlier `enable_branches:` lines gave, as in the plugin.
      while (i + 1 < lines.length && trimSpace(lines[i + 1]).startsWith('- ')) {
        i++;
        const item = unquote(trimSpace(lines[i]).slice(2));
        if (item !== '') config.enableBranches.push(item);
      }
    }
  }
  return config;
}

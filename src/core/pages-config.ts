/**
 * The `.pages` file as the plugin reads it (`GetPagesConfig` in forgejo_client.go): a
 * line-based reader, not YAML. Liveness means "the plugin would register this again
 * today", so the reaper must read the file exactly as the plugin does — a YAML parser
 * disagrees with it on inline comments (`custom_domain: a.com # x` keeps the comment),
 * on nested keys (the plugin ignores indentation) and on booleans (`True` is false).
 */
export interface PagesConfig {
  customDomain: string;
  enabled: boolean;
  enableBranches: string[];
}

const QUOTES = /^["']+|["']+$/g;

function unquote(value: string): string {
  return value.trim().replace(QUOTES, '');
}

function valueAfterColon(line: string): string {
  return line.slice(line.indexOf(':') + 1).trim();
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
  const config: PagesConfig = { customDomain: '', enabled: true, enableBranches: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.startsWith('custom_domain:')) {
      config.customDomain = unquote(valueAfterColon(line));
    } else if (line.startsWith('enabled:')) {
      // The plugin compares the raw value: `enabled: "true"` reads as false there too.
      const value = valueAfterColon(line);
      config.enabled = value === 'true' || value === 'yes';
    } else if (line.startsWith('enable_branches:')) {
      const value = valueAfterColon(line);
      if (value !== '') {
        config.enableBranches = parseInlineList(value);
        continue;
      }
      // A block list appends to what earlier `enable_branches:` lines gave, as in the plugin.
      while (i + 1 < lines.length && lines[i + 1].trim().startsWith('- ')) {
        i++;
        const item = unquote(lines[i].trim().slice(2));
        if (item !== '') config.enableBranches.push(item);
      }
    }
  }
  return config;
}

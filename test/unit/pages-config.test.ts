import { parsePagesConfig, type PagesConfig } from '../../src/core/pages-config';

const DEFAULTS: PagesConfig = { customDomain: '', enableBranches: [] };

/** Joins lines with LF; `crlf` gives the same file with Windows line endings. */
const lf = (...lines: string[]) => lines.join('\n');
const crlf = (...lines: string[]) => lines.join('\r\n');

describe("parsePagesConfig (the plugin's line-based .pages reader)", () => {
  it('gives the defaults for an empty file', () => {
    expect(parsePagesConfig('')).toEqual(DEFAULTS);
  });

  describe('custom_domain', () => {
    it.each<[string, string]>([
      ['custom_domain: example.com', 'example.com'],
      ['custom_domain: "example.com"', 'example.com'],
      ["custom_domain: 'example.com'", 'example.com'],
      ['custom_domain:example.com', 'example.com'],
      ['custom_domain:    example.com   ', 'example.com'],
      ['custom_domain:', ''],
      ['custom_domain:   ', ''],
      ['custom_domain: ""', ''],
      ['   custom_domain: indented.example.com', 'indented.example.com'],
      ['\tcustom_domain: tab.example.com', 'tab.example.com'],
      // The plugin keeps an inline comment as part of the value; so must we.
      ['custom_domain: example.com # main site', 'example.com # main site'],
      ['custom_domain: "example.com" # main site', 'example.com" # main site'],
      // Only the first colon separates key and value.
      ['custom_domain: example.com:8080', 'example.com:8080'],
    ])('%j → %j', (line, domain) => {
      expect(parsePagesConfig(line).customDomain).toBe(domain);
    });

    it.each([
      '# custom_domain: commented.example.com',
      'custom_domains: other.example.com',
      'my_custom_domain: other.example.com',
      'custom_domain_x: other.example.com',
      'custom-domain: other.example.com',
      'Custom_Domain: other.example.com',
    ])('ignores %j', (line) => {
      expect(parsePagesConfig(line).customDomain).toBe('');
    });

    it('lets the last duplicate win', () => {
      expect(parsePagesConfig(lf('custom_domain: first.example.com', 'custom_domain: second.example.com')).customDomain).toBe(
        'second.example.com',
      );
      expect(parsePagesConfig(lf('custom_domain: first.example.com', 'custom_domain:')).customDomain).toBe('');
    });

    it('ignores indentation, so a nested key counts too', () => {
      const text = lf('site:', '  settings:', '    custom_domain: nested.example.com');
      expect(parsePagesConfig(text).customDomain).toBe('nested.example.com');
    });
  });

  // forgejo_client.go parses `enabled:` into Config.Enabled, and no version of the plugin
  // reads that field: it serves and registers a site whatever the line says (pages.go
  // registerCustomDomain checks only CustomDomain), so the reaper does not read it either.
  it.each(['enabled: false', 'enabled: no', 'enabled: true', 'enabled: "true"', 'enabled: on', 'enabled:'])(
    'reads nothing from %j: a site the plugin serves whatever it says',
    (line) => {
      expect(parsePagesConfig(lf(line, 'custom_domain: a.com'))).toEqual({ ...DEFAULTS, customDomain: 'a.com' });
      expect(parsePagesConfig(lf('custom_domain: a.com', line))).toEqual({ ...DEFAULTS, customDomain: 'a.com' });
    },
  );

  describe('enable_branches', () => {
    it.each<[string, string[]]>([
      ['enable_branches: [stage, dev]', ['stage', 'dev']],
      ['enable_branches: ["stage","dev"]', ['stage', 'dev']],
      ["enable_branches: ['stage', 'dev']", ['stage', 'dev']],
      ['enable_branches: stage, dev', ['stage', 'dev']],
      ['enable_branches: stage', ['stage']],
      ['enable_branches: [feature/x]', ['feature/x']],
      ['enable_branches: []', []],
      ['enable_branches: [stage, , dev,]', ['stage', 'dev']],
      ['enable_branches: [ stage ,dev ]', ['stage', 'dev']],
    ])('inline %j → %j', (line, branches) => {
      expect(parsePagesConfig(line).enableBranches).toEqual(branches);
    });

    it('reads a block list of "- item" lines', () => {
      const text = lf('enable_branches:', '  - stage', '  - "dev"', "  - 'feature/x'");
      expect(parsePagesConfig(text).enableBranches).toEqual(['stage', 'dev', 'feature/x']);
    });

    it('ends a block list at the first line that is not a list item, and still reads that line', () => {
      const text = lf('enable_branches:', '- stage', '- dev', 'custom_domain: example.com', '- not-a-branch');
      expect(parsePagesConfig(text)).toEqual({ customDomain: 'example.com', enableBranches: ['stage', 'dev'] });
    });

    it('ends a block list at an empty line', () => {
      const text = lf('enable_branches:', '- stage', '', '- dev');
      expect(parsePagesConfig(text).enableBranches).toEqual(['stage']);
    });

    it('needs a space after the dash', () => {
      expect(parsePagesConfig(lf('enable_branches:', '-stage')).enableBranches).toEqual([]);
    });

    it('gives an empty list for a key with neither inline value nor items', () => {
      expect(parsePagesConfig(lf('enable_branches:', 'enabled: true')).enableBranches).toEqual([]);
    });

    it('lets a later inline list replace an earlier list', () => {
      expect(parsePagesConfig(lf('enable_branches: [a, b]', 'enable_branches: [c]')).enableBranches).toEqual(['c']);
      expect(parsePagesConfig(lf('enable_branches:', '- a', 'enable_branches: [c]')).enableBranches).toEqual(['c']);
    });

    // forgejo_client.go GetPagesConfig: a block header only sets `inEnableBranches = true` and
    // each `- item` is appended to config.EnableBranches, which it never resets. Reading fewer
    // branches than the plugin makes a branch the plugin still registers look "no longer enabled".
    it.each<[string, string, string[]]>([
      ['an inline list followed by a block list', lf('enable_branches: [a, b]', 'enable_branches:', '- c'), ['a', 'b', 'c']],
      ['two block lists', lf('enable_branches:', '- a', 'custom_domain: x.com', 'enable_branches:', '- b'), ['a', 'b']],
      ['an inline list followed by an empty block header', lf('enable_branches: [stage]', 'enable_branches:'), ['stage']],
    ])('appends block items to the branches read so far, as the plugin does: %s', (_name, text, branches) => {
      expect(parsePagesConfig(text).enableBranches).toEqual(branches);
    });
  });

  describe('CRLF files', () => {
    it('reads every key of a CRLF file as of an LF file', () => {
      const lines = ['custom_domain: "example.com"', 'enabled: true', 'enable_branches:', '  - stage', '  - dev', 'other: x'];
      const expected: PagesConfig = { customDomain: 'example.com', enableBranches: ['stage', 'dev'] };
      expect(parsePagesConfig(crlf(...lines))).toEqual(expected);
      expect(parsePagesConfig(lf(...lines))).toEqual(expected);
    });

    it.each<[string, Partial<PagesConfig>]>([
      [crlf('custom_domain: example.com', ''), { customDomain: 'example.com' }],
      [crlf('enable_branches:', '  - stage', ''), { enableBranches: ['stage'] }],
      [crlf('enable_branches: [a, b]', ''), { enableBranches: ['a', 'b'] }],
    ])('no stray \\r in %j', (text, expected) => {
      expect(parsePagesConfig(text)).toMatchObject(expected);
    });
  });

  it('reads a full file, ignoring keys it does not know', () => {
    const text = lf(
      '# pages config',
      'title: My site',
      'custom_domain: "www.example.com"',
      'enabled: yes',
      'enable_branches:',
      '  - stage',
      '  - feature/new-ui',
      'redirects: true',
    );
    expect(parsePagesConfig(text)).toEqual({ customDomain: 'www.example.com', enableBranches: ['stage', 'feature/new-ui'] });
  });

  describe("white space as Go's strings.TrimSpace has it, not JavaScript's trim()", () => {
    const NEL = '\u0085';
    const BOM = '\ufeff';

    it('U+0085 (NEL) is white space: trimmed from values, lines and list items', () => {
      expect(parsePagesConfig(lf(`custom_domain: www.nel.com${NEL}`)).customDomain).toBe('www.nel.com');
      expect(parsePagesConfig(lf(`${NEL}custom_domain: www.nel.com`)).customDomain).toBe('www.nel.com');
      expect(parsePagesConfig(lf(`custom_domain: a.com${NEL}`, 'custom_domain: b.com')).customDomain).toBe('b.com');
      expect(parsePagesConfig(lf('enable_branches:', `  - dev${NEL}`, `${NEL}- qa`)).enableBranches).toEqual(['dev', 'qa']);
      expect(parsePagesConfig(lf(`enable_branches: [dev${NEL}, qa]`)).enableBranches).toEqual(['dev', 'qa']);
    });

    it('U+FEFF (a byte-order mark) is not: a line starting with one names no key, as in the plugin', () => {
      expect(parsePagesConfig(lf('custom_domain: a.com', `${BOM}custom_domain: b.com`))).toEqual({ ...DEFAULTS, customDomain: 'a.com' });
      expect(parsePagesConfig(lf(`${BOM}custom_domain: a.com`)).customDomain).toBe('');
      expect(parsePagesConfig(lf(`custom_domain: a.com${BOM}`)).customDomain).toBe(`a.com${BOM}`);
    });

    it('the other Unicode spaces Go trims (no-break, em, ideographic, line separator) are trimmed too', () => {
      for (const space of ['\u00a0', '\u2003', '\u3000', '\u2028', '\u1680', '\u202f'])
        expect(parsePagesConfig(`custom_domain:${space}a.com${space}`).customDomain).toBe('a.com');
    });
  });
});

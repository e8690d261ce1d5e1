import {
  branchLabel,
  classifyKey,
  domainCountSanitizedAs,
  domainsSanitizedAs,
  escapeGlob,
  forwardKey,
  isBranchName,
  isDomainName,
  isRepoPart,
  middlewaresRoot,
  redirectMiddlewareOwner,
  redirectsMetaKey,
  reverseKey,
  routerName,
  routersRoot,
  sanitizeDomain,
  type KeyClass,
} from '../../src/core/keys';

const FOREIGN: KeyClass = { kind: 'foreign' };

describe('classifyKey (DESIGN §2 key model)', () => {
  describe('plugin keys under the default root key', () => {
    it.each<[string, KeyClass]>([
      // forward mappings
      ['custom_domain:example.com', { kind: 'forward', domain: 'example.com' }],
      ['custom_domain:stage.example.com', { kind: 'forward', domain: 'stage.example.com' }],
      ['custom_domain:*.x.com', { kind: 'forward', domain: '*.x.com' }],
      // routers: every sub-key, whatever its case or depth
      ['traefik/http/routers/custom-example-com/rule', { kind: 'router', name: 'custom-example-com' }],
      ['traefik/http/routers/custom-example-com/entryPoints/0', { kind: 'router', name: 'custom-example-com' }],
      ['traefik/http/routers/custom-example-com/tls/certResolver', { kind: 'router', name: 'custom-example-com' }],
      ['traefik/http/routers/custom-stage-example-com/middlewares/0', { kind: 'router', name: 'custom-stage-example-com' }],
      // redirect middlewares: the owner is everything up to the last -{digits}
      [
        'traefik/http/middlewares/redirects-example-com-0/redirectRegex/regex',
        { kind: 'middleware', name: 'redirects-example-com-0', sanitizedDomain: 'example-com' },
      ],
      [
        'traefik/http/middlewares/redirects-a-b-0-0/redirectRegex/replacement',
        { kind: 'middleware', name: 'redirects-a-b-0-0', sanitizedDomain: 'a-b-0' },
      ],
      [
        'traefik/http/middlewares/redirects-a-b-12/redirectRegex/permanent',
        { kind: 'middleware', name: 'redirects-a-b-12', sanitizedDomain: 'a-b' },
      ],
      // redirect metadata
      ['redirects_meta:example.com', { kind: 'redirects-meta', domain: 'example.com' }],
      // reverse mappings (candidates until their value proves to be a domain)
      ['alice:site', { kind: 'reverse', owner: 'alice', repo: 'site' }],
      ['Alice-1:my.site_2', { kind: 'reverse', owner: 'Alice-1', repo: 'my.site_2' }],
      ['alice:site:branch:feature/x', { kind: 'reverse', owner: 'alice', repo: 'site', branch: 'feature/x' }],
      ['alice:site:branch:stage', { kind: 'reverse', owner: 'alice', repo: 'site', branch: 'stage' }],
    ])('%s', (key, expected) => {
      expect(classifyKey(key, 'traefik')).toEqual(expected);
    });
  });

  describe('a custom root key', () => {
    it.each<[string, string, KeyClass]>([
      ['edge', 'edge/http/routers/custom-example-com/rule', { kind: 'router', name: 'custom-example-com' }],
      [
        'edge',
        'edge/http/middlewares/redirects-example-com-3/redirectRegex/regex',
        { kind: 'middleware', name: 'redirects-example-com-3', sanitizedDomain: 'example-com' },
      ],
      ['a/b', 'a/b/http/routers/custom-x-com/service', { kind: 'router', name: 'custom-x-com' }],
      // another root's routers are not ours under this root
      ['edge', 'traefik/http/routers/custom-example-com/rule', FOREIGN],
      ['traefik', 'edge/http/routers/custom-example-com/rule', FOREIGN],
      // a root that is only a prefix of the key's first segment
      ['traefik', 'traefik2/http/routers/custom-example-com/rule', FOREIGN],
    ])('root %s: %s', (root, key, expected) => {
      expect(classifyKey(key, root)).toEqual(expected);
    });
  });

  describe('keys that are never ours', () => {
    it.each<[string, string]>([
      ['traefik/http/routers/pages-domain-base/rule', 'the pages-domain-base router'],
      ['traefik/http/routers/pages-domain-base/tls/certResolver', 'the pages-domain-base router'],
      ['traefik/http/routers/dashboard/rule', 'a router not named custom-…'],
      ['traefik/http/routers/customer-site/rule', 'custom without the dash'],
      ['traefik/http/routers/custom-/rule', 'custom- with no domain'],
      ['traefik/http/routers/custom-example-com', 'a router name with no sub-key'],
      ['traefik/http/routers/custom-example-com/', 'a router name with an empty sub-key'],
      ['traefik/http/services/custom-example-com/loadBalancer/servers/0/url', 'services'],
      ['traefik/http/middlewares/auth/basicAuth/users/0', 'a non-redirect middleware'],
      ['traefik/http/middlewares/pages-server/plugin/pages/x', 'a non-redirect middleware'],
      ['traefik/http/middlewares/redirects-example-com/redirectRegex/regex', 'redirects- without a number'],
      ['traefik/http/middlewares/redirects-example-com-x/redirectRegex/regex', 'redirects- with a non-digit suffix'],
      ['traefik/http/middlewares/redirects-example-com-0', 'a middleware with no sub-key'],
      ['traefik/http/middlewares/myredirects-example-com-0/redirectRegex/regex', 'prefix must be exact'],
      ['custom_domain:', 'forward prefix with no domain'],
      ['redirects_meta:', 'redirects_meta prefix with no domain'],
      ['password:alice:site', 'password hashes'],
      ['settings:alice/site', 'slashes are not repository names'],
      ['alice:site::public/index.html', 'content cache, empty branch segment'],
      ['alice:site:main:index.html', 'content cache of branch main'],
      ['alice:site:main:assets/app.js', 'content cache of branch main'],
      ['alice:site:branch:', 'branch reverse with no branch'],
      ['alice:site:branch:bad..name', 'branch reverse with an impossible branch name'],
      ['alice:..', 'path traversal in the repository'],
      ['.:site', 'a lone dot as owner'],
      [':site', 'empty owner'],
      ['alice:', 'empty repository'],
      ['alice', 'one part'],
      ['a:b:c', 'three parts'],
      ['a:b:c:d:e', 'five parts'],
      ['', 'the empty key'],
    ])('%s (%s)', (key) => {
      expect(classifyKey(key, 'traefik')).toEqual(FOREIGN);
    });
  });

  it('classifies redirects-a-b-0-0 as belonging to a.b.0, never to a.b', () => {
    const cls = classifyKey('traefik/http/middlewares/redirects-a-b-0-0/redirectRegex/regex', 'traefik');
    expect(cls).toMatchObject({ kind: 'middleware', sanitizedDomain: sanitizeDomain('a.b.0') });
    expect(cls).not.toMatchObject({ sanitizedDomain: sanitizeDomain('a.b') });
  });
});

describe('redirectMiddlewareOwner', () => {
  it.each<[string, string | undefined]>([
    ['redirects-example-com-0', 'example-com'],
    ['redirects-a-b-0-0', 'a-b-0'],
    ['redirects-a-b-10', 'a-b'],
    ['redirects-a-1-2', 'a-1'],
    ['redirects-example-com', undefined],
    ['redirects--0', undefined],
    ['redirects-0', undefined],
    ['auth', undefined],
  ])('%s → %s', (name, owner) => {
    expect(redirectMiddlewareOwner(name)).toBe(owner);
  });
});

describe("branchLabel (the plugin's sanitizeBranchForSubdomain)", () => {
  it.each<[string, string]>([
    ['stage', 'stage'],
    ['Feature/NEW_UI', 'feature-new-ui'],
    ['release_v1.0', 'release-v1-0'],
    ['--x--', 'x'],
    ['a//b__c..d', 'a-b-c-d'],
    ['feature/x', 'feature-x'],
    ['café', 'caf'],
    ['日本語', ''],
    ['über-branch', 'ber-branch'],
    ['fix #12: crash!', 'fix12crash'],
    ['fix #12 / crash', 'fix12-crash'],
    ['_', ''],
    ['___', ''],
    ['/', ''],
    ['', ''],
    ['UPPER', 'upper'],
    ['a'.repeat(63), 'a'.repeat(63)],
    ['a'.repeat(64), 'a'.repeat(63)],
  ])('%j → %j', (branch, label) => {
    expect(branchLabel(branch)).toBe(label);
  });

  it('cuts a 70-character label at 63 and trims the dash left at the cut', () => {
    const branch = 'a'.repeat(62) + '/' + 'b'.repeat(7); // 70 characters, the '-' lands at index 62
    expect(branch).toHaveLength(70);
    const label = branchLabel(branch);
    expect(label).toBe('a'.repeat(62));
    expect(label.length).toBeLessThanOrEqual(63);
  });

  it('cuts a 70-character label without a dash at the cut to exactly 63', () => {
    const label = branchLabel('x'.repeat(70));
    expect(label).toBe('x'.repeat(63));
  });

  it('always produces a DNS label or nothing', () => {
    for (const branch of ['Feature/NEW_UI', '--x--', 'release_v1.0', 'ö/ä/ü', '-._-', 'a'.repeat(100) + '-b']) {
      const label = branchLabel(branch);
      if (label !== '') expect(label).toMatch(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/);
    }
  });
});

describe('isDomainName', () => {
  it.each<[string, boolean]>([
    ['example.com', true],
    ['stage.example.com', true],
    ['EXAMPLE.com', true],
    ['a-b.example.com', true],
    ['xn--bcher-kva.example', true],
    ['*.x.com', true],
    ['_acme.example.com', true],
    ['1.example.com', true],
    ['example.b1', true],
    // An address, a version, a number: no top-level domain is all digits.
    ['1.2.3.4', false],
    ['10.0.0.1', false],
    ['1.2.3', false],
    ['3.5', false],
    ['localhost', false],
    ['', false],
    ['example..com', false],
    ['.example.com', false],
    ['example.com.', false],
    ['-a.example.com', false],
    ['a-.example.com', false],
    ['count=3', false],
    ['$2a$10$abcdefghijklmnopqrstuv', false],
    ['<html>hi</html>', false],
    ['a b.com', false],
    ['a/b.com', false],
    ['a:b.com', false],
    [`${'a'.repeat(63)}.com`, true],
    [`${'a'.repeat(64)}.com`, false],
    [`${'a.'.repeat(126)}com`, false], // 255 characters
  ])('%j → %s', (value, expected) => {
    expect(isDomainName(value)).toBe(expected);
  });

  it('answers as the rule written as patterns does, for 20,000 generated values', () => {
    // The rule as it reads in RFC terms; the function checks it in place, without a split.
    const byPatterns = (value: string): boolean => {
      if (value.length === 0 || value.length > 253) return false;
      const labels = value.split('.');
      return (
        labels.length >= 2 &&
        !/^\d+$/.test(labels[labels.length - 1]) &&
        labels.every((label) => /^(?:\*|[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)$/.test(label))
      );
    };
    const labelChars = ['a', 'Z', 'b', '0', '7', 'c', '-', '_'];
    const oddChars = ['*', ':', ' ', 'é', '\u0660', '.'];
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor((seed / 2 ** 32) * n); // the high bits: the low ones of this generator cycle
    };
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const labels: string[] = [];
      for (let n = 1 + random(4); n > 0; n--) {
        let label = random(15) === 0 ? '*' : '';
        for (let length = random(8) === 0 ? 61 + random(4) : random(6); length > 0; length--)
          label += random(25) === 0 ? oddChars[random(oddChars.length)] : labelChars[random(labelChars.length)];
        labels.push(label);
      }
      const value = labels.join('.');
      if (byPatterns(value)) valid++;
      expect([value, isDomainName(value)]).toEqual([value, byPatterns(value)]);
    }
    expect(valid).toBeGreaterThan(1_500); // a tenth of the values are host names: both answers are tried often
  });
});

describe('isRepoPart', () => {
  it.each<[string, boolean]>([
    ['alice', true],
    ['Alice_1', true],
    ['my.site', true],
    ['my-site', true],
    ['.hidden', true],
    ['a..b', true],
    ['.', false],
    ['..', false],
    ['', false],
    ['a/b', false],
    ['/', false],
    ['a\\b', false],
    ['a b', false],
    ['a:b', false],
    ['café', false],
    ['a'.repeat(255), true],
    ['a'.repeat(256), false],
  ])('%j → %s', (name, expected) => {
    expect(isRepoPart(name)).toBe(expected);
  });
});

describe('isBranchName', () => {
  it.each<[string, boolean]>([
    ['main', true],
    ['feature/x', true],
    ['release_v1.0', true],
    ['Feature/NEW_UI', true],
    ['a-b', true],
    ['', false],
    ['..', false],
    ['a..b', false],
    ['a//b', false],
    ['/a', false],
    ['a/', false],
    ['-a', false],
    ['a.', false],
    ['a.lock', false],
    ['a/.b', false],
    ['.a', false],
    ['a b', false],
    ['a:b', false],
    ['a~1', false],
    ['a^1', false],
    ['a?', false],
    ['a*', false],
    ['a[b', false],
    ['a\\b', false],
    ['a@{1}', false],
    ['a\tb', false],
    ['a\x7fb', false],
    ['a'.repeat(255), true],
    ['a'.repeat(256), false],
  ])('%j → %s', (name, expected) => {
    expect(isBranchName(name)).toBe(expected);
  });
});

describe('escapeGlob (DESIGN §4.4)', () => {
  it.each<[string, string]>([
    ['custom_domain:example.com', 'custom_domain:example.com'],
    ['*.x.com', '\\*.x.com'],
    ['[a]', '\\[a\\]'],
    ['a?b', 'a\\?b'],
    ['a\\b', 'a\\\\b'],
    ['custom_domain:*', 'custom_domain:\\*'],
    ['', ''],
  ])('%j → %j', (text, escaped) => {
    expect(escapeGlob(text)).toBe(escaped);
  });

  /** A small Redis glob matcher: enough to show an escaped prefix matches only itself. */
  function redisGlobMatches(pattern: string, text: string): boolean {
    const literal = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    let re = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i];
      if (c === '\\' && i + 1 < pattern.length) re += literal(pattern[++i]);
      else if (c === '*') re += '.*';
      else if (c === '?') re += '.';
      else if (c === '[') {
        const end = pattern.indexOf(']', i + 1);
        re +=
          '[' +
          pattern
            .slice(i + 1, end)
            .split('')
            .map(literal)
            .join('') +
          ']';
        i = end;
      } else re += literal(c);
    }
    return new RegExp(`^${re}$`, 's').test(text);
  }

  it.each<[string, string, boolean]>([
    ['custom_domain:*.x.com', 'custom_domain:*.x.com', true],
    ['custom_domain:*.x.com', 'custom_domain:evil.x.com', false],
    ['custom_domain:[a]', 'custom_domain:[a]', true],
    ['custom_domain:[a]', 'custom_domain:a', false],
    ['custom_domain:a?b', 'custom_domain:a?b', true],
    ['custom_domain:a?b', 'custom_domain:axb', false],
  ])('the escaped pattern %j matching %j is %s', (literal, key, expected) => {
    expect(redisGlobMatches(escapeGlob(literal), key)).toBe(expected);
    // Unescaped, the same pattern would widen for the look-alikes:
    if (!expected) expect(redisGlobMatches(literal, key)).toBe(true);
  });
});

describe('key builders', () => {
  it.each<[string, string]>([
    ['a.b.example.com', 'custom-a-b-example-com'],
    ['a-b.example.com', 'custom-a-b-example-com'],
    ['example.com', 'custom-example-com'],
    ['*.x.com', 'custom-*-x-com'],
  ])('routerName(%s) = %s', (domain, name) => {
    expect(routerName(domain)).toBe(name);
  });

  it('gives a.b.example.com and a-b.example.com the same router name (DESIGN §4.3)', () => {
    expect(routerName('a.b.example.com')).toBe(routerName('a-b.example.com'));
    expect(routerName('a.b.example.com')).not.toBe(routerName('ab.example.com'));
  });

  it("builds the plugin's key names literally", () => {
    expect(forwardKey('stage.example.com')).toBe('custom_domain:stage.example.com');
    expect(reverseKey('alice', 'site')).toBe('alice:site');
    expect(reverseKey('alice', 'site', 'feature/x')).toBe('alice:site:branch:feature/x');
    expect(redirectsMetaKey('example.com')).toBe('redirects_meta:example.com');
    expect(routersRoot('traefik')).toBe('traefik/http/routers/');
    expect(middlewaresRoot('edge')).toBe('edge/http/middlewares/');
    expect(sanitizeDomain('a.b.c')).toBe('a-b-c');
  });

  it.each<[string, string | undefined]>([
    ['example.com', undefined],
    ['stage.example.com', 'feature/x'],
  ])('keys built for %s (branch %s) classify back to what built them', (domain, branch) => {
    expect(classifyKey(forwardKey(domain), 'traefik')).toEqual({ kind: 'forward', domain });
    expect(classifyKey(redirectsMetaKey(domain), 'traefik')).toEqual({ kind: 'redirects-meta', domain });
    expect(classifyKey(`${routersRoot('traefik')}${routerName(domain)}/rule`, 'traefik')).toEqual({
      kind: 'router',
      name: routerName(domain),
    });
    const reverse = classifyKey(reverseKey('alice', 'site', branch), 'traefik');
    expect(reverse).toEqual(
      branch === undefined ? { kind: 'reverse', owner: 'alice', repo: 'site' } : { kind: 'reverse', owner: 'alice', repo: 'site', branch },
    );
  });
});

describe('domainsSanitizedAs', () => {
  it('gives every domain whose dots and dashes make the name', () => {
    expect(domainsSanitizedAs('example', 8)).toEqual(['example']);
    expect(domainsSanitizedAs('a-b-c', 8)!.sort()).toEqual(['a-b-c', 'a-b.c', 'a.b-c', 'a.b.c']);
    for (const domain of domainsSanitizedAs('www-my-site-example-com', 64)!) expect(sanitizeDomain(domain)).toBe('www-my-site-example-com');
  });

  it('gives up beyond the limit', () => {
    expect(domainsSanitizedAs('a-b-c', 3)).toBeUndefined();
    expect(domainsSanitizedAs('a-b-c-d-e-f-g-h-i-j-k-l', 1024)).toBeUndefined();
    expect(domainsSanitizedAs('a-b-c-d-e-f-g-h-i-j-k', 1024)).toHaveLength(1024);
  });

  it('counts them without listing them, the same count', () => {
    for (const name of ['example', 'a-b-c', 'www-my-site-example-com', 'a-b-c-d-e-f-g-h-i-j-k', '-lead-', 'a--b']) {
      expect(domainCountSanitizedAs(name)).toBe(domainsSanitizedAs(name, Infinity)!.length);
    }
  });
});

import { parsePagesConfig, type PagesConfig } from '../../src/core/pages-config';
import { judgeByBranch, judgeByPages, live, stale, unknown, invalid, type Claim } from '../../src/core/verdict';

const config = (over: Partial<PagesConfig> = {}): PagesConfig => ({
  customDomain: 'example.com',
  enableBranches: [],
  ...over,
});
const site: Claim = { owner: 'alice', repo: 'site', domain: 'example.com' };
/** Puts each row's expected outcome (4th cell) into its test title (1st cell). */
const titled = <Row extends [string, unknown, unknown, string, unknown]>(rows: Row[]): Row[] =>
  rows.map((row) => [`${row[0]} → ${row[3]}`, ...row.slice(1)] as Row);
const branchClaim = (branch: string, domain: string): Claim => ({ owner: 'alice', repo: 'site', branch, domain });

describe('verdict constructors', () => {
  it.each([
    ['live', live],
    ['stale', stale],
    ['unknown', unknown],
    ['invalid', invalid],
  ] as const)('%s() builds a verdict of that status with its reason', (status, make) => {
    expect(make('because')).toEqual({ status, reason: 'because' });
  });
});

describe('judgeByPages (DESIGN §3)', () => {
  describe('a plain domain mapping', () => {
    it.each(
      titled<[string, PagesConfig | undefined, Claim, 'live' | 'stale', RegExp]>([
        ['repository or .pages gone', undefined, site, 'stale', /gone \(404\)/],
        ['no custom_domain any more', config({ customDomain: '' }), site, 'stale', /no longer names a custom_domain/],
        ['custom_domain changed', config({ customDomain: 'new.example.org' }), site, 'stale', /changed to new\.example\.org/],
        ['custom_domain names the domain', config(), site, 'live', /example\.com/],
        ['case-only difference (config upper)', config({ customDomain: 'Example.COM' }), site, 'live', /Example\.COM/],
        ['case-only difference (claim upper)', config(), { ...site, domain: 'EXAMPLE.com' }, 'live', /example\.com/],
        ['a subdomain is not the domain', config({ customDomain: 'www.example.com' }), site, 'stale', /changed to www\.example\.com/],
        [
          'an IDN: .pages in Unicode, the mapping the A-label',
          config({ customDomain: 'bücher.test' }),
          { ...site, domain: 'xn--bcher-kva.test' },
          'live',
          /bücher/,
        ],
        [
          'an IDN: .pages the A-label, the mapping in Unicode',
          config({ customDomain: 'xn--bcher-kva.test' }),
          { ...site, domain: 'Bücher.test' },
          'live',
          /xn--/,
        ],
        [
          'another IDN is another domain',
          config({ customDomain: 'bucher.test' }),
          { ...site, domain: 'xn--bcher-kva.test' },
          'stale',
          /changed to bucher/,
        ],
        ['enabled branches do not matter for the main domain', config({ enableBranches: ['stage'] }), site, 'live', /example\.com/],
      ]),
    )('%s', (_name, pages, claim, status, reason) => {
      const verdict = judgeByPages(claim, pages);
      expect(verdict).not.toBe('check-branch');
      expect(verdict).toMatchObject({ status });
      if (verdict !== 'check-branch') expect(verdict.reason).toMatch(reason);
    });

    // The plugin parses `enabled:` and never reads it: it serves and registers the site
    // whatever the line says, so such a site is live (a reaper that read it reaped live sites).
    it.each(['enabled: false', 'enabled: no', 'enabled: "true"'])('a .pages with %j is judged by its custom_domain alone', (line) => {
      expect(judgeByPages(site, parsePagesConfig(`custom_domain: example.com\n${line}\n`))).toMatchObject({ status: 'live' });
      expect(judgeByPages(site, parsePagesConfig(`${line}\ncustom_domain: other.com\n`))).toMatchObject({
        status: 'stale',
        reason: expect.stringMatching(/changed to other\.com/),
      });
      const stage = branchClaim('stage', 'stage.example.com');
      expect(judgeByPages(stage, parsePagesConfig(`custom_domain: example.com\n${line}\nenable_branches: [stage]\n`))).toBe('check-branch');
    });
  });

  describe('a branch mapping', () => {
    it.each(
      titled<[string, PagesConfig | undefined, Claim, 'stale' | 'check-branch', RegExp | undefined]>([
        ['repository gone', undefined, branchClaim('stage', 'stage.example.com'), 'stale', /gone/],
        [
          'no custom_domain',
          config({ customDomain: '', enableBranches: ['stage'] }),
          branchClaim('stage', 'stage.example.com'),
          'stale',
          /custom_domain/,
        ],
        [
          'branch no longer enabled',
          config({ enableBranches: ['dev'] }),
          branchClaim('stage', 'stage.example.com'),
          'stale',
          /branch stage is no longer in enable_branches/,
        ],
        ['no branches enabled', config(), branchClaim('stage', 'stage.example.com'), 'stale', /no longer in enable_branches/],
        [
          'enable_branches is case-sensitive',
          config({ enableBranches: ['Stage'] }),
          branchClaim('stage', 'stage.example.com'),
          'stale',
          /no longer in enable_branches/,
        ],
        [
          'custom_domain changed, so the label no longer matches',
          config({ customDomain: 'new.example.org', enableBranches: ['stage'] }),
          branchClaim('stage', 'stage.example.com'),
          'stale',
          /now maps to stage\.new\.example\.org/,
        ],
        [
          'mapped under a label the plugin would not produce',
          config({ enableBranches: ['feature/x'] }),
          branchClaim('feature/x', 'feature/x.example.com'),
          'stale',
          /branch feature\/x now maps to feature-x\.example\.com/,
        ],
        ['a branch with no DNS label', config({ enableBranches: ['_'] }), branchClaim('_', '.example.com'), 'stale', /no subdomain/],
        [
          'enabled and label matches',
          config({ enableBranches: ['stage'] }),
          branchClaim('stage', 'stage.example.com'),
          'check-branch',
          undefined,
        ],
        [
          'enabled, sanitized label matches',
          config({ enableBranches: ['Feature/NEW_UI'] }),
          branchClaim('Feature/NEW_UI', 'feature-new-ui.example.com'),
          'check-branch',
          undefined,
        ],
        [
          'enabled, case-only difference',
          config({ customDomain: 'Example.com', enableBranches: ['stage'] }),
          branchClaim('stage', 'STAGE.example.COM'),
          'check-branch',
          undefined,
        ],
        // every row has five cells: a shorter row would make jest treat `reason` as `done`
      ]),
    )('%s', (_name, pages, claim, expected, reason) => {
      const verdict = judgeByPages(claim, pages);
      if (expected === 'check-branch') {
        expect(verdict).toBe('check-branch');
      } else {
        expect(verdict).toMatchObject({ status: 'stale' });
        if (verdict !== 'check-branch') expect(verdict.reason).toMatch(reason!);
      }
    });
  });
});

describe('judgeByBranch', () => {
  const claim = branchClaim('feature/x', 'feature-x.example.com');

  it('is live when the branch exists', () => {
    expect(judgeByBranch(claim, true)).toEqual({ status: 'live', reason: 'branch feature/x is enabled and exists' });
  });

  it('is stale when the branch is gone (404)', () => {
    expect(judgeByBranch(claim, false)).toEqual({ status: 'stale', reason: 'branch feature/x is gone (404)' });
  });
});

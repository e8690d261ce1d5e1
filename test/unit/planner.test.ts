import type { StoredEntry } from '../../src/ports/key-value-store';
import {
  hydratePlan,
  keysToHydrate,
  orphanReverseCandidates,
  groupIndexByDomain,
  keyCountOf,
  planReap,
  withoutValues,
  DEFAULT_BRAKE,
  type BrakeOptions,
  type DeletionGroup,
  type Plan,
} from '../../src/core/planner';
import type { VerdictStatus } from '../../src/core/verdict';
import { inventoryFrom, inventoryOf, middlewareKeys, routerKeys, siteKeys, sortedNames, verdicts, type KeyValues } from './fixtures';

const NONE = new Map();
const names = (group: DeletionGroup) => group.keys.map((k) => k.key);
const allPlannedKeys = (plan: Plan) => plan.groups.flatMap(names);
const groupFor = (plan: Plan, subject: string) => plan.groups.find((g) => g.subject === subject);
/** `{kind, subject, keys}` of every group, in order: the whole plan at a glance. */
const shape = (plan: Plan) => plan.groups.map((g) => ({ kind: g.kind, subject: g.subject, keys: names(g) }));

describe('planReap: a stale domain', () => {
  const keys: KeyValues = {
    'custom_domain:example.com': 'alice:site',
    'alice:site': 'example.com',
    ...routerKeys('example.com'),
    'traefik/http/routers/custom-example-com/middlewares/1': 'redirects-example-com-0@redis', // an extra sub-key
    ...middlewareKeys('example.com', 0),
    ...middlewareKeys('example.com', 1),
    'redirects_meta:example.com': 'count=2',
    // never ours
    'traefik/http/routers/pages-domain-base/rule': 'HostRegexp(`{any:.+}`)',
    'traefik/http/middlewares/auth/basicAuth/users/0': 'x',
    'password:alice:site': '$2a$10$hash',
    'alice:site:main:index.html': '<html></html>',
  };
  const plan = planReap(inventoryOf(keys), verdicts({ 'example.com': 'stale' }), NONE);

  it('is one domain group', () => {
    expect(plan.groups).toHaveLength(1);
    expect(plan.groups[0]).toMatchObject({ kind: 'domain', subject: 'example.com', reason: 'stale because test' });
  });

  it('lists router keys, then redirect middlewares, then redirects_meta, then the reverse key, then the forward key last', () => {
    const r = 'traefik/http/routers/custom-example-com/';
    const m = 'traefik/http/middlewares/';
    expect(names(plan.groups[0])).toEqual([
      `${r}entryPoints/0`,
      `${r}entryPoints/1`,
      `${r}middlewares/0`,
      `${r}middlewares/1`,
      `${r}priority`,
      `${r}rule`,
      `${r}service`,
      `${r}tls/certResolver`,
      `${m}redirects-example-com-0/redirectRegex/permanent`,
      `${m}redirects-example-com-0/redirectRegex/regex`,
      `${m}redirects-example-com-0/redirectRegex/replacement`,
      `${m}redirects-example-com-1/redirectRegex/permanent`,
      `${m}redirects-example-com-1/redirectRegex/regex`,
      `${m}redirects-example-com-1/redirectRegex/replacement`,
      'redirects_meta:example.com',
      'alice:site',
      'custom_domain:example.com',
    ]);
  });

  it('expects the scanned bytes of mappings and leaves router values to hydration', () => {
    for (const { key, expected } of plan.groups[0].keys) {
      if (key.includes('/http/')) expect(expected).toBeUndefined();
      else expect(expected!.equals(Buffer.from(keys[key] as string))).toBe(true);
    }
  });

  it('after hydration expects of every key exactly the bytes that were read', () => {
    const read = new Map(keysToHydrate(plan).map((key) => [key, { key, type: 'string', value: Buffer.from(keys[key] as string) }]));
    const hydrated = hydratePlan(plan, read);
    expect(hydrated.groups[0].keys.map((k) => k.key)).toEqual(names(plan.groups[0]));
    for (const { key, expected } of hydrated.groups[0].keys) expect(expected.equals(Buffer.from(keys[key] as string))).toBe(true);
  });

  it('hydration drops keys gone since the scan and leaves keys of another type alone, saying so', () => {
    const [gone, hash, ...rest] = keysToHydrate(plan);
    const read = new Map<string, StoredEntry | undefined>([
      [gone, undefined],
      [hash, { key: hash, type: 'hash' }],
      ...rest.map((key): [string, StoredEntry] => [key, { key, type: 'string', value: Buffer.from(keys[key] as string) }]),
    ]);
    const hydrated = hydratePlan(plan, read);
    expect(names(hydrated.groups[0])).not.toContain(gone);
    expect(names(hydrated.groups[0])).not.toContain(hash);
    expect(hydrated.kept).toContainEqual({ subject: hash, reason: expect.stringContaining('holds a hash') });
  });

  it('touches none of the foreign keys', () => {
    for (const key of [
      'traefik/http/routers/pages-domain-base/rule',
      'traefik/http/middlewares/auth/basicAuth/users/0',
      'password:alice:site',
      'alice:site:main:index.html',
    ]) {
      expect(allPlannedKeys(plan)).not.toContain(key);
    }
  });

  it('keeps non-UTF-8 values byte for byte', () => {
    const odd = Buffer.from([0xff, 0xfe, 0x00, 0x80]);
    const p = planReap(
      inventoryOf({ 'custom_domain:x.com': 'alice:x', 'traefik/http/routers/custom-x-com/weird': odd }),
      verdicts({ 'x.com': 'stale' }),
      NONE,
    );
    const hydrated = hydratePlan(
      p,
      new Map([
        ['traefik/http/routers/custom-x-com/weird', { key: 'traefik/http/routers/custom-x-com/weird', type: 'string', value: odd }],
      ]),
    );
    expect(hydrated.groups[0].keys[0]).toEqual({ key: 'traefik/http/routers/custom-x-com/weird', expected: odd });
  });
});

/** Of every verdict (and none at all), only stale leads to a deletion. */
const ONLY_STALE_IS_ACTED_ON: Array<[VerdictStatus | 'missing', boolean]> = [
  ['stale', true],
  ['live', false],
  ['unknown', false],
  ['invalid', false],
  ['missing', false],
];

describe('planReap: which verdicts are planned', () => {
  const keys = { ...siteKeys('alice', 'site', 'example.com') };
  it.each(ONLY_STALE_IS_ACTED_ON)('%s → planned: %s', (status, planned) => {
    const v = status === 'missing' ? verdicts({}) : verdicts({ 'example.com': status });
    const plan = planReap(inventoryOf(keys), v, NONE);
    expect(plan.groups.map((g) => g.subject)).toEqual(planned ? ['example.com'] : []);
    expect(plan.brake.staleDomains).toBe(planned ? 1 : 0);
  });

  it('never plans an invalid forward mapping, whatever verdict it is given, nor treats its router as an orphan', () => {
    const inventory = inventoryOf({ 'custom_domain:bad.com': 'alice:..', ...routerKeys('bad.com') });
    expect(inventory.forwards.get('bad.com')?.invalid).toMatch(/Invalid repository name/);
    for (const status of ['stale', 'invalid'] as const) {
      expect(planReap(inventory, verdicts({ 'bad.com': status }), NONE).groups).toEqual([]);
    }
  });

  it('never plans a forward key that holds a non-string', () => {
    const inventory = inventoryFrom([{ key: 'custom_domain:hash.com', type: 'hash' }]);
    expect(planReap(inventory, verdicts({ 'hash.com': 'stale' }), NONE).groups).toEqual([]);
  });

  it('is the same plan however the inventory was ordered', () => {
    const a = { ...siteKeys('alice', 'a', 'a.com'), ...siteKeys('bob', 'b', 'b.com'), ...siteKeys('carol', 'c', 'c.com') };
    const reversed = Object.fromEntries(Object.entries(a).reverse());
    const v = verdicts({ 'a.com': 'stale', 'b.com': 'live', 'c.com': 'stale' });
    expect(planReap(inventoryOf(reversed), v, NONE)).toEqual(planReap(inventoryOf(a), v, NONE));
    expect(planReap(inventoryOf(a), v, NONE).groups.map((g) => g.subject)).toEqual(['a.com', 'c.com']);
  });
});

describe('planReap: branch mappings', () => {
  const keys: KeyValues = {
    ...siteKeys('alice', 'site', 'example.com'),
    'custom_domain:stage.example.com': 'alice:site:stage',
    'alice:site:branch:stage': 'stage.example.com',
    ...routerKeys('stage.example.com'),
    'custom_domain:feature-x.example.com': 'alice:site:feature/x',
    'alice:site:branch:feature/x': 'feature-x.example.com',
    ...routerKeys('feature-x.example.com'),
  };

  it('reaps a stale branch mapping with its branch reverse key and leaves the site alone', () => {
    const plan = planReap(
      inventoryOf(keys),
      verdicts({ 'example.com': 'live', 'stage.example.com': 'stale', 'feature-x.example.com': 'live' }),
      NONE,
    );
    expect(shape(plan)).toEqual([
      {
        kind: 'domain',
        subject: 'stage.example.com',
        keys: [...sortedNames(routerKeys('stage.example.com')), 'alice:site:branch:stage', 'custom_domain:stage.example.com'],
      },
    ]);
  });

  it('reaps a branch with a slash in its name through its branch reverse key', () => {
    const plan = planReap(
      inventoryOf(keys),
      verdicts({ 'example.com': 'live', 'stage.example.com': 'live', 'feature-x.example.com': 'stale' }),
      NONE,
    );
    expect(names(plan.groups[0]).slice(-2)).toEqual(['alice:site:branch:feature/x', 'custom_domain:feature-x.example.com']);
  });

  it("does not take the site's plain reverse key with a branch mapping", () => {
    const plan = planReap(
      inventoryOf(keys),
      verdicts({ 'example.com': 'live', 'stage.example.com': 'stale', 'feature-x.example.com': 'stale' }),
      NONE,
    );
    expect(allPlannedKeys(plan)).not.toContain('alice:site');
    expect(allPlannedKeys(plan)).not.toContain('custom_domain:example.com');
  });
});

describe('planReap: reverse keys of a stale domain (DESIGN §4.2)', () => {
  it('keeps a reverse key that names another domain', () => {
    const keys = {
      'custom_domain:old.com': 'alice:site',
      ...routerKeys('old.com'),
      ...siteKeys('alice', 'site', 'new.com'),
    };
    const plan = planReap(inventoryOf(keys), verdicts({ 'old.com': 'stale', 'new.com': 'live' }), NONE);
    expect(shape(plan)).toEqual([
      { kind: 'domain', subject: 'old.com', keys: [...sortedNames(routerKeys('old.com')), 'custom_domain:old.com'] },
    ]);
    expect(plan.kept).toContainEqual({ subject: 'alice:site', reason: 'reverse key kept: it names new.com, not old.com' });
  });

  it('plans no reverse key when there is none', () => {
    const plan = planReap(inventoryOf({ 'custom_domain:x.com': 'alice:x' }), verdicts({ 'x.com': 'stale' }), NONE);
    expect(shape(plan)).toEqual([{ kind: 'domain', subject: 'x.com', keys: ['custom_domain:x.com'] }]);
  });

  it('does not count a look-alike key (value not a domain, or expiring) as the reverse key', () => {
    const inventory = inventoryFrom([
      { key: 'custom_domain:x.com', type: 'string', value: Buffer.from('alice:x') },
      { key: 'alice:x', type: 'string', value: Buffer.from('x.com'), expiresAt: Date.now() + 60_000 },
      { key: 'custom_domain:y.com', type: 'string', value: Buffer.from('bob:y') },
      { key: 'bob:y', type: 'string', value: Buffer.from('<html>y.com</html>') },
    ]);
    const plan = planReap(inventory, verdicts({ 'x.com': 'stale', 'y.com': 'stale' }), NONE);
    expect(shape(plan)).toEqual([
      { kind: 'domain', subject: 'x.com', keys: ['custom_domain:x.com'] },
      { kind: 'domain', subject: 'y.com', keys: ['custom_domain:y.com'] },
    ]);
  });
});

describe('planReap: shared router names (DESIGN §4.3)', () => {
  // a.b.example.com and a-b.example.com both produce custom-a-b-example-com
  const shared = (): KeyValues => ({
    'custom_domain:a.b.example.com': 'alice:dots',
    'alice:dots': 'a.b.example.com',
    'custom_domain:a-b.example.com': 'bob:dash',
    'bob:dash': 'a-b.example.com',
    ...routerKeys('a.b.example.com'),
    ...middlewareKeys('a.b.example.com', 0),
    'redirects_meta:a.b.example.com': 'count=1',
  });

  it.each<[VerdictStatus]>([['live'], ['unknown'], ['invalid']])(
    'keeps the router and middlewares when the other domain is %s',
    (other) => {
      const plan = planReap(inventoryOf(shared()), verdicts({ 'a.b.example.com': 'stale', 'a-b.example.com': other }), NONE);
      expect(shape(plan)).toEqual([
        {
          kind: 'domain',
          subject: 'a.b.example.com',
          keys: ['redirects_meta:a.b.example.com', 'alice:dots', 'custom_domain:a.b.example.com'],
        },
      ]);
      expect(plan.kept).toContainEqual({
        subject: 'custom-a-b-example-com',
        reason: 'router and redirect middlewares kept: a-b.example.com uses the same name',
      });
    },
  );

  it('keeps the router when the other domain holds an invalid value', () => {
    const keys = { ...shared(), 'custom_domain:a-b.example.com': 'bob:dash:bad..branch' };
    const plan = planReap(inventoryOf(keys), verdicts({ 'a.b.example.com': 'stale', 'a-b.example.com': 'stale' }), NONE);
    expect(plan.groups.map((g) => g.subject)).toEqual(['a.b.example.com']);
    expect(allPlannedKeys(plan).filter((k) => k.includes('/routers/'))).toEqual([]);
  });

  it('lists the shared router keys once when both domains are stale', () => {
    const plan = planReap(inventoryOf(shared()), verdicts({ 'a.b.example.com': 'stale', 'a-b.example.com': 'stale' }), NONE);
    const routerAndMiddleware = [...sortedNames(routerKeys('a.b.example.com')), ...sortedNames(middlewareKeys('a.b.example.com', 0))];
    // 'a-b…' sorts before 'a.b…', so the first group takes the shared keys
    expect(shape(plan)).toEqual([
      { kind: 'domain', subject: 'a-b.example.com', keys: [...routerAndMiddleware, 'bob:dash', 'custom_domain:a-b.example.com'] },
      {
        kind: 'domain',
        subject: 'a.b.example.com',
        keys: ['redirects_meta:a.b.example.com', 'alice:dots', 'custom_domain:a.b.example.com'],
      },
    ]);
    const all = allPlannedKeys(plan);
    expect(new Set(all).size).toBe(all.length);
    expect(plan.kept).toEqual([]);
  });
});

describe('planReap: middleware ownership', () => {
  const keys: KeyValues = {
    'custom_domain:a.b': 'alice:ab',
    ...middlewareKeys('a.b', 0),
    'custom_domain:a.b.0': 'bob:ab0',
    ...middlewareKeys('a.b.0', 0),
  };

  it('takes redirects-a-b-0 with a.b, never redirects-a-b-0-0 (which belongs to a.b.0)', () => {
    const plan = planReap(inventoryOf(keys), verdicts({ 'a.b': 'stale', 'a.b.0': 'live' }), NONE);
    expect(shape(plan)).toEqual([
      { kind: 'domain', subject: 'a.b', keys: [...sortedNames(middlewareKeys('a.b', 0)), 'custom_domain:a.b'] },
    ]);
  });

  it('takes redirects-a-b-0-0 with a.b.0, never redirects-a-b-0', () => {
    const plan = planReap(inventoryOf(keys), verdicts({ 'a.b': 'live', 'a.b.0': 'stale' }), NONE);
    expect(shape(plan)).toEqual([
      { kind: 'domain', subject: 'a.b.0', keys: [...sortedNames(middlewareKeys('a.b.0', 0)), 'custom_domain:a.b.0'] },
    ]);
  });

  it('treats redirects-a-b-0-0 as an orphan when only a.b is mapped', () => {
    const plan = planReap(
      inventoryOf({ 'custom_domain:a.b': 'alice:ab', ...middlewareKeys('a.b', 0), ...middlewareKeys('a.b.0', 0) }),
      verdicts({ 'a.b': 'live' }),
      NONE,
    );
    expect(shape(plan)).toEqual([
      { kind: 'orphan-middleware', subject: 'redirects-a-b-0-0', keys: sortedNames(middlewareKeys('a.b.0', 0)) },
    ]);
  });
});

describe('planReap: orphans (DESIGN §4.8)', () => {
  const keys: KeyValues = {
    ...siteKeys('alice', 'site', 'example.com'),
    ...middlewareKeys('example.com', 0),
    'redirects_meta:example.com': 'count=1',
    ...routerKeys('gone.com'),
    ...middlewareKeys('gone.com', 0),
    ...middlewareKeys('gone.com', 1),
    'redirects_meta:gone.com': 'count=2',
    ...routerKeys('also-gone.org'),
    'traefik/http/routers/pages-domain-base/rule': 'x',
    'traefik/http/middlewares/pages-server/plugin/x': 'y',
  };
  const plan = planReap(inventoryOf(keys), verdicts({ 'example.com': 'live' }), NONE);

  it('plans orphan routers, middlewares and redirects_meta, each as its own group, sorted', () => {
    expect(shape(plan)).toEqual([
      { kind: 'orphan-router', subject: 'custom-also-gone-org', keys: sortedNames(routerKeys('also-gone.org')) },
      { kind: 'orphan-router', subject: 'custom-gone-com', keys: sortedNames(routerKeys('gone.com')) },
      { kind: 'orphan-middleware', subject: 'redirects-gone-com-0', keys: sortedNames(middlewareKeys('gone.com', 0)) },
      { kind: 'orphan-middleware', subject: 'redirects-gone-com-1', keys: sortedNames(middlewareKeys('gone.com', 1)) },
      { kind: 'orphan-redirects-meta', subject: 'redirects_meta:gone.com', keys: ['redirects_meta:gone.com'] },
    ]);
  });

  it("a redirects_meta key that does not hold the plugin's count=N is another application's: never planned", () => {
    const foreign = planReap(
      inventoryOf({ 'redirects_meta:report': '{"a":1}', 'redirects_meta:x.com': 'hello', 'redirects_meta:y.com': 'count=3' }),
      NONE,
      NONE,
    );
    expect(shape(foreign).map((group) => group.subject)).toEqual(['redirects_meta:y.com']);
  });

  it('gives orphans a reason and the bytes read', () => {
    expect(groupFor(plan, 'custom-gone-com')?.reason).toBe('no forward mapping produces this router');
    expect(groupFor(plan, 'redirects-gone-com-0')?.reason).toBe('no forward mapping produces this middleware');
    expect(groupFor(plan, 'redirects_meta:gone.com')?.reason).toBe('no forward mapping for gone.com');
    expect(groupFor(plan, 'redirects_meta:gone.com')?.keys[0].expected).toEqual(Buffer.from('count=2'));
  });

  it('does not count a router as an orphan when a live or unknown mapping produces it', () => {
    for (const status of ['live', 'unknown'] as const) {
      const p = planReap(inventoryOf(siteKeys('alice', 'site', 'example.com')), verdicts({ 'example.com': status }), NONE);
      expect(p.groups).toEqual([]);
    }
  });

  it('plans orphans even without any verdicts (scan)', () => {
    const p = planReap(inventoryOf(keys), NONE, NONE);
    expect(p.groups.map((g) => g.kind)).toEqual([
      'orphan-router',
      'orphan-router',
      'orphan-middleware',
      'orphan-middleware',
      'orphan-redirects-meta',
    ]);
    expect(p.brake.staleDomains).toBe(0);
  });

  it('plans orphans of a custom root key', () => {
    const p = planReap(inventoryOf({ ...routerKeys('gone.com', 'edge'), ...routerKeys('other.com') }, 'edge'), NONE, NONE);
    expect(shape(p)).toEqual([{ kind: 'orphan-router', subject: 'custom-gone-com', keys: sortedNames(routerKeys('gone.com', 'edge')) }]);
  });
});

describe('orphanReverseCandidates', () => {
  it.each<[string, KeyValues, string[]]>([
    ['a reverse key with its forward mapping back', siteKeys('alice', 'site', 'example.com'), []],
    ['a reverse key whose domain has no forward mapping', { 'alice:site': 'gone.com' }, ['alice:site']],
    [
      'a reverse key whose domain maps to another repository',
      { 'alice:site': 'example.com', 'custom_domain:example.com': 'bob:site' },
      ['alice:site'],
    ],
    [
      'a reverse key whose domain maps to a branch of the repository',
      { 'alice:site': 'example.com', 'custom_domain:example.com': 'alice:site:main' },
      ['alice:site'],
    ],
    [
      'a reverse key whose domain holds an invalid value',
      { 'alice:site': 'example.com', 'custom_domain:example.com': 'alice:..' },
      ['alice:site'],
    ],
    [
      'a branch reverse with its branch forward mapping',
      { 'alice:site:branch:stage': 'stage.x.com', 'custom_domain:stage.x.com': 'alice:site:stage' },
      [],
    ],
    [
      'a branch reverse whose forward has another branch',
      { 'alice:site:branch:stage': 'stage.x.com', 'custom_domain:stage.x.com': 'alice:site:dev' },
      ['alice:site:branch:stage'],
    ],
    [
      'a branch reverse whose forward has no branch',
      { 'alice:site:branch:stage': 'stage.x.com', 'custom_domain:stage.x.com': 'alice:site' },
      ['alice:site:branch:stage'],
    ],
    ['look-alikes whose value is no domain', { 'password:alice': '$2a$10$hash', 'alice:site': 'count=3', 'settings:x': 'on' }, []],
  ])('%s', (_name, keys, expected) => {
    expect(orphanReverseCandidates(inventoryOf(keys)).map((r) => r.key)).toEqual(expected);
  });

  it('carries owner, repo, branch and domain of the reverse key', () => {
    expect(orphanReverseCandidates(inventoryOf({ 'alice:site:branch:feature/x': 'feature-x.example.com' }))).toEqual([
      expect.objectContaining({
        owner: 'alice',
        repo: 'site',
        branch: 'feature/x',
        domain: 'feature-x.example.com',
        key: 'alice:site:branch:feature/x',
      }),
    ]);
  });
});

describe('planReap: orphan reverse keys', () => {
  const keys: KeyValues = { ...siteKeys('alice', 'site', 'example.com'), 'bob:old': 'old.com', 'bob:old:branch:dev': 'dev.old.com' };

  it.each(ONLY_STALE_IS_ACTED_ON)('an orphan reverse key judged %s is reaped: %s', (status, reaped) => {
    const reverseVerdicts = status === 'missing' ? verdicts({}) : verdicts({ 'bob:old': status });
    const plan = planReap(inventoryOf(keys), verdicts({ 'example.com': 'live' }), reverseVerdicts);
    expect(shape(plan)).toEqual(reaped ? [{ kind: 'orphan-reverse', subject: 'bob:old', keys: ['bob:old'] }] : []);
  });

  it('says why and expects the bytes read', () => {
    const plan = planReap(
      inventoryOf(keys),
      verdicts({ 'example.com': 'live' }),
      verdicts({ 'bob:old': 'stale', 'bob:old:branch:dev': 'stale' }),
    );
    expect(plan.groups).toEqual([
      {
        kind: 'orphan-reverse',
        subject: 'bob:old',
        reason: 'no forward mapping back to it and stale because test',
        keys: [{ key: 'bob:old', expected: Buffer.from('old.com') }],
        guards: [{ key: 'custom_domain:old.com', expected: null }],
      },
      {
        kind: 'orphan-reverse',
        subject: 'bob:old:branch:dev',
        reason: 'no forward mapping back to it and stale because test',
        keys: [{ key: 'bob:old:branch:dev', expected: Buffer.from('dev.old.com') }],
        guards: [{ key: 'custom_domain:dev.old.com', expected: null }],
      },
    ]);
  });

  it('ignores a stale verdict for a reverse key that is no orphan', () => {
    const plan = planReap(inventoryOf(keys), verdicts({ 'example.com': 'live' }), verdicts({ 'alice:site': 'stale' }));
    expect(plan.groups).toEqual([]);
  });

  it('guards an orphan reverse key naming a domain the plan reaps by that mapping being gone, and plans it after that domain', () => {
    const k = { ...siteKeys('bob', 'b', 'x.com'), 'alice:a': 'x.com', 'alice:a:branch:dev': 'x.com' };
    const plan = planReap(inventoryOf(k), verdicts({ 'x.com': 'stale' }), verdicts({ 'alice:a': 'stale', 'alice:a:branch:dev': 'stale' }));
    expect(plan.groups.map((g) => g.kind)).toEqual(['domain', 'orphan-reverse', 'orphan-reverse']);
    for (const group of plan.groups.slice(1)) expect(group.guards).toEqual([{ key: 'custom_domain:x.com', expected: null }]);
    // A domain the plan keeps keeps the guard on its mapping as scanned.
    const kept = planReap(inventoryOf(k), verdicts({ 'x.com': 'unknown' }), verdicts({ 'alice:a': 'stale' }));
    expect(kept.groups.map((g) => [g.kind, g.guards])).toEqual([
      ['orphan-reverse', [{ key: 'custom_domain:x.com', expected: Buffer.from('bob:b') }]],
    ]);
  });

  it("never plans a key twice when a stale domain's old reverse key is also an orphan", () => {
    const k = { 'custom_domain:new.com': 'alice:site', 'alice:site': 'old.com' };
    const plan = planReap(inventoryOf(k), verdicts({ 'new.com': 'stale' }), verdicts({ 'alice:site': 'stale' }));
    expect(shape(plan)).toEqual([
      { kind: 'domain', subject: 'new.com', keys: ['custom_domain:new.com'] },
      { kind: 'orphan-reverse', subject: 'alice:site', keys: ['alice:site'] },
    ]);
  });
});

describe('planReap: the brake (DESIGN §4.6)', () => {
  /** `mapped` plain sites, the first `staleCount` of them stale, the rest live. */
  function fleet(mapped: number, staleCount: number) {
    const keys: KeyValues = {};
    const statuses: Record<string, VerdictStatus> = {};
    for (let i = 0; i < mapped; i++) {
      const domain = `site${String(i).padStart(3, '0')}.example.com`;
      Object.assign(keys, siteKeys('owner', `repo${i}`, domain));
      statuses[domain] = i < staleCount ? 'stale' : 'live';
    }
    return { inventory: inventoryOf(keys), forwardVerdicts: verdicts(statuses) };
  }

  it.each<[number, number, boolean, boolean]>([
    // mapped, stale, force, tripped
    [10, 3, false, false], // exactly 0.3 does not trip
    [10, 4, false, true],
    [10, 10, false, true],
    [20, 6, false, false],
    [20, 7, false, true],
    [30, 9, false, false],
    [9, 9, false, false], // fewer than 10 mapped never trips
    [9, 4, false, false],
    [1, 1, false, false],
    [0, 0, false, false],
    [10, 4, true, false], // force disables it
    [10, 10, true, false],
  ])('%i mapped, %i stale, force %s → tripped %s', (mapped, staleCount, force, tripped) => {
    const { inventory, forwardVerdicts } = fleet(mapped, staleCount);
    const plan = planReap(inventory, forwardVerdicts, NONE, { ...DEFAULT_BRAKE, force });
    expect(plan.brake).toEqual({
      mappedDomains: mapped,
      staleDomains: staleCount,
      ratio: mapped === 0 ? 0 : staleCount / mapped,
      maxStaleRatio: 0.3,
      minDomains: 10,
      forced: force,
      tripped,
    });
    // the plan itself is the same whether the brake trips or not; the engine refuses it
    expect(plan.groups.filter((g) => g.kind === 'domain')).toHaveLength(staleCount);
  });

  it("defaults to octoDNS's rule: more than 30% of at least 10", () => {
    expect(DEFAULT_BRAKE).toEqual({ maxStaleRatio: 0.3, minDomains: 10, force: false });
    const { inventory, forwardVerdicts } = fleet(10, 4);
    expect(planReap(inventory, forwardVerdicts, NONE).brake.tripped).toBe(true);
  });

  it.each<[BrakeOptions, number, number, boolean]>([
    [{ maxStaleRatio: 0.5, minDomains: 2, force: false }, 4, 2, false],
    [{ maxStaleRatio: 0.5, minDomains: 2, force: false }, 4, 3, true],
    [{ maxStaleRatio: 0, minDomains: 1, force: false }, 1, 1, true],
    [{ maxStaleRatio: 1, minDomains: 1, force: false }, 5, 5, false],
  ])('honours custom options %j (%i mapped, %i stale → %s)', (options, mapped, staleCount, tripped) => {
    const { inventory, forwardVerdicts } = fleet(mapped, staleCount);
    expect(planReap(inventory, forwardVerdicts, NONE, options).brake.tripped).toBe(tripped);
  });

  it('counts every mapped domain, invalid and unknown ones included, and no orphans', () => {
    const keys: KeyValues = { ...routerKeys('orphan1.com'), ...routerKeys('orphan2.com'), 'zed:old': 'gone.com' };
    const statuses: Record<string, VerdictStatus> = {};
    for (let i = 0; i < 10; i++) {
      const domain = `d${i}.com`;
      keys[`custom_domain:${domain}`] = i === 9 ? 'bad:..' : `o:r${i}`;
      statuses[domain] = i < 3 ? 'stale' : i < 6 ? 'unknown' : i === 9 ? 'invalid' : 'live';
    }
    const plan = planReap(inventoryOf(keys), verdicts(statuses), verdicts({ 'zed:old': 'stale' }));
    expect(plan.brake).toMatchObject({ mappedDomains: 10, staleDomains: 3, tripped: false });
    expect(plan.groups.length).toBe(3 + 2 + 1);
  });
});

describe('planReap: the brake on orphan reverse keys', () => {
  /** `live` live sites and `orphans` keys of the reverse shape no mapping names, all judged stale. */
  function store(live: number, orphans: number) {
    const keys: KeyValues = {};
    const statuses: Record<string, VerdictStatus> = {};
    const reverse: Record<string, VerdictStatus> = {};
    for (let i = 0; i < live; i++) {
      Object.assign(keys, siteKeys('owner', `repo${i}`, `site${i}.example.com`));
      statuses[`site${i}.example.com`] = 'live';
    }
    for (let i = 0; i < orphans; i++) {
      keys[`tenant${i}:acme`] = `acme${i}.example.com`;
      reverse[`tenant${i}:acme`] = 'stale';
    }
    return planReap(inventoryOf(keys), verdicts(statuses), verdicts(reverse));
  }

  it.each<[number, number, boolean]>([
    // live sites, orphan reverse keys, tripped
    [0, 50, true], // a cron line pointed at another application's Redis
    [12, 500, true],
    [100, 12, false],
    [20, 9, false], // fewer than 10 never trips
    [20, 10, true], // 10 of 30
    [30, 12, false], // 12 of 42: under 30%
  ])('%i live sites, %i orphan reverse keys → tripped %s', (live, orphans, tripped) => {
    const { brake } = store(live, orphans);
    expect(brake.tripped).toBe(tripped);
    expect(brake.staleDomains).toBe(0);
    if (tripped) expect(brake.orphanReverse).toEqual({ reaped: orphans, ratio: orphans / (live + orphans) });
    else expect(brake).not.toHaveProperty('orphanReverse');
  });
});

describe('planReap: guards against a registration during the run (DESIGN §4.8)', () => {
  const guardsOf = (plan: Plan, subject: string) => groupFor(plan, subject)!.guards.map((g) => [g.key, g.expected?.toString() ?? null]);

  it('guards an orphan router, middleware and redirects_meta by every forward key that would produce them, all absent', () => {
    const plan = planReap(
      inventoryOf({ ...routerKeys('my-site.com'), ...middlewareKeys('my-site.com', 0), 'redirects_meta:my-site.com': 'count=1' }),
      NONE,
      NONE,
    );
    const owners = [
      ['custom_domain:my-site-com', null],
      ['custom_domain:my-site.com', null],
      ['custom_domain:my.site-com', null],
      ['custom_domain:my.site.com', null],
    ];
    expect(guardsOf(plan, 'custom-my-site-com').sort()).toEqual(owners);
    expect(guardsOf(plan, 'redirects-my-site-com-0').sort()).toEqual(owners);
    expect(guardsOf(plan, 'redirects_meta:my-site.com')).toEqual([['custom_domain:my-site.com', null]]);
  });

  it("guards an orphan reverse key by its domain's forward key as scanned: absent, or the value that does not point back", () => {
    const plan = planReap(
      inventoryOf({ 'bob:old': 'gone.com', 'bob:moved': 'taken.com', 'custom_domain:taken.com': 'eve:site' }),
      NONE,
      verdicts({ 'bob:old': 'stale', 'bob:moved': 'stale' }),
    );
    expect(guardsOf(plan, 'bob:old')).toEqual([['custom_domain:gone.com', null]]);
    expect(guardsOf(plan, 'bob:moved')).toEqual([['custom_domain:taken.com', 'eve:site']]);
  });

  it("guards a stale domain's router by the other domains that share its name, as scanned, and not by itself", () => {
    const keys = { ...siteKeys('alice', 'a', 'a.b.com'), ...siteKeys('bob', 'b', 'a-b.com') };
    const plan = planReap(inventoryOf(keys), verdicts({ 'a.b.com': 'stale', 'a-b.com': 'stale' }), NONE);
    expect(guardsOf(plan, 'a-b.com').sort()).toEqual([
      ['custom_domain:a-b-com', null],
      ['custom_domain:a.b-com', null],
      ['custom_domain:a.b.com', 'alice:a'],
    ]);
    // The second domain's group holds no router keys: its own forward key is its guard.
    expect(groupFor(plan, 'a.b.com')!.guards).toEqual([]);
  });

  it('leaves orphans alone, and says so, when more domains could own the name than one step can check', () => {
    const inventory = inventoryOf({ ...routerKeys('a-b-c-d-e-f-g.com'), ...routerKeys('a.com') });
    const unbounded = planReap(inventory, NONE, NONE);
    expect(groupFor(unbounded, 'custom-a-b-c-d-e-f-g-com')!.guards).toHaveLength(128);

    const etcdLike = planReap(inventory, NONE, NONE, DEFAULT_BRAKE, { maxGroupSize: 128 });
    expect(groupFor(etcdLike, 'custom-a-b-c-d-e-f-g-com')).toBeUndefined();
    expect(etcdLike.kept).toContainEqual({
      subject: 'custom-a-b-c-d-e-f-g-com',
      reason: expect.stringContaining('too many domains could register this name'),
    });
    expect(groupFor(etcdLike, 'custom-a-com')!.guards).toHaveLength(2);
    for (const group of etcdLike.groups) expect(group.keys.length + group.guards.length).toBeLessThanOrEqual(128);
  });

  it('counts a key as two checks where the store compares two things per key (etcd: value and mod revision)', () => {
    // A router with many sub-keys (a site of many redirect rules): 41 of them, then 71.
    const withSubKeys = (domain: string, count: number, mapped = true) => {
      const keys = mapped ? siteKeys('alice', domain.split('.')[0], domain) : routerKeys(domain);
      for (let i = 0; i < count; i++) keys[`traefik/http/routers/custom-${domain.replaceAll('.', '-')}/extra/${i}`] = 'x';
      return keys;
    };
    const etcd = { maxGroupSize: 128, checksPerKey: 2 };
    const fits = planReap(inventoryOf(withSubKeys('fits.com', 34)), verdicts({ 'fits.com': 'stale' }), NONE, DEFAULT_BRAKE, etcd);
    const fitting = groupFor(fits, 'fits.com')!;
    expect(fitting.keys).toHaveLength(43);
    expect(2 * fitting.keys.length + fitting.guards.length).toBeLessThanOrEqual(128);

    const big = planReap(inventoryOf(withSubKeys('big.com', 64)), verdicts({ 'big.com': 'stale' }), NONE, DEFAULT_BRAKE, etcd);
    expect(names(groupFor(big, 'big.com')!)).toEqual(['alice:big', 'custom_domain:big.com']);
    expect(big.kept).toContainEqual({
      subject: 'custom-big-com',
      reason:
        'router and redirect middlewares kept: its 71 keys are more than one atomic step of this store can check and delete; left alone',
    });
    const orphaned = planReap(inventoryOf(withSubKeys('big.com', 64, false)), NONE, NONE, DEFAULT_BRAKE, etcd);
    expect(orphaned.kept).toContainEqual({
      subject: 'custom-big-com',
      reason: 'its 71 keys are more than one atomic step of this store can check and delete; left alone',
    });
  });

  it('on etcd, routers and middlewares too many for one step beside their mapping are kept for the next run (rerun), which reaps them as orphans', () => {
    const keys = siteKeys('old', 'rules', 'many.com');
    for (let n = 0; n < 20; n++) Object.assign(keys, middlewareKeys('many.com', n));
    const etcd = { maxGroupSize: 128, checksPerKey: 2 };
    const plan = planReap(inventoryOf(keys), verdicts({ 'many.com': 'stale' }), NONE, DEFAULT_BRAKE, etcd);
    expect(names(groupFor(plan, 'many.com')!)).toEqual(['old:rules', 'custom_domain:many.com']);
    expect(plan.kept).toEqual([expect.objectContaining({ subject: 'custom-many-com', rerun: true })]);

    // The next run: no mapping produces the name; the router and each middleware go in a group of their own.
    const { 'custom_domain:many.com': _forward, 'old:rules': _reverse, ...left } = keys;
    const next = planReap(inventoryOf(left), NONE, NONE, DEFAULT_BRAKE, etcd);
    expect(next.kept).toEqual([]);
    expect(next.groups.map((group) => group.kind)).toEqual(['orphan-router', ...Array(20).fill('orphan-middleware')]);
    for (const group of next.groups) expect(2 * group.keys.length + group.guards.length).toBeLessThanOrEqual(128);
  });

  it("keeps a stale domain's router, but reaps its mapping, when its name cannot be guarded", () => {
    const keys = siteKeys('alice', 'a', 'a-b-c-d-e-f-g.com');
    const plan = planReap(inventoryOf(keys), verdicts({ 'a-b-c-d-e-f-g.com': 'stale' }), NONE, DEFAULT_BRAKE, { maxGroupSize: 128 });
    expect(names(groupFor(plan, 'a-b-c-d-e-f-g.com')!)).toEqual(['alice:a', 'custom_domain:a-b-c-d-e-f-g.com']);
    expect(plan.kept.map((k) => k.subject)).toContain('custom-a-b-c-d-e-f-g-com');
  });

  it('plans a domain alone on a name of eight separators without looking up the 255 others that could give it', () => {
    // 100,000 of these at a million domains held the thread 85 s: each middleware and each
    // stale domain searched the 2^8 names its own could be, and each guard looked its name up.
    const domain = 'www.project-site-7.customer-domain-7.example.org';
    const keys = {
      ...siteKeys('alice', 'site', domain),
      ...middlewareKeys(domain, 0),
      ...siteKeys('bob', 'live', 'www.other-site.example.org'),
    };
    const inventory = inventoryOf(keys);
    const lookUps = { has: 0, get: 0 };
    const { has, get } = inventory.forwards;
    inventory.forwards.has = (d: string) => (lookUps.has++, has.call(inventory.forwards, d));
    inventory.forwards.get = (d: string) => (lookUps.get++, get.call(inventory.forwards, d));
    const plan = planReap(inventory, verdicts({ [domain]: 'stale', 'www.other-site.example.org': 'live' }), NONE);
    const guards = groupFor(plan, domain)!.guards;
    expect(lookUps.has + lookUps.get).toBeLessThan(20);
    expect(guards).toHaveLength(255);
    expect(guards.every((guard) => guard.expected === null)).toBe(true);
    expect(guards.map((g) => g.key)).toContain('custom_domain:www.project.site.7.customer.domain.7.example.org');
    expect(guards.map((g) => g.key)).not.toContain(`custom_domain:${domain}`);
    expect(names(groupFor(plan, domain)!)).toContain(
      'traefik/http/middlewares/redirects-www-project-site-7-customer-domain-7-example-org-0/redirectRegex/regex',
    );
  });

  it("a name a second scanned domain shares: the guard expects that domain's mapping, found by looking it up", () => {
    const keys = { ...siteKeys('alice', 'a', 'x.my-site.com'), ...siteKeys('bob', 'b', 'x-my.site.com') };
    const plan = planReap(inventoryOf(keys), verdicts({ 'x.my-site.com': 'stale', 'x-my.site.com': 'stale' }), NONE);
    expect(guardsOf(plan, 'x-my.site.com').sort()).toEqual([
      ['custom_domain:x-my-site-com', null],
      ['custom_domain:x-my-site.com', null],
      ['custom_domain:x-my.site-com', null],
      ['custom_domain:x.my-site-com', null],
      ['custom_domain:x.my-site.com', 'alice:a'],
      ['custom_domain:x.my.site-com', null],
      ['custom_domain:x.my.site.com', null],
    ]);
  });

  it('hydration builds the guards only when they are read', () => {
    const plan = planReap(inventoryOf(siteKeys('alice', 'a', 'a-b.com')), verdicts({ 'a-b.com': 'stale' }), NONE);
    const group = plan.groups[0];
    let reads = 0;
    const counted = Object.defineProperty({ ...group }, 'guards', { get: () => (reads++, group.guards), enumerable: true });
    const read = new Map(keysToHydrate(plan).map((key): [string, StoredEntry] => [key, { key, type: 'string', value: Buffer.from('v') }]));
    const hydrated = hydratePlan({ ...plan, groups: [counted] }, read).groups[0];
    expect(reads).toBe(0);
    expect(hydrated.guards.map((g) => g.key).sort()).toEqual(['custom_domain:a-b-com', 'custom_domain:a.b-com', 'custom_domain:a.b.com']);
    expect(reads).toBe(1);
  });

  it("finds each stale domain's group by its name, in a plan as planned and in any other order", () => {
    const keys = {
      ...siteKeys('a', 'a', 'b.com'),
      ...siteKeys('a', 'b', 'a.com'),
      ...siteKeys('a', 'c', 'c.com'),
      ...routerKeys('orphan.com'),
    };
    const { 'custom_domain:orphan.com': _none, ...withOrphan } = keys;
    const plan = planReap(inventoryOf(withOrphan), verdicts({ 'a.com': 'stale', 'b.com': 'stale', 'c.com': 'live' }), NONE);
    expect(plan.groups.map((g) => g.subject)).toEqual(['a.com', 'b.com', 'custom-orphan-com']);
    const asPlanned = groupIndexByDomain(plan);
    expect([asPlanned.get('a.com'), asPlanned.get('b.com'), asPlanned.get('c.com'), asPlanned.get('custom-orphan-com')]).toEqual([
      0,
      1,
      undefined,
      undefined,
    ]);
    const reordered = groupIndexByDomain({ ...plan, groups: [plan.groups[2], plan.groups[1], plan.groups[0]] });
    expect([reordered.get('a.com'), reordered.get('b.com'), reordered.get('zz.com')]).toEqual([2, 1, undefined]);
  });

  it('hydration keeps the guards', () => {
    const keys = routerKeys('x.com');
    const plan = planReap(inventoryOf(keys), NONE, NONE);
    const read = new Map(
      keysToHydrate(plan).map((key): [string, StoredEntry] => [key, { key, type: 'string', value: Buffer.from(keys[key]) }]),
    );
    expect(hydratePlan(plan, read).groups[0].guards).toEqual(plan.groups[0].guards);
  });

  it("an orphan router whose rule or service the plugin never writes is not the plugin's: kept, said why", () => {
    const operators = {
      ...routerKeys('traefik.example.com'),
      'traefik/http/routers/custom-traefik-example-com/service': 'api@internal',
    };
    const renamed = Object.fromEntries(
      Object.entries(operators).map(([key, value]) => [key.replace('custom-traefik-example-com', 'custom-dashboard'), value]),
    );
    const leftover = routerKeys('gone.example.com');
    // What the old script left of a router: no rule, no service.
    delete leftover['traefik/http/routers/custom-gone-example-com/rule'];
    delete leftover['traefik/http/routers/custom-gone-example-com/service'];
    const all: Record<string, string> = { ...renamed, ...operators, ...leftover };
    const plan = planReap(inventoryOf(all), NONE, NONE);
    const read = new Map(
      keysToHydrate(plan).map((key): [string, StoredEntry] => [key, { key, type: 'string', value: Buffer.from(all[key]) }]),
    );
    const hydrated = hydratePlan(plan, read);
    expect(hydrated.groups.map((group) => group.subject)).toEqual(['custom-gone-example-com']);
    expect(hydrated.kept).toEqual(
      expect.arrayContaining([
        { subject: 'custom-dashboard', reason: 'its rule is Host(`traefik.example.com`): not a router the plugin wrote; left alone' },
        { subject: 'custom-traefik-example-com', reason: 'its service is api@internal: not a router the plugin wrote; left alone' },
      ]),
    );
  });
});

describe('keyCountOf', () => {
  it("counts every group's keys as reading them gives, a stale domain's without building them, with values or without", () => {
    const keys: KeyValues = {
      // routers, an extra interned sub-key and one outside the table, two middlewares, redirects_meta, its reverse key
      ...siteKeys('alice', 'site', 'full.example.com'),
      'traefik/http/routers/custom-full-example-com/middlewares/1': 'redirects-full-example-com-0@redis',
      'traefik/http/routers/custom-full-example-com/observability/accessLogs': 'true',
      ...middlewareKeys('full.example.com', 0),
      ...middlewareKeys('full.example.com', 1),
      'redirects_meta:full.example.com': 'count=2',
      // no router, no reverse key
      'custom_domain:bare.example.com': 'bob:bare',
      // a branch mapping with its branch reverse key
      'custom_domain:dev.branch.example.com': 'carol:site:dev',
      'carol:site:dev': 'dev.branch.example.com',
      ...routerKeys('dev.branch.example.com'),
      // two domains of one Traefik name, both stale
      ...siteKeys('dan', 'a', 'a-b.example.com'),
      ...siteKeys('dan', 'b', 'a.b.example.com'),
      // a reverse key naming another domain: not this domain's
      'custom_domain:moved.example.com': 'erin:site',
      'erin:site': 'elsewhere.example.com',
      // orphans: a router, a middleware, a redirects_meta
      ...routerKeys('gone.example.com'),
      ...middlewareKeys('gone.example.com', 0),
      'redirects_meta:gone.example.com': 'count=1',
    };
    const stale = ['full', 'bare', 'dev.branch', 'a-b', 'a.b', 'moved'].map((name) => `${name}.example.com`);
    const plan = planReap(inventoryOf(keys), verdicts(Object.fromEntries(stale.map((domain) => [domain, 'stale' as const]))), NONE);
    expect(
      plan.groups
        .filter((group) => group.kind === 'domain')
        .map((group) => group.subject)
        .sort(),
    ).toEqual([...stale].sort());
    expect(plan.groups.some((group) => group.kind !== 'domain')).toBe(true);
    for (const group of plan.groups) expect([group.subject, keyCountOf(group)]).toEqual([group.subject, group.keys.length]);
    // nine router keys, six of two middlewares, redirects_meta, the reverse key, the forward key
    expect(keyCountOf(groupFor(plan, 'full.example.com')!)).toBe(18);
    const namesOnly = plan.groups.map(withoutValues);
    for (const group of namesOnly) expect([group.subject, keyCountOf(group)]).toEqual([group.subject, group.keys.length]);
  });
});

/**
 * The webhook trigger's pure parts: the signature, what a delivery asks for, the bounded
 * queue with its window, and the targeted inventory (built without a keyspace scan).
 */
import { createHmac } from 'node:crypto';
import { planReap } from '../../src/core/planner';
import { stale } from '../../src/core/verdict';
import type { KeyValueStore, StoredEntry } from '../../src/ports/key-value-store';
import { interpretDelivery } from '../../src/triggers/deliveries';
import { RepoIndex } from '../../src/triggers/repo-index';
import { signatureMatches } from '../../src/triggers/signature';
import { collectTargets, targetedScope } from '../../src/triggers/targeted-scope';
import { TriggerQueue } from '../../src/triggers/trigger-queue';
import { inventoryOf } from './fixtures';

const secret = Buffer.from('s3cret');
const hmac = (body: string | Buffer, key: Buffer | string = secret) => createHmac('sha256', key).update(body).digest('hex');

describe('signatureMatches', () => {
  const body = Buffer.from('{"action":"deleted"}');
  it('accepts the hex HMAC-SHA256 of the exact bytes, in either case', () => {
    expect(signatureMatches(secret, body, hmac(body))).toBe(true);
    expect(signatureMatches(secret, body, hmac(body).toUpperCase())).toBe(true);
  });
  it('refuses a missing, short, prefixed or foreign signature, and one over other bytes', () => {
    expect(signatureMatches(secret, body, undefined)).toBe(false);
    expect(signatureMatches(secret, body, '')).toBe(false);
    expect(signatureMatches(secret, body, hmac(body).slice(2))).toBe(false);
    expect(signatureMatches(secret, body, `sha256=${hmac(body)}`)).toBe(false);
    expect(signatureMatches(secret, body, hmac(body, 'other'))).toBe(false);
    expect(signatureMatches(secret, body, hmac('{"action": "deleted"}'))).toBe(false);
  });
});

describe('interpretDelivery', () => {
  const repository = { name: 'site', full_name: 'alice/site', owner: { login: 'alice' }, default_branch: 'main' };
  const push = (ref: string, commits: object[], extra: object = {}) =>
    interpretDelivery('push', {
      ref,
      before: 'a'.repeat(40),
      after: 'b'.repeat(40),
      commits,
      total_commits: commits.length,
      repository,
      ...extra,
    });

  it('a repository event names the whole repository, whatever its action', () => {
    expect(interpretDelivery('repository', { action: 'deleted', repository })).toEqual({
      kind: 'trigger',
      target: { owner: 'alice', repo: 'site' },
    });
    expect(interpretDelivery('repository', { action: 'created', repository })).toEqual({
      kind: 'trigger',
      target: { owner: 'alice', repo: 'site' },
    });
  });
  it('a push to the default branch counts only when a commit touches .pages, or the list may hide one', () => {
    expect(push('refs/heads/main', [{ modified: ['.pages'] }])).toEqual({
      kind: 'trigger',
      target: { owner: 'alice', repo: 'site', pagesWritten: true },
    });
    expect(push('refs/heads/main', [{ removed: ['.pages'] }])).toMatchObject({ kind: 'trigger' });
    expect(push('refs/heads/main', [{ added: ['docs/.pages'], modified: ['index.html'] }])).toMatchObject({ kind: 'ignored' });
    expect(push('refs/heads/main', [{ modified: ['index.html'] }], { total_commits: 30 })).toMatchObject({ kind: 'trigger' });
    expect(push('refs/heads/main', [])).toMatchObject({ kind: 'trigger' }); // a force push
    expect(push('refs/tags/v1', [{ modified: ['.pages'] }])).toMatchObject({ kind: 'ignored' });
  });
  it('a push to the default branch says whether its last commit touching .pages wrote it', () => {
    const written = (commits: object[], extra: object = {}) => {
      const interpretation = push('refs/heads/main', commits, extra);
      return interpretation.kind === 'trigger' ? interpretation.target.pagesWritten : 'not a trigger';
    };
    expect(written([{ added: ['.pages'] }])).toBe(true);
    expect(written([{ modified: ['.pages'] }, { modified: ['index.html'] }])).toBe(true);
    expect(written([{ removed: ['.pages'] }, { added: ['.pages'] }])).toBe(true);
    expect(written([{ added: ['.pages'] }, { removed: ['.pages'] }])).toBeUndefined();
    // A list cut short, or a force push: it does not say.
    expect(written([{ modified: ['.pages'] }], { total_commits: 30 })).toBeUndefined();
    expect(written([])).toBeUndefined();
    // Another branch's .pages is not the one the reaper reads.
    const other = push('refs/heads/dev', [{ added: ['.pages'] }]);
    expect(other.kind === 'trigger' && other.target.pagesWritten).toBeFalsy();
  });

  it('a push to another branch, or its deletion, names that branch only', () => {
    expect(push('refs/heads/dev', [{ added: ['.pages'] }])).toEqual({
      kind: 'trigger',
      target: { owner: 'alice', repo: 'site', branches: ['dev'] },
    });
    expect(push('refs/heads/dev', [], { after: '0'.repeat(40) })).toEqual({
      kind: 'trigger',
      target: { owner: 'alice', repo: 'site', branches: ['dev'] },
    });
  });
  it('a delete event names the branch; a tag is ignored', () => {
    expect(interpretDelivery('delete', { ref: 'feature/x', ref_type: 'branch', repository })).toEqual({
      kind: 'trigger',
      target: { owner: 'alice', repo: 'site', branches: ['feature/x'] },
    });
    expect(interpretDelivery('delete', { ref: 'v1', ref_type: 'tag', repository })).toMatchObject({ kind: 'ignored' });
  });
  it('names Forgejo cannot have, or no repository, are malformed (never a key name)', () => {
    expect(interpretDelivery('repository', { action: 'deleted', repository: { ...repository, name: '..' } })).toMatchObject({
      kind: 'malformed',
    });
    expect(interpretDelivery('repository', { action: 'deleted', repository: { ...repository, owner: { login: 'a:b' } } })).toMatchObject({
      kind: 'malformed',
    });
    expect(interpretDelivery('delete', { ref: 'a..b', ref_type: 'branch', repository })).toMatchObject({ kind: 'malformed' });
    expect(interpretDelivery('push', [1, 2])).toMatchObject({ kind: 'malformed' });
    expect(interpretDelivery('repository', { action: 'deleted' })).toMatchObject({ kind: 'malformed' });
  });
});

describe('TriggerQueue', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('merges deliveries per repository (case-insensitively); a whole-repository delivery absorbs branches', () => {
    const queue = new TriggerQueue({ capacity: 10, windowMs: 5000, now: clock });
    expect(queue.offer({ owner: 'alice', repo: 'site', branches: ['dev'] })).toBe('queued');
    expect(queue.offer({ owner: 'Alice', repo: 'Site', branches: ['next'] })).toBe('deduplicated');
    expect([...queue.takeReady(10)[0].branches!]).toEqual(['dev', 'next']);
    now += 10_000;
    queue.offer({ owner: 'alice', repo: 'site', branches: ['dev'] });
    queue.offer({ owner: 'alice', repo: 'site' });
    queue.offer({ owner: 'alice', repo: 'site', branches: ['next'] });
    const [item] = queue.takeReady(10);
    expect(item.branches).toBeUndefined();
    expect(item.deliveries).toBe(3);
  });

  it('verifies a repository at most once per window, and refuses new repositories beyond its capacity', () => {
    const queue = new TriggerQueue({ capacity: 2, windowMs: 5000, now: clock });
    queue.offer({ owner: 'a', repo: 'one' });
    expect(queue.takeReady(10)).toHaveLength(1);
    expect(queue.offer({ owner: 'a', repo: 'one' })).toBe('queued');
    expect(queue.takeReady(10)).toHaveLength(0);
    expect(queue.nextReadyIn()).toBe(5000);
    expect(queue.offer({ owner: 'a', repo: 'two' })).toBe('queued');
    expect(queue.offer({ owner: 'a', repo: 'three' })).toBe('queue_full');
    expect(queue.offer({ owner: 'a', repo: 'two' })).toBe('deduplicated');
    expect(queue.takeReady(10).map((item) => item.repo)).toEqual(['two']);
    now += 5000;
    expect(queue.takeReady(10).map((item) => item.repo)).toEqual(['one']);
    expect(queue.size).toBe(0);
  });
});

/** A store that answers getMany from a record and refuses to scan. */
function readOnlyStore(record: Record<string, string>): KeyValueStore & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    describe: () => 'memory',
    scan: () => {
      throw new Error('a trigger must not scan the keyspace');
    },
    getMany: async (keys: string[]) => {
      reads.push(...keys);
      return keys.map((key): StoredEntry | undefined =>
        key in record ? { key, type: 'string', value: Buffer.from(record[key]) } : undefined,
      );
    },
    putMany: async () => [],
    deleteGroupsIfUnchanged: async () => [],
    roundTrips: () => 0,
    close: async () => {},
  };
}

const router = (domain: string) => {
  const prefix = `traefik/http/routers/custom-${domain.replaceAll('.', '-')}/`;
  return { [`${prefix}rule`]: `Host(\`${domain}\`)`, [`${prefix}entryPoints/0`]: 'web', [`${prefix}service`]: 'noop@internal' };
};

describe('collectTargets', () => {
  const record = {
    'custom_domain:a.b.com': 'alice:site',
    'alice:site': 'a.b.com',
    ...router('a.b.com'),
    // Another repository's domain with the same router name.
    'custom_domain:a-b.com': 'bob:other',
    'bob:other': 'a-b.com',
    'custom_domain:dev.a.b.com': 'alice:site:dev',
    'alice:site:branch:dev': 'dev.a.b.com',
    ...router('dev.a.b.com'),
    'unrelated:key': 'x',
  };

  it('finds a repository’s mappings from its reverse key and the index, verifies only those, and keeps a shared router', async () => {
    const store = readOnlyStore(record);
    const index = new RepoIndex();
    index.rebuild(inventoryOf(record));
    const verified: string[] = [];
    const inventory = await collectTargets(store, 'traefik', [{ owner: 'alice', repo: 'site' }], index, (m) => verified.push(m.domain));
    expect(verified.sort()).toEqual(['a.b.com', 'dev.a.b.com']);
    expect([...inventory.forwards.keys()].sort()).toEqual(['a-b.com', 'a.b.com', 'dev.a.b.com']);
    expect([...inventory.reverses].map((r) => r.key).sort()).toEqual(['alice:site', 'alice:site:branch:dev']);
    expect(store.reads).not.toContain('unrelated:key');
    const verdicts = new Map([
      ['a.b.com', stale('repository not found')],
      ['dev.a.b.com', stale('repository not found')],
    ]);
    const plan = planReap(inventory, verdicts, new Map());
    const domainGroup = plan.groups.find((g) => g.subject === 'a.b.com')!;
    expect(domainGroup.keys.map((k) => k.key)).toEqual(['alice:site', 'custom_domain:a.b.com']);
    expect(plan.kept).toContainEqual({ subject: 'custom-a-b-com', reason: expect.stringMatching(/a-b\.com uses the same name/) });
    const branchGroup = plan.groups.find((g) => g.subject === 'dev.a.b.com')!;
    expect(branchGroup.keys.map((k) => k.key)).toEqual([
      ...Object.keys(router('dev.a.b.com')).sort(),
      'alice:site:branch:dev',
      'custom_domain:dev.a.b.com',
    ]);
  });

  it('a branch delivery reads only that branch; a repository the store does not know costs one key read and no verification', async () => {
    const verified: string[] = [];
    await collectTargets(
      readOnlyStore(record),
      'traefik',
      [{ owner: 'alice', repo: 'site', branches: new Set(['dev']) }],
      new RepoIndex(),
      (m) => verified.push(m.domain),
    );
    expect(verified).toEqual(['dev.a.b.com']);
    const store = readOnlyStore(record);
    const none: string[] = [];
    const inventory = await collectTargets(store, 'traefik', [{ owner: 'zed', repo: 'nothing' }], new RepoIndex(), (m) =>
      none.push(m.domain),
    );
    expect(none).toEqual([]);
    expect(store.reads).toEqual(['zed:nothing']);
    expect(inventory.forwards.size).toBe(0);
  });

  it('a delivery spelling the repository as Forgejo does finds the reverse key the plugin spelled from a lower-cased host', async () => {
    const written = {
      'custom_domain:late.test': 'late:site',
      'late:site': 'late.test',
      'custom_domain:typed.test': 'late:Site',
      'late:Site': 'typed.test',
    };
    const verified: string[] = [];
    const store = readOnlyStore(written);
    // Registered since the last sweep: the index does not know them.
    await collectTargets(store, 'traefik', [{ owner: 'Late', repo: 'Site' }], new RepoIndex(), (m) => verified.push(m.domain));
    expect(verified.sort()).toEqual(['late.test', 'typed.test']);
    expect(store.reads).toEqual(expect.arrayContaining(['Late:Site', 'late:Site', 'late:site']));
  });

  it('the brake measures against the whole store and counts what triggers reaped since the sweep', () => {
    const index = new RepoIndex();
    index.rebuild(inventoryOf(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`custom_domain:s${i}.example.com`, `o:r${i}`]))));
    const brake = { maxStaleRatio: 0.3, minDomains: 10, force: false };
    const plan = {
      groups: [],
      kept: [],
      brake: { mappedDomains: 2, staleDomains: 2, ratio: 1, maxStaleRatio: 0.3, minDomains: 10, forced: false, tripped: false },
    };
    expect(targetedScope({ targets: [], index, brake, reapedSinceSweep: 0 }).brake!(plan)).toMatchObject({
      mappedDomains: 20,
      staleDomains: 2,
      tripped: false,
    });
    expect(targetedScope({ targets: [], index, brake, reapedSinceSweep: 5 }).brake!(plan)).toMatchObject({
      mappedDomains: 20,
      staleDomains: 7,
      tripped: true,
    });
  });

  it('after a refused sweep the brake holds any run with something to delete, unless forced', () => {
    const index = new RepoIndex();
    index.rebuild(inventoryOf(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`custom_domain:s${i}.example.com`, `o:r${i}`]))));
    const brake = { maxStaleRatio: 0.3, minDomains: 10, force: false };
    const result = { mappedDomains: 1, staleDomains: 1, ratio: 1, maxStaleRatio: 0.3, minDomains: 10, forced: false, tripped: false };
    const oneStale = { groups: [{} as never], kept: [], brake: result };
    const nothing = { groups: [], kept: [], brake: { ...result, staleDomains: 0, ratio: 0 } };
    const scope = (options: { sweepRefused: boolean; force?: boolean }) =>
      targetedScope({ targets: [], index, brake: { ...brake, force: options.force ?? false }, reapedSinceSweep: 0, ...options });
    expect(scope({ sweepRefused: false }).brake!(oneStale)).toMatchObject({ staleDomains: 1, tripped: false });
    expect(scope({ sweepRefused: true }).brake!(oneStale)).toMatchObject({ staleDomains: 1, tripped: true, sweepRefused: true });
    expect(scope({ sweepRefused: true }).brake!(nothing)).toMatchObject({ tripped: false });
    expect(scope({ sweepRefused: true }).brake!(nothing).sweepRefused).toBeUndefined();
    expect(scope({ sweepRefused: true, force: true }).brake!(oneStale)).toMatchObject({ tripped: false });
  });
});

describe('RepoIndex', () => {
  it('lists a repository’s domains with their branches, whatever characters they hold, short lists and long ones alike', () => {
    const record: Record<string, string> = {
      'custom_domain:a.com': 'alice:site',
      'custom_domain:dev.a.com': 'alice:site:dev',
      'custom_domain:odd:1:x.com': 'alice:site:feature/1',
      'alice:site': 'a.com',
      'custom_domain:b.com': 'bob:blog',
    };
    // 3,000 domains of one repository: a list kept as a Map.
    for (let i = 0; i < 3_000; i++) record[`custom_domain:p${i}.pages.example.com`] = `carol:many:b${i}`;
    const index = new RepoIndex();
    index.rebuild(inventoryOf(record));
    expect(index.repositories).toBe(3);
    expect(index.mappedDomains()).toBe(3_004);
    expect(index.domains('Alice', 'SITE').sort()).toEqual(['a.com', 'dev.a.com', 'odd:1:x.com']);
    expect(index.domains('alice', 'site', new Set(['feature/1']))).toEqual(['odd:1:x.com']);
    expect(index.domains('alice', 'site', new Set(['']))).toEqual(['a.com']);
    expect(index.domains('bob', 'blog')).toEqual(['b.com']);
    expect(index.domains('carol', 'many')).toHaveLength(3_000);
    expect(index.domains('carol', 'many', new Set(['b2999']))).toEqual(['p2999.pages.example.com']);
    expect(index.domains('nobody', 'here')).toEqual([]);
  });
});

import { GRACE_MARK_PREFIX } from '../../src/core/keys';
import type { StoredEntry } from '../../src/ports/key-value-store';
import { isSelected, mayBeSelected, registrationOf, type Selection } from '../../src/core/selection';
import { middlewareKeys, routerKeys, siteKeys, type KeyValues } from './fixtures';

const entry = (key: string, value: string | Buffer): StoredEntry => ({ key, type: 'string', value: Buffer.from(value) });

// Two sites, a branch subdomain of the first, a redirect middleware each, their redirects_meta,
// a grace mark, a content-cache key, and a domain whose router name is the first one's.
const STORE: KeyValues = {
  ...siteKeys('alice', 'blog', 'blog.example.org'),
  'alice:blog:branch:dev': 'dev.blog.example.org',
  'custom_domain:dev.blog.example.org': 'alice:blog:branch:dev',
  ...routerKeys('dev.blog.example.org'),
  ...middlewareKeys('blog.example.org', 0),
  'redirects_meta:blog.example.org': '1',
  ...siteKeys('bob', 'shop', 'shop.example.net'),
  ...middlewareKeys('shop.example.net', 0),
  'redirects_meta:shop.example.net': '1',
  [`${GRACE_MARK_PREFIX}blog.example.org`]: '1700000000000',
  'alice:blog:main:public/index.html': '<html>',
  'custom_domain:blog-example.org': 'carol:other',
  'carol:other': 'blog-example.org',
};

function selected(selection: Selection): { read: string[]; kept: string[] } {
  const read = Object.keys(STORE).filter((key) => mayBeSelected(key, selection, 'traefik'));
  const kept = read.filter((key) => isSelected(entry(key, STORE[key]), selection, 'traefik'));
  return { read: read.sort(), kept: kept.sort() };
}

const names = (keyValues: KeyValues): string[] => Object.keys(keyValues);

describe('selecting a domain’s key set', () => {
  it('reads only the keys its name may own and every reverse key; keeps the reverse keys that name it', () => {
    const { read, kept } = selected({ kind: 'domains', domains: ['blog.example.org'] });
    const own = [
      'custom_domain:blog.example.org',
      'alice:blog',
      // blog-example.org's router is custom-blog-example-org too: a shared router is in both sets.
      ...names(routerKeys('blog.example.org')),
      ...names(middlewareKeys('blog.example.org', 0)),
      'redirects_meta:blog.example.org',
    ].sort();
    expect(kept).toEqual(own);
    const reverseKeys = ['alice:blog', 'alice:blog:branch:dev', 'bob:shop', 'carol:other'];
    expect(read).toEqual([...new Set([...own, ...reverseKeys])].sort());
    // Not read at all: other domains' forward, router, middleware and meta keys, grace marks, the content cache.
    for (const key of [
      'custom_domain:shop.example.net',
      ...names(routerKeys('shop.example.net')),
      ...names(middlewareKeys('shop.example.net', 0)),
      'redirects_meta:shop.example.net',
      'custom_domain:dev.blog.example.org',
      ...names(routerKeys('dev.blog.example.org')),
      `${GRACE_MARK_PREFIX}blog.example.org`,
      'alice:blog:main:public/index.html',
    ])
      expect(read).not.toContain(key);
  });

  it('a branch subdomain is its own set: its forward key, its router and the branch reverse key', () => {
    const { kept } = selected({ kind: 'domains', domains: ['dev.blog.example.org'] });
    expect(kept).toEqual(
      ['custom_domain:dev.blog.example.org', 'alice:blog:branch:dev', ...names(routerKeys('dev.blog.example.org'))].sort(),
    );
  });

  it('several domains: the union of their sets; a domain with no keys adds nothing', () => {
    const both = selected({ kind: 'domains', domains: ['blog.example.org', 'shop.example.net', 'none.example.com'] }).kept;
    const one = (domain: string) => selected({ kind: 'domains', domains: [domain] }).kept;
    expect(both).toEqual([...one('blog.example.org'), ...one('shop.example.net')].sort());
    expect(one('none.example.com')).toEqual([]);
  });

  it('under another root key, the routers and middlewares of that root', () => {
    const keys: KeyValues = { 'custom_domain:a.example.com': 'o:r', 'o:r': 'a.example.com', ...routerKeys('a.example.com', 'edge') };
    const selection: Selection = { kind: 'domains', domains: ['a.example.com'] };
    const chosen = (rootKey: string) =>
      Object.keys(keys).filter((key) => mayBeSelected(key, selection, rootKey) && isSelected(entry(key, keys[key]), selection, rootKey));
    expect(chosen('edge').sort()).toEqual(Object.keys(keys).sort());
    expect(chosen('traefik').sort()).toEqual(['custom_domain:a.example.com', 'o:r']);
  });
});

describe('a domain outside ASCII (bücher.test): its reverse key goes with it', () => {
  const keys: KeyValues = { ...siteKeys('alice', 'old', 'bücher.test'), 'app:greeting': 'hello wörld', 'app:host': 'ünïcode' };

  it('in a backup of the domain, and of the plugin keys', () => {
    const chosen = (selection: Selection) =>
      Object.keys(keys)
        .filter((key) => mayBeSelected(key, selection, 'traefik') && isSelected(entry(key, keys[key]), selection, 'traefik'))
        .sort();
    const own = names(siteKeys('alice', 'old', 'bücher.test')).sort();
    expect(own).toContain('alice:old');
    expect(chosen({ kind: 'domains', domains: ['bücher.test'] })).toEqual(own);
    // Values that are no host name, in any script, are not the plugin's.
    expect(chosen({ kind: 'plugin' })).toEqual(own);
  });

  it('in a restore: the registration of its router name, so a registration taken since keeps it out too', () => {
    for (const key of Object.keys(keys)) {
      const registration = registrationOf(entry(key, keys[key]), 'traefik');
      expect([key, registration]).toEqual([key, key.startsWith('app:') ? undefined : 'bücher-test']);
    }
  });
});

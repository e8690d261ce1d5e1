import { formatTarget, forwardValue, parseForwardValue, repoId, type RepoTarget } from '../../src/core/mapping';

describe('parseForwardValue', () => {
  describe('valid values', () => {
    it.each<[string, RepoTarget]>([
      ['alice:site', { owner: 'alice', repo: 'site' }],
      ['Alice:My.Site', { owner: 'Alice', repo: 'My.Site' }],
      ['org-1:repo_2', { owner: 'org-1', repo: 'repo_2' }],
      ['alice:site:stage', { owner: 'alice', repo: 'site', branch: 'stage' }],
      ['alice:site:feature/x', { owner: 'alice', repo: 'site', branch: 'feature/x' }],
      ['alice:site:release_v1.0', { owner: 'alice', repo: 'site', branch: 'release_v1.0' }],
    ])('%j', (value, target) => {
      expect(parseForwardValue(value)).toEqual({ ok: true, target });
    });

    it('has no branch property at all for a plain mapping', () => {
      const parsed = parseForwardValue('alice:site');
      expect(parsed.ok && 'branch' in parsed.target).toBe(false);
    });
  });

  describe('invalid values, with a reason a person can read', () => {
    it.each<[string, RegExp]>([
      ['alice', /Invalid mapping format 'alice' \(expected owner:repo or owner:repo:branch\)/],
      ['', /Invalid mapping format ''/],
      ['a:b:c:d', /Invalid mapping format 'a:b:c:d'/],
      ['alice:site:branch:stage', /Invalid mapping format/],
      [':site', /Invalid owner name '' in ':site'/],
      ['..:site', /Invalid owner name '\.\.' in '\.\.:site'/],
      ['.:site', /Invalid owner name '\.'/],
      ['a/b:site', /Invalid owner name 'a\/b'/],
      ['alice:', /Invalid repository name '' in 'alice:'/],
      ['alice:..', /Invalid repository name '\.\.'/],
      ['alice:../etc', /Invalid repository name '\.\.\/etc'/],
      ['alice:a/b', /Invalid repository name 'a\/b'/],
      ['alice:si te', /Invalid repository name 'si te'/],
      ['alice:site:', /Invalid branch name '' in 'alice:site:'/],
      ['alice:site:..', /Invalid branch name '\.\.'/],
      ['alice:site:a..b', /Invalid branch name 'a\.\.b'/],
      ['alice:site:/x', /Invalid branch name '\/x'/],
      ['alice:site:x/', /Invalid branch name 'x\/'/],
      ['alice:site:a b', /Invalid branch name 'a b'/],
    ])('%j', (value, reason) => {
      const parsed = parseForwardValue(value);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.reason).toMatch(reason);
    });
  });
});

describe('formatTarget', () => {
  it.each<[RepoTarget, string]>([
    [{ owner: 'alice', repo: 'site' }, 'alice/site'],
    [{ owner: 'alice', repo: 'site', branch: 'feature/x' }, 'alice/site (branch feature/x)'],
  ])('%j → %s', (target, text) => {
    expect(formatTarget(target)).toBe(text);
  });
});

describe('forwardValue', () => {
  it.each<[RepoTarget, string]>([
    [{ owner: 'alice', repo: 'site' }, 'alice:site'],
    [{ owner: 'alice', repo: 'site', branch: 'stage' }, 'alice:site:stage'],
    [{ owner: 'alice', repo: 'site', branch: 'feature/x' }, 'alice:site:feature/x'],
  ])('%j → %s', (target, value) => {
    expect(forwardValue(target)).toBe(value);
  });

  it.each(['alice:site', 'alice:site:stage', 'Org:Repo.x:feature/a-b'])('round-trips %s through parseForwardValue', (value) => {
    const parsed = parseForwardValue(value);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(forwardValue(parsed.target)).toBe(value);
  });
});

describe('repoId', () => {
  it.each<[string, string, string]>([
    ['alice', 'site', 'alice/site'],
    ['Alice', 'Site', 'alice/site'],
    ['ALICE', 'my.SITE', 'alice/my.site'],
  ])('%s/%s → %s', (owner, repo, id) => {
    expect(repoId(owner, repo)).toBe(id);
  });

  it('keeps owner and repository apart', () => {
    expect(repoId('a', 'b-c')).not.toBe(repoId('a-b', 'c'));
  });
});

import { startForgejoStandin } from '../support/forgejo-standin';

type Standin = Awaited<ReturnType<typeof startForgejoStandin>>;

const PAGES = 'domain: blog.example.org\nbranch: pages\n';

describe('Forgejo stand-in', () => {
  let standin: Standin;

  beforeEach(async () => {
    standin = await startForgejoStandin();
    standin.setRepo('Alice', 'Blog', { pages: PAGES, branches: ['main', 'pages', 'release/v1'] });
    standin.setRepo('alice', 'bare', {});
  });

  afterEach(() => standin.close());

  const get = (path: string, init: RequestInit = {}) => fetch(`${standin.url}${path}`, init);

  it('serves a repository case-insensitively with Forgejo fields', async () => {
    const res = await get('/api/v1/repos/ALICE/blog');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      name: 'Blog',
      full_name: 'Alice/Blog',
      owner: { login: 'Alice' },
      default_branch: 'main',
      private: false,
      html_url: `${standin.url}/Alice/Blog`,
    });
    expect(typeof body.id).toBe('number');
  });

  it('serves .pages as base64 contents', async () => {
    const res = await get('/api/v1/repos/alice/blog/contents/.pages?ref=main');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body).toMatchObject({
      name: '.pages',
      path: '.pages',
      type: 'file',
      encoding: 'base64',
      size: Buffer.byteLength(PAGES),
      target: null,
      submodule_git_url: null,
    });
    expect(body.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(body._links).toEqual({ self: body.url, git: body.git_url, html: body.html_url });
    expect(Buffer.from(body.content, 'base64').toString('utf8')).toBe(PAGES);
  });

  it("answers both Forgejo 404 bodies, its web pages' 404 and the API version", async () => {
    const noRepo = await get('/api/v1/repos/alice/nope/contents/.pages');
    expect(noRepo.status).toBe(404);
    expect(await noRepo.json()).toEqual({
      errors: [],
      message: "The target couldn't be found.",
      url: `${standin.url}/api/swagger`,
    });

    const noFile = await get('/api/v1/repos/alice/bare/contents/.pages');
    expect(noFile.status).toBe(404);
    expect(await noFile.json()).toEqual({
      errors: ['object does not exist [id: , rel_path: .pages]'],
      message: 'GetContentsOrList',
      url: `${standin.url}/api/swagger`,
    });

    const other = await get('/api/v1/settings/api');
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ message: 'not found' });

    // Outside the API, Forgejo's web pages: a path it does not know is an HTML page.
    const page = await get('/sub/path/api/v1/repos/alice/bare/contents/.pages');
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);

    const version = await get('/api/v1/version');
    expect(version.status).toBe(200);
    expect(await version.json()).toEqual({ version: expect.any(String) });
  });

  it('follows setPages and deleteRepo', async () => {
    standin.setPages('alice', 'bare', 'domain: x.example\n');
    expect((await get('/api/v1/repos/alice/bare/contents/.pages')).status).toBe(200);
    standin.setPages('alice', 'bare', undefined);
    expect((await get('/api/v1/repos/alice/bare/contents/.pages')).status).toBe(404);
    standin.deleteRepo('alice', 'bare');
    expect((await get('/api/v1/repos/alice/bare')).status).toBe(404);
  });

  it('redirects a renamed repository with 301', async () => {
    standin.renameRepo('alice', 'blog', 'Bob', 'Journal');
    const res = await get('/api/v1/repos/alice/blog/contents/.pages?ref=main', { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/api/v1/repos/Bob/Journal/contents/.pages?ref=main');

    const followed = await get('/api/v1/repos/alice/blog/contents/.pages');
    expect(followed.status).toBe(200);
    expect(followed.url).toBe(`${standin.url}/api/v1/repos/Bob/Journal/contents/.pages`);
  });

  it('serves branches whose names contain slashes', async () => {
    for (const path of ['release/v1', 'release%2Fv1']) {
      const res = await get(`/api/v1/repos/alice/blog/branches/${path}`);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ name: 'release/v1', protected: false });
      expect(body.commit.id).toMatch(/^[0-9a-f]{40}$/);
    }

    const missing = await get('/api/v1/repos/alice/blog/branches/gone');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      errors: [],
      message: 'branch does not exist [name: gone]',
      url: `${standin.url}/api/swagger`,
    });
  });

  it('applies a failure rule the given number of times, then answers normally', async () => {
    standin.addFailure({ match: '/contents/', status: 502, times: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await get('/api/v1/repos/alice/blog/contents/.pages')).status);
    expect(statuses).toEqual([502, 502, 200]);
    expect(standin.requestLog.map((e) => e.status)).toEqual([502, 502, 200]);
  });

  it('sends Retry-After and Forgejo-like 5xx bodies', async () => {
    standin.failNext({ match: /\/branches\//, status: 503, retryAfter: 2 });
    const res = await get('/api/v1/repos/alice/blog/branches/main');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toEqual({ message: 'internal error', url: `${standin.url}/api/swagger` });
    expect((await get('/api/v1/repos/alice/blog/branches/main')).status).toBe(200);
  });

  it('answers malformed bodies and destroys sockets on demand', async () => {
    standin.failNext({ malformed: true });
    const res = await get('/api/v1/repos/alice/blog');
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow(/JSON/);

    standin.failNext({ destroy: true });
    await expect(get('/api/v1/repos/alice/blog')).rejects.toThrow();
  });

  it('hangs on demand and still closes promptly', async () => {
    standin.addFailure({ hang: true });
    await expect(get('/api/v1/repos/alice/blog', { signal: AbortSignal.timeout(200) })).rejects.toThrow();

    const pending = get('/api/v1/repos/alice/blog').then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await standin.close();
    // The request hangs forever: closing must not wait for it.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await pending).toBe('failed');
  });

  it('counts requests, paths, concurrency and auth headers without keeping tokens', async () => {
    standin.addFailure({ delayMs: 50 });
    await Promise.all(
      [
        get('/api/v1/repos/alice/blog'),
        get('/api/v1/repos/alice/blog?x=1'),
        get('/api/v1/repos/alice/bare', { headers: { Authorization: 'token s3cret' } }),
      ].map((p) => p.then((r) => r.arrayBuffer())),
    );

    const stats = standin.stats();
    expect(stats.requests).toBe(3);
    expect(stats.byPath).toEqual({ '/api/v1/repos/alice/blog': 2, '/api/v1/repos/alice/bare': 1 });
    expect(stats.maxInFlight).toBe(3);
    expect(stats.authHeaders).toBe(1);
    expect(JSON.stringify(standin.requestLog)).not.toContain('s3cret');
    expect(standin.requestLog.filter((e) => e.authorization)).toHaveLength(1);

    standin.resetStats();
    expect(standin.stats()).toMatchObject({ requests: 0, byPath: {}, authHeaders: 0 });
    expect(standin.requestLog).toHaveLength(0);
  });
});

describe('Forgejo stand-in with a token', () => {
  let standin: Standin;

  beforeEach(async () => {
    standin = await startForgejoStandin({ token: 's3cret', latencyMs: 5 });
    standin.setRepo('alice', 'secret', { private: true, pages: PAGES });
  });

  afterEach(() => standin.close());

  const get = (path: string, authorization?: string) =>
    fetch(`${standin.url}${path}`, { headers: authorization ? { Authorization: authorization } : {} });

  it('rejects missing and wrong tokens with 401', async () => {
    for (const auth of [undefined, 'token wrong', 'Basic czNjcmV0']) {
      const res = await get('/api/v1/repos/alice/secret', auth);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ message: 'token is required', url: `${standin.url}/api/swagger` });
    }
  });

  it('serves private repositories to a valid token in either scheme', async () => {
    expect((await get('/api/v1/repos/alice/secret', 'token s3cret')).status).toBe(200);
    expect((await get('/api/v1/repos/alice/secret/contents/.pages', 'Bearer s3cret')).status).toBe(200);
  });
});

describe('Forgejo stand-in without a token', () => {
  it('hides private repositories from anonymous requests', async () => {
    const standin = await startForgejoStandin();
    try {
      standin.setRepo('alice', 'secret', { private: true });
      expect((await fetch(`${standin.url}/api/v1/repos/alice/secret`)).status).toBe(404);
      const authed = await fetch(`${standin.url}/api/v1/repos/alice/secret`, {
        headers: { Authorization: 'token anything' },
      });
      expect(authed.status).toBe(200);
    } finally {
      await standin.close();
    }
  });
});

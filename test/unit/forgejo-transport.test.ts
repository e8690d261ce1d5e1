import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ForgejoSource } from '../../plugins/forgejo';

/**
 * The Forgejo source's transport: undici's Pool loaded by its file path (undici has no
 * `exports` map; an undici release that moves the file fails here) and a bare dispatch
 * handler that reads the body whole, the headers only when the status needs them.
 */
describe('ForgejoSource transport', () => {
  const seen: Array<{ url: string; authorization?: string }> = [];
  let server: http.Server;
  let origin: string;
  const pages = 'custom_domain: "example.com"\n';
  const contents = JSON.stringify({ type: 'file', encoding: 'base64', content: Buffer.from(pages).toString('base64'), size: pages.length });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      const page404 = () => res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end('<html>Page Not Found</html>');
      if (req.url?.startsWith('/web/')) {
        // Forgejo's web pages, not its API: --forgejo-host with a path it is not served under.
        page404();
      } else if (req.url?.startsWith('/pages404/')) {
        // An API whose 404s are pages (a proxy's), but which answers as Forgejo's API.
        if (req.url === '/pages404/api/v1/version') res.writeHead(200, { 'content-type': 'application/json' }).end('{"version":"11.0.0"}');
        else if (req.url === '/pages404/api/v1/repos/new/site/contents/.pages') res.writeHead(200).end(contents);
        else if (req.url.startsWith('/pages404/api/v1/repos/traefik/'))
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
        else page404();
      } else if (req.url?.startsWith('/busy/')) {
        if (req.url === '/busy/api/v1/version') res.writeHead(503).end();
        else page404();
      } else if (req.url === '/api/v1/repos/chunked/site/contents/.pages') {
        // The body in several writes, a multi-byte character cut between two of them.
        const body = Buffer.from(JSON.stringify({ type: 'file', content: Buffer.from('é'.repeat(5000)).toString('base64') }));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(body.subarray(0, 1001));
        setTimeout(() => res.end(body.subarray(1001)), 5);
      } else if (req.url === '/api/v1/repos/old/site/contents/.pages') {
        res.writeHead(301, { Location: '/api/v1/repos/new/site/contents/.pages' }).end();
      } else if (req.url === '/api/v1/repos/away/site/contents/.pages') {
        res.writeHead(302, { Location: 'http://elsewhere.example/api/v1/repos/away/site/contents/.pages' }).end();
      } else if (req.url?.startsWith('/api/v1/repos/sso/site/')) {
        // A login page in front of the API, on the same origin; it answers 404 itself.
        res.writeHead(302, { Location: `/user/login?redirect_to=${encodeURIComponent(req.url)}` }).end();
      } else if (req.url === '/api/v1/repos/moved/site/contents/.pages') {
        res.writeHead(301, { Location: '/api/v1/repos/moved/site/raw/.pages' }).end();
      } else if (req.url?.startsWith('/api/v1/repos/drip/')) {
        // A byte every 100 ms: never idle for long, never done (headers, then the body).
        const answer = Buffer.from(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${contents.length}\r\n\r\n${contents}`,
        );
        const from = req.url.includes('/body/') ? answer.indexOf('\r\n\r\n') + 4 : 0;
        res.socket!.write(answer.subarray(0, from));
        let sent = from;
        const drip = setInterval(
          () => (sent < answer.length ? res.socket!.write(answer.subarray(sent, ++sent)) : clearInterval(drip)),
          100,
        );
        res.socket!.on('close', () => clearInterval(drip));
      } else if (req.url === '/api/v1/repos/new/site/contents/.pages') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(contents);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('loads the pool from its file, sends the token, reads a body cut into pieces', async () => {
    const source = new ForgejoSource({ forgejoHost: origin, forgejoToken: 's3cret', retries: 0 });
    try {
      const lookup = await source.pagesFile('chunked', 'site');
      expect(lookup).toEqual({ found: true, text: 'é'.repeat(5000) });
      expect(seen.at(-1)).toEqual({ url: '/api/v1/repos/chunked/site/contents/.pages', authorization: 'token s3cret' });
      expect(await source.pagesFile('gone', 'site')).toEqual({ found: false });
    } finally {
      await source.close();
    }
  });

  it('follows a redirect within the origin and refuses one to another origin', async () => {
    const source = new ForgejoSource({ forgejoHost: origin, retries: 0 });
    try {
      expect(await source.pagesFile('old', 'site')).toEqual({ found: true, text: pages });
      expect(seen.at(-1)?.url).toBe('/api/v1/repos/new/site/contents/.pages');
      await expect(source.pagesFile('away', 'site')).rejects.toMatchObject({ kind: 'misconfigured' });
      expect(source.requestCount()).toBe(3);
    } finally {
      await source.close();
    }
  });

  it('a redirect away from the repository resource asked for (a login page, another resource) proves nothing: not a 404', async () => {
    const source = new ForgejoSource({ forgejoHost: origin, retries: 0 });
    try {
      const away = { kind: 'http', signature: 'redirect:elsewhere', status: 302 };
      await expect(source.pagesFile('sso', 'site')).rejects.toMatchObject(away);
      await expect(source.branchExists('sso', 'site', 'dev')).rejects.toMatchObject(away);
      await expect(source.pagesFile('moved', 'site')).rejects.toMatchObject({ ...away, status: 301 });
      await expect(source.pagesFile('sso', 'site')).rejects.toThrow(/redirect to \/user\/login, away from the repository API/);
      expect(seen.filter(({ url }) => url.startsWith('/user/login') || url.includes('/raw/'))).toEqual([]);
    } finally {
      await source.close();
    }
  });

  it('gives up on an answer that does not come whole within the timeout, however steadily it drips', async () => {
    const source = new ForgejoSource({ forgejoHost: origin, retries: 0, timeout: 400 });
    try {
      for (const path of ['drip/headers', 'drip/body']) {
        const started = Date.now();
        await expect(source.pagesFile(path.split('/')[0], path.split('/')[1])).rejects.toMatchObject({ kind: 'timeout' });
        expect(Date.now() - started).toBeLessThan(3000);
      }
    } finally {
      await source.close();
    }
  });

  it("a 404 that is a page, not the API's JSON, proves nothing: a wrong path stops the run, a proxy's page is unknown", async () => {
    const wrongPath = new ForgejoSource({ forgejoHost: `${origin}/web`, retries: 0 });
    try {
      const outside = { kind: 'misconfigured', signature: 'http:404-outside-api', status: 404, ofSetup: true };
      await expect(wrongPath.pagesFile('gone', 'site')).rejects.toMatchObject(outside);
      await expect(wrongPath.branchExists('gone', 'site', 'dev')).rejects.toThrow(/with a text\/html page, not the API's JSON/);
      expect(seen.filter(({ url }) => url === '/web/api/v1/version')).toHaveLength(1);
    } finally {
      await wrongPath.close();
    }
    // Forgejo's API answers, a live repository among them; a proxy's page for one of them
    // (Traefik's text while Forgejo restarts) is still no proof that it is gone.
    const proxied = new ForgejoSource({ forgejoHost: `${origin}/pages404`, retries: 0 });
    try {
      expect(await proxied.pagesFile('new', 'site')).toEqual({ found: true, text: pages });
      const page = { kind: 'http', signature: 'http:404-page', status: 404, ofSetup: false };
      await expect(proxied.pagesFile('gone', 'site')).rejects.toMatchObject(page);
      await expect(proxied.pagesFile('traefik', 'site')).rejects.toThrow(
        /with a text\/plain page, not the API's JSON: .*a proxy in front of Forgejo/,
      );
      await expect(proxied.branchExists('gone', 'site', 'dev')).rejects.toMatchObject(page);
      expect(seen.filter(({ url }) => url === '/pages404/api/v1/version')).toHaveLength(1);
    } finally {
      await proxied.close();
    }
    const busy = new ForgejoSource({ forgejoHost: `${origin}/busy`, retries: 0 });
    try {
      await expect(busy.pagesFile('gone', 'site')).rejects.toMatchObject({ kind: 'http', signature: 'http:404-page', ofSetup: false });
    } finally {
      await busy.close();
    }
  });

  it('never sends `.` or `..` as a path segment', async () => {
    const source = new ForgejoSource({ forgejoHost: `${origin}/forge`, retries: 0 });
    try {
      await source.pagesFile('..', '.');
      expect(seen.at(-1)?.url).toBe('/forge/api/v1/repos/%2E%2E/%2E/contents/.pages');
    } finally {
      await source.close();
    }
  });
});

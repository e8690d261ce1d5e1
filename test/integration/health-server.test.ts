import * as http from 'node:http';
import { parseListen, startHealthServer, type HealthServer } from '../../src/observe/health-server';
import { ReaperMetrics } from '../../src/observe/metrics';
import type { RunStatus } from '../../src/report/run-status';
import { canConnect } from '../support/servers';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, path: string, method = 'GET', agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function run(finishedAt: number, overrides: Partial<RunStatus> = {}): RunStatus {
  return {
    startedAt: finishedAt - 5_000,
    finishedAt,
    completed: true,
    exitCode: 0,
    domainsScanned: 3,
    live: 2,
    stale: 1,
    pending: 0,
    reaped: 1,
    orphansReaped: 0,
    keysDeleted: 4,
    errors: {},
    ...overrides,
  };
}

describe('health server', () => {
  let clock: number;
  let metrics: ReaperMetrics;
  let server: HealthServer | undefined;

  beforeEach(() => {
    clock = T0;
    metrics = new ReaperMetrics();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async () => {
    server = await startHealthServer({ listen: '127.0.0.1:0', metrics, intervalMs: 5 * MINUTE, now: () => clock, startedAt: T0 });
    return server;
  };

  it('listens on the requested host and a free port', async () => {
    const { port, host } = await start();
    expect(host).toBe('127.0.0.1');
    expect(port).toBeGreaterThan(0);
    expect(await canConnect(port)).toBe(true);
  });

  it('/healthz: ok during the first two intervals, 503 after with no completed run', async () => {
    const { port } = await start();
    clock = T0 + 10 * MINUTE;
    expect(await request(port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    clock = T0 + 10 * MINUTE + 1;
    const late = await request(port, '/healthz');
    expect(late.status).toBe(503);
    expect(late.body).toMatch(/^no run has completed in the 600s since start \(limit 600s\)\n$/);
  });

  it('/healthz: 200 while the last completed run is within two intervals, then 503 with a reason', async () => {
    const { port } = await start();
    metrics.runFinished(run(T0 + MINUTE));
    clock = T0 + 11 * MINUTE;
    expect(await request(port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });

    // A failed run does not count; the reason says so.
    metrics.runFinished(run(T0 + 6 * MINUTE, { completed: false, exitCode: 1, error: 'redis unreachable\nECONNREFUSED' }));
    clock = T0 + 11 * MINUTE + 1000;
    const stale = await request(port, '/healthz');
    expect(stale.status).toBe(503);
    expect(stale.body).toBe(
      'last completed run finished 601s ago, more than two intervals (600s); last run failed (exit 1): redis unreachable ECONNREFUSED\n',
    );
    expect(stale.body.trim()).not.toContain('\n');

    // A partial run (exit 2) counts as completed.
    metrics.runFinished(run(T0 + 12 * MINUTE, { exitCode: 2 }));
    clock = T0 + 12 * MINUTE;
    expect(await request(port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
  });

  it('/readyz: 503 until the first completed run, then 200', async () => {
    const { port } = await start();
    expect(await request(port, '/readyz')).toMatchObject({ status: 503, body: 'no run has completed yet\n' });
    metrics.runFinished(run(T0, { completed: false, exitCode: 1 }));
    expect((await request(port, '/readyz')).status).toBe(503);
    metrics.runFinished(run(T0 + MINUTE, { exitCode: 3 }));
    expect(await request(port, '/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
  });

  it('/metrics: the exposition text with its content type', async () => {
    const { port } = await start();
    metrics.runFinished(run(T0));
    metrics.requestObserved(200, 0.05);
    const reply = await request(port, '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(metrics.contentType);
    expect(reply.body).toBe(await metrics.text());
    expect(reply.body).toContain('pages_reaper_runs_total{result="success"} 1');
    expect(reply.body).toContain('pages_reaper_api_request_duration_seconds_count{status="200"} 1');
    // A query string does not change the route.
    expect((await request(port, '/metrics?x=1')).status).toBe(200);
  });

  it('HEAD answers like GET without a body', async () => {
    const { port } = await start();
    const head = await request(port, '/healthz', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe('3');
    expect((await request(port, '/metrics', 'HEAD')).status).toBe(200);
  });

  it('404 for other paths, 405 for other methods', async () => {
    const { port } = await start();
    expect(await request(port, '/')).toMatchObject({ status: 404, body: 'not found\n' });
    expect((await request(port, '/healthz/x')).status).toBe(404);
    expect((await request(port, '/nope', 'POST')).status).toBe(404);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const reply = await request(port, '/metrics', method);
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
    }
  });

  it('close() returns promptly with an idle keep-alive client connected', async () => {
    const { port } = await start();
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    try {
      expect((await request(port, '/healthz', 'GET', agent)).status).toBe(200);
      expect((await request(port, '/readyz', 'GET', agent)).status).toBe(503);
      const began = Date.now();
      await server!.close();
      // Far below the client's 60 s keep-alive: idle connections are not waited for.
      expect(Date.now() - began).toBeLessThan(5000);
      expect(await canConnect(port)).toBe(false);
      // close() again is harmless.
      await server!.close();
    } finally {
      agent.destroy();
    }
  });

  it('rejects an address already in use with a one-line message', async () => {
    const { port } = await start();
    await expect(startHealthServer({ listen: `127.0.0.1:${port}`, metrics, intervalMs: 1000 })).rejects.toThrow(
      `cannot listen on 127.0.0.1:${port}: EADDRINUSE`,
    );
  });
});

describe('parseListen', () => {
  it('accepts HOST:PORT', () => {
    expect(parseListen('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListen('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('localhost:65535')).toEqual({ host: 'localhost', port: 65535 });
    expect(parseListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseListen('[::]:80')).toEqual({ host: '::', port: 80 });
  });

  it.each([
    '',
    '9464',
    ':9464',
    '0.0.0.0',
    '0.0.0.0:',
    '0.0.0.0:65536',
    '0.0.0.0:94a',
    'host:-1',
    ' 0.0.0.0:9464',
    '0.0.0.0:9464 ',
    '::1:9464',
    'a b:1',
    'http://0.0.0.0:9464',
    '0.0.0.0:123456',
  ])('rejects %p', async (listen) => {
    const message = `invalid --listen '${listen}': use HOST:PORT, e.g. 0.0.0.0:9464`;
    expect(() => parseListen(listen)).toThrow(message);
    await expect(startHealthServer({ listen, metrics: new ReaperMetrics(), intervalMs: 1000 })).rejects.toThrow(message);
  });
});

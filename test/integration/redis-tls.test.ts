/**
 * The Redis plugin over TLS against a real TLS-only redis-server: `rediss://` URLs and
 * host/port flags with `--redis-tls-ca` (and `--redis-tls-cert`/`--redis-tls-key` for a
 * server that requires client certificates). Certificates are made with openssl here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, type RedisSettings } from '../../plugins/redis';
import type { KeyValueStore } from '../../src/ports/key-value-store';
import { startRedisTls } from '../support/servers';
import { makeCertificates, roundTrip, type Certificates } from '../support/tls';

type TlsServer = Awaited<ReturnType<typeof startRedisTls>>;

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('Redis over TLS', () => {
  let dir: string;
  let certs: Certificates;
  let wrong: Certificates;
  let server: TlsServer;
  let strict: TlsServer;
  let timersBefore: number;
  const opened: KeyValueStore[] = [];
  const open = async (settings: RedisSettings) => {
    const store = await connectRedis(settings);
    opened.push(store);
    return store;
  };

  beforeAll(async () => {
    timersBefore = activeTimers();
    dir = mkdtempSync(join(tmpdir(), 'pages-reaper-tls-'));
    certs = makeCertificates(dir, 'good');
    wrong = makeCertificates(dir, 'wrong');
    server = await startRedisTls({ ca: certs.ca, cert: certs.serverCert, key: certs.serverKey });
    strict = await startRedisTls({
      ca: certs.ca,
      cert: certs.serverCert,
      key: certs.serverKey,
      authClients: 'yes',
      probeCert: certs.clientCert,
      probeKey: certs.clientKey,
    });
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  afterAll(async () => {
    // A failed connect leaves ioredis's 2 s disconnect timer behind (see redis.contract);
    // wait for it, at most 3 s, so that jest can exit cleanly.
    const deadline = Date.now() + 3000;
    while (activeTimers() > timersBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await server?.stop();
    await strict?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('works by rediss:// URL with --redis-tls-ca: scan, getMany, delete', async () => {
    const store = await open({ redisUrl: server.url, redisTlsCa: certs.ca });
    expect(store.describe()).toBe(`rediss://127.0.0.1:${server.port}`);
    await roundTrip(store);
  });

  it('works by --redis-host/--redis-port with --redis-tls-ca (TLS on because a TLS file is given)', async () => {
    const store = await open({ redisHost: server.host, redisPort: server.port, redisTlsCa: certs.ca });
    await roundTrip(store);
  });

  it('presents --redis-tls-cert and --redis-tls-key to a server that requires a client certificate', async () => {
    const store = await open({ redisUrl: strict.url, redisTlsCa: certs.ca, redisTlsCert: certs.clientCert, redisTlsKey: certs.clientKey });
    await roundTrip(store);
    const refused = (await connectRedis({ redisUrl: strict.url, redisTlsCa: certs.ca }).catch((e: unknown) => e)) as Error;
    expect(refused).toBeInstanceOf(Error);
    expect(refused.message).toContain('cannot reach Redis');
  });

  it('refuses a server whose certificate the given CA did not sign, in one line', async () => {
    const error = (await connectRedis({ redisUrl: server.url, redisTlsCa: wrong.ca }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('cannot reach Redis');
    expect(error.message).toContain(`127.0.0.1:${server.port}`);
    expect(error.message).toContain('--redis-tls-ca');
    expect(error.message).not.toContain('\n');
  });

  it('names the flag whose file cannot be read', async () => {
    const missing = join(dir, 'no-such-ca.pem');
    for (const [setting, flag] of [
      ['redisTlsCa', '--redis-tls-ca'],
      ['redisTlsCert', '--redis-tls-cert'],
      ['redisTlsKey', '--redis-tls-key'],
    ] as const) {
      const error = (await connectRedis({ redisUrl: server.url, [setting]: missing }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toContain(flag);
      expect(error.message).toContain(missing);
      expect(error.message).not.toContain('\n');
    }
  });
});

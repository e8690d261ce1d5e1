/**
 * The Redis plugin over TLS against a real TLS-only redis-server: `rediss://` URLs and
 * host/port flags with `--redis-tls-ca` (and `--redis-tls-cert`/`--redis-tls-key` for a
 * server that requires client certificates). Certificates are made with openssl here.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis, type RedisSettings } from '../../plugins/redis';
import type { KeyValueStore } from '../../src/ports/key-value-store';
import { startRedisTls } from '../support/servers';

type TlsServer = Awaited<ReturnType<typeof startRedisTls>>;

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function makeCertificates(dir: string, name: string) {
  const file = (f: string) => join(dir, `${name}-${f}`);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...newKey, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', `/CN=${name} test CA`);
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  writeFileSync(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const role of ['server', 'client']) {
    openssl('req', ...newKey, '-keyout', file(`${role}.key`), '-out', file(`${role}.csr`), '-subj', `/CN=${role === 'server' ? '127.0.0.1' : 'pages-reaper'}`);
    openssl('x509', '-req', '-in', file(`${role}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file(`${role}.crt`), '-days', '2', '-extfile', file(`${role}.ext`));
  }
  return { ca: file('ca.crt'), serverCert: file('server.crt'), serverKey: file('server.key'), clientCert: file('client.crt'), clientKey: file('client.key') };
}

describe('Redis over TLS', () => {
  let dir: string;
  let certs: ReturnType<typeof makeCertificates>;
  let wrong: ReturnType<typeof makeCertificates>;
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
      ca: certs.ca, cert: certs.serverCert, key: certs.serverKey, authClients: 'yes', probeCert: certs.clientCert, probeKey: certs.clientKey,
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

  /** Seeds through the store under test, then scans, reads and deletes a domain. */
  async function roundTrip(store: KeyValueStore) {
    const group = [
      { key: 'traefik/http/routers/custom-a-example-com/rule', value: 'Host(`a.example.com`)' },
      { key: 'owner:repo', value: 'a.example.com' },
      { key: 'custom_domain:a.example.com', value: 'owner:repo' },
    ];
    const entries = group.map(({ key, value }) => ({ key, type: 'string', value: Buffer.from(value) }));
    expect(await store.putMany(entries, 'overwrite')).toHaveLength(3);
    const scanned = new Set<string>();
    for await (const batch of store.scan('custom_domain:')) for (const key of batch) scanned.add(key);
    expect([...scanned]).toEqual(['custom_domain:a.example.com']);
    const read = await store.getMany(group.map((g) => g.key));
    expect(read.map((e) => e?.value?.toString())).toEqual(group.map((g) => g.value));
    expect(await store.deleteGroupsIfUnchanged([read.map((e) => ({ key: e!.key, expected: e!.value! }))])).toEqual(['deleted']);
    expect(await store.getMany(group.map((g) => g.key))).toEqual([undefined, undefined, undefined]);
  }

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
    for (const [setting, flag] of [['redisTlsCa', '--redis-tls-ca'], ['redisTlsCert', '--redis-tls-cert'], ['redisTlsKey', '--redis-tls-key']] as const) {
      const error = (await connectRedis({ redisUrl: server.url, [setting]: missing }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toContain(flag);
      expect(error.message).toContain(missing);
      expect(error.message).not.toContain('\n');
    }
  });
});

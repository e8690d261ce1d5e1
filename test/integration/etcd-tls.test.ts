/**
 * The etcd plugin over TLS against a real etcd serving clients over https only:
 * `--etcd-ca` to trust its certificate, and `--etcd-cert`/`--etcd-key` for a member
 * started with --client-cert-auth. Also `scan` as a process, configured by env vars.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEtcd, type EtcdSettings } from '../../plugins/etcd';
import type { KeyValueStore } from '../../src/ports/key-value-store';
import { cliRunner } from '../support/cli-process';
import { startEtcd } from '../support/servers';
import { makeCertificates, roundTrip, type Certificates } from '../support/tls';

type EtcdServer = Awaited<ReturnType<typeof startEtcd>>;

const cli = cliRunner('etcd-tls');

describe('etcd over TLS', () => {
  let dir: string;
  let certs: Certificates;
  let wrong: Certificates;
  let server: EtcdServer;
  let strict: EtcdServer;
  const opened: KeyValueStore[] = [];
  const open = async (settings: EtcdSettings) => {
    const store = await connectEtcd(settings);
    opened.push(store);
    return store;
  };
  const failure = async (settings: EtcdSettings) =>
    (await connectEtcd(settings).then(
      (store) => (opened.push(store), undefined),
      (e: unknown) => e,
    )) as Error;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pages-reaper-etcd-tls-'));
    certs = makeCertificates(dir, 'good');
    wrong = makeCertificates(dir, 'wrong');
    const tls = { ca: certs.ca, cert: certs.serverCert, key: certs.serverKey };
    [server, strict] = await Promise.all([
      startEtcd({ tls }),
      startEtcd({ tls: { ...tls, clientCertAuth: true, probeCert: certs.clientCert, probeKey: certs.clientKey } }),
    ]);
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
  });

  afterAll(async () => {
    cli.cleanup();
    await Promise.all([server?.stop(), strict?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('works by https:// endpoint with --etcd-ca: scan, getMany, delete', async () => {
    const store = await open({ etcdEndpoints: server.endpoint, etcdCa: certs.ca });
    expect(store.describe()).toBe(`etcd://${new URL(server.endpoint).host}`);
    await roundTrip(store);
  });

  it('presents --etcd-cert and --etcd-key to a member that requires a client certificate', async () => {
    const store = await open({ etcdEndpoints: strict.endpoint, etcdCa: certs.ca, etcdCert: certs.clientCert, etcdKey: certs.clientKey });
    await roundTrip(store);

    const refused = await failure({ etcdEndpoints: strict.endpoint, etcdCa: certs.ca });
    expect(refused).toBeInstanceOf(Error);
    expect(refused.message).toContain('cannot reach etcd');
    expect(refused.message).toContain('--etcd-cert');
    expect(refused.message).not.toContain('\n');
  });

  it('refuses a member whose certificate the given CA did not sign, in one line', async () => {
    const error = await failure({ etcdEndpoints: server.endpoint, etcdCa: wrong.ca });
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('cannot reach etcd');
    expect(error.message).toContain(new URL(server.endpoint).host);
    expect(error.message).toContain('--etcd-ca');
    expect(error.message).not.toContain('\n');
  });

  it('refuses a client certificate without its key before connecting', async () => {
    const error = await failure({ etcdEndpoints: strict.endpoint, etcdCa: certs.ca, etcdCert: certs.clientCert });
    expect(error.message).toMatch(/--etcd-cert and --etcd-key go together/);
  });

  it('scan runs as a process over TLS with ETCD_CA, ETCD_CERT and ETCD_KEY', async () => {
    const seeded = await open({ etcdEndpoints: strict.endpoint, etcdCa: certs.ca, etcdCert: certs.clientCert, etcdKey: certs.clientKey });
    await seeded.putMany(
      [
        { key: 'custom_domain:tls.example.com', type: 'string', value: Buffer.from('alice:site') },
        { key: 'alice:site', type: 'string', value: Buffer.from('tls.example.com') },
      ],
      'overwrite',
    );
    const env = { ETCD_ENDPOINTS: strict.endpoint, ETCD_CA: certs.ca, ETCD_CERT: certs.clientCert, ETCD_KEY: certs.clientKey };

    const result = await cli.run(['scan', '--store', 'etcd', '--json'], env);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const doc = JSON.parse(result.stdout);
    expect(doc.store).toBe(`etcd://${new URL(strict.endpoint).host}`);
    expect(doc.counts).toMatchObject({ forward: 1, reverse: 1 });

    const withoutCert = await cli.run(['scan', '--store', 'etcd'], { ETCD_ENDPOINTS: strict.endpoint, ETCD_CA: certs.ca });
    expect(withoutCert.code).toBe(1);
    expect(withoutCert.stderr.trim().split('\n')).toHaveLength(1);
    expect(withoutCert.stderr).toContain('cannot reach etcd');
  });
});

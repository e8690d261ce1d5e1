/**
 * TLS material and a store round trip shared by the Redis and etcd TLS tests:
 * certificates are made with openssl, each set signed by its own throwaway CA.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyValueStore } from '../../src/ports/key-value-store';

export interface Certificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
export function makeCertificates(dir: string, name: string): Certificates {
  const file = (f: string) => join(dir, `${name}-${f}`);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...newKey, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', `/CN=${name} test CA`);
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const role of ['server', 'client']) {
    openssl(
      'req',
      ...newKey,
      '-keyout',
      file(`${role}.key`),
      '-out',
      file(`${role}.csr`),
      '-subj',
      `/CN=${role === 'server' ? '127.0.0.1' : 'pages-reaper'}`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${role}.csr`),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file(`${role}.crt`),
      '-days',
      '2',
      '-extfile',
      file(`${role}.ext`),
    );
  }
  return {
    ca: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
  };
}

/** Seeds through the store under test, then scans, reads and deletes a domain. */
export async function roundTrip(store: KeyValueStore): Promise<void> {
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
  expect(await store.deleteGroupsIfUnchanged([{ keys: read.map((e) => ({ key: e!.key, expected: e!.value! })) }])).toEqual(['deleted']);
  expect(await store.getMany(group.map((g) => g.key))).toEqual([undefined, undefined, undefined]);
}

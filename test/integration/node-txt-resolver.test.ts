/**
 * NodeTxtResolver against a real UDP server that answers like a DNS server: fast for most
 * names, slowly for one. c-ares (1.32 on) adapts a channel's timeout to the latencies it
 * has seen; the configured timeout must still be what a lookup gets.
 */
import * as dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { NodeTxtResolver } from '../../src/engine/node-txt-resolver';

const SLOW_MS = 1500;

/** Answers every TXT question with one record, `v=<first label>`; names starting with "slow" after SLOW_MS. */
function startTxtServer(): Promise<{ server: string; close(): void }> {
  const socket = dgram.createSocket('udp4');
  const timers = new Set<NodeJS.Timeout>();
  socket.on('message', (query, peer) => {
    let end = 12;
    const labels: string[] = [];
    while (query[end] !== 0) {
      labels.push(query.toString('latin1', end + 1, end + 1 + query[end]));
      end += query[end] + 1;
    }
    const question = query.subarray(12, end + 5);
    const text = Buffer.from(`v=${labels[0]}`);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8180, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(1, 6);
    // The answer: a pointer to the question's name, TXT, IN, a TTL of 60, one string.
    const answer = Buffer.concat([Buffer.from([0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, text.length + 1, text.length]), text]);
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        socket.send(Buffer.concat([header, question, answer]), peer.port, peer.address);
      },
      labels[0].startsWith('slow') ? SLOW_MS : 0,
    );
    timers.add(timer);
  });
  return new Promise((resolve) =>
    socket.bind(0, '127.0.0.1', () =>
      resolve({
        server: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
        close: () => {
          for (const timer of timers) clearTimeout(timer);
          socket.close();
        },
      }),
    ),
  );
}

describe('NodeTxtResolver', () => {
  it('gives a slow answer the configured timeout, however fast the answers before it were', async () => {
    const dns = await startTxtServer();
    try {
      const resolver = new NodeTxtResolver({ servers: [dns.server], timeoutMs: 4000 });
      for (let i = 0; i < 30; i++)
        expect(await resolver.lookup(`fast${i}.example.com`)).toEqual({ kind: 'records', records: [`v=fast${i}`] });
      const started = Date.now();
      expect(await resolver.lookup('slow.example.com')).toEqual({ kind: 'records', records: ['v=slow'] });
      expect(Date.now() - started).toBeGreaterThanOrEqual(SLOW_MS - 50);
      expect(resolver.lookupCount()).toBe(31);
    } finally {
      dns.close();
    }
  }, 20_000);

  it('cancel ends the lookups under way', async () => {
    const dns = await startTxtServer();
    try {
      const resolver = new NodeTxtResolver({ servers: [dns.server], timeoutMs: 4000 });
      const pending = Promise.all([resolver.lookup('slow1.example.com'), resolver.lookup('slow2.example.com')]);
      setTimeout(() => resolver.cancel(), 100);
      const started = Date.now();
      const answers = await pending;
      expect(Date.now() - started).toBeLessThan(SLOW_MS);
      for (const answer of answers) expect(answer.kind).not.toBe('records');
    } finally {
      dns.close();
    }
  }, 20_000);
});

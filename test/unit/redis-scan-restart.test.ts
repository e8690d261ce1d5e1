/**
 * RedisStore's SCAN when the connection is made again mid-walk: the walk of that server
 * starts over from cursor 0, and a connection that keeps dropping ends the run. The real
 * restart is in test/integration/store-restart.test.ts; here a scripted client.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { MAX_SCAN_RESTARTS, RedisStore } from '../../plugins/redis/store';

/** Pages of a 3-page walk ('0' → '1' → '2' → '0'); `onCall` may emit events between pages. */
class ScriptedNode extends EventEmitter {
  readonly cursors: string[] = [];
  constructor(private readonly onCall: (node: ScriptedNode, calls: number) => void = () => {}) {
    super();
  }
  defineCommand(): void {}
  async call(_command: string, cursor: string): Promise<[string, string[]]> {
    this.cursors.push(cursor);
    this.onCall(this, this.cursors.length);
    const next = cursor === '2' ? '0' : String(Number(cursor) + 1);
    return [next, [`key${cursor}`]];
  }
}

async function drain(pages: AsyncIterable<string[]>): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of pages) keys.push(...page);
  return keys;
}

describe('RedisStore scan across reconnects', () => {
  it('walks from cursor 0 again once the connection was made again, and ends', async () => {
    const node = new ScriptedNode((n, calls) => calls === 2 && n.emit('reconnecting'));
    const keys = await drain(new RedisStore(node as unknown as Redis, 'redis://scripted').scan(''));
    expect(node.cursors).toEqual(['0', '1', '0', '1', '2']);
    expect(new Set(keys)).toEqual(new Set(['key0', 'key1', 'key2']));
  });

  it(`gives up after ${MAX_SCAN_RESTARTS} restarts in one scan, saying so`, async () => {
    const node = new ScriptedNode((n) => n.emit('reconnecting'));
    await expect(drain(new RedisStore(node as unknown as Redis, 'redis://scripted').scan(''))).rejects.toThrow(
      `the connection to redis://scripted was lost and made again ${MAX_SCAN_RESTARTS + 1} times during one scan; check that the store is stable, then run again`,
    );
    expect(node.cursors).toEqual(Array(MAX_SCAN_RESTARTS + 1).fill('0'));
  });
});

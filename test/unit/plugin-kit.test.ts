import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseStore, chunks, formatHostPorts, mapLimited, parseHostPorts, readFlagFile, UsageError, withoutUserinfo } from '../../src';
import type { GroupDeleteOutcome, PutOutcome, StoredEntry } from '../../src/ports/key-value-store';
import { decimalNumber, positiveNumber } from '../../src/plugin-kit/flags';

/** The smallest store on the base: one scan page of the names it is given. */
class PageStore extends BaseStore {
  disconnects = 0;

  constructor(private readonly names: Buffer[]) {
    super('page://here');
  }

  async *scan(): AsyncIterable<string[]> {
    this.ensureOpen();
    this.trips++;
    yield this.textKeys(this.names);
  }

  async getMany(keys: string[]): Promise<Array<StoredEntry | undefined>> {
    this.ensureOpen();
    return keys.map(() => undefined);
  }

  async putMany(entries: StoredEntry[]): Promise<PutOutcome[]> {
    return entries.map(() => 'unsupported');
  }

  async deleteGroupsIfUnchanged(): Promise<GroupDeleteOutcome[]> {
    return [];
  }

  protected async disconnect(): Promise<void> {
    this.disconnects++;
  }
}

describe('BaseStore', () => {
  it('describes, counts trips, keeps names that are not UTF-8 aside, and rejects every call after close()', async () => {
    const store = new PageStore([Buffer.from('custom_domain:a.example.com'), Buffer.from([0x61, 0xff, 0x5c])]);
    expect(store.describe()).toBe('page://here');
    const pages: string[][] = [];
    for await (const page of store.scan()) pages.push(page);
    expect(pages).toEqual([['custom_domain:a.example.com']]);
    expect(store.skippedKeys()).toEqual(['a\\xff\\x5c']);
    expect(store.roundTrips()).toBe(1);

    await store.close();
    await store.close();
    expect(store.disconnects).toBe(1);
    await expect(store.getMany(['k'])).rejects.toThrow('store page://here is closed');
  });
});

describe('flag values', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plugin-kit-'));

  it('reads a file a flag names, or says which flag and why in one line', () => {
    const file = join(dir, 'ca.pem');
    writeFileSync(file, 'PEM');
    expect(readFlagFile(file, `--x-ca file ${file}`).toString()).toBe('PEM');
    expect(() => readFlagFile(join(dir, 'missing'), '--x-ca file missing')).toThrow(/^cannot read --x-ca file missing: ENOENT$/);
    expect(() => readFlagFile(join(dir, 'missing'), '--x-ca file missing')).toThrow(UsageError);
    expect(() => readFlagFile(dir, '--x-token-file d', { hint: 'give a file' })).toThrow(
      /^cannot read --x-token-file d: EISDIR; give a file$/,
    );
    const blank = join(dir, 'blank');
    writeFileSync(blank, ' \n');
    expect(readFlagFile(blank, 'b').toString()).toBe(' \n');
    expect(() => readFlagFile(blank, 'b', { requireText: true })).toThrow(/^cannot read b: the file is empty$/);
  });

  it('parses host:port lists, IPv6 in brackets, and names the flag of a bad entry', () => {
    const addresses = parseHostPorts(' a.example:7000, [::1]:7001 ,', '--x-nodes');
    expect(addresses).toEqual([
      { host: 'a.example', port: 7000 },
      { host: '::1', port: 7001 },
    ]);
    expect(formatHostPorts(addresses)).toBe('a.example:7000,[::1]:7001');
    expect(() => parseHostPorts('a.example', '--x-nodes')).toThrow("--x-nodes: expected host:port, got 'a.example'");
    expect(() => parseHostPorts('a:70000', '--x-nodes')).toThrow("--x-nodes: expected host:port, got 'a:70000'");
    expect(() => parseHostPorts(' , ', '--x-nodes')).toThrow('--x-nodes: expected at least one host:port');
    expect(() => parseHostPorts('u:pw@a:1', '--x-nodes')).toThrow(UsageError);
  });

  it('reads a number flag as a plain decimal only: no hex, exponent, sign, Infinity or blank', () => {
    const seconds = (input: string) => decimalNumber(input, 'seconds from 0.01 to 3600', '10 or 2.5', 0.01, 3600);
    expect([' 10 ', '2.5', '.5', '3600', '0.01', '1.'].map(seconds)).toEqual([10, 2.5, 0.5, 3600, 0.01, 1]);
    for (const input of ['0x10', '1e1', '1e-9', '-1', '+1', 'Infinity', 'NaN', '', ' ', '0b1', '1_000', '1,5']) {
      expect(() => seconds(input)).toThrow(`expected seconds from 0.01 to 3600, got '${input}'; write a plain decimal, such as 10 or 2.5`);
      expect(() => seconds(input)).toThrow(UsageError);
    }
    for (const input of ['0.001', '3600.5', '9'.repeat(400)]) expect(() => seconds(input)).toThrow(new RegExp(`got '${input}'$`));
  });

  it('takes a positive number as a plain decimal, never 0', async () => {
    const parse = (input: string) => positiveNumber().parse!(input, {} as never, {} as never);
    await expect(parse('0.5')).resolves.toBe(0.5);
    await expect(parse('0')).rejects.toThrow("expected a positive number, got '0'");
    await expect(parse('1e2')).rejects.toThrow(UsageError);
  });

  it('drops the user name and password of a URL', () => {
    expect(withoutUserinfo('redis://user:s3cr3t@host:6379/0')).toBe('redis://host:6379/0');
    expect(withoutUserinfo('redis://s3cr3t@host')).toBe('redis://host');
    expect(withoutUserinfo('http://host:2379')).toBe('http://host:2379');
  });
});

describe('mapLimited and chunks', () => {
  it('keeps the order of the items with no more than the limit in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapLimited([5, 1, 4, 2, 3], 2, async (n, i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, n));
      inFlight--;
      return `${i}:${n}`;
    });
    expect(results).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3']);
    expect(most).toBe(2);
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });
});

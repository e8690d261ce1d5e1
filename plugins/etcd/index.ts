import { ExponentialBackoff, handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import type { GroupDeleteOutcome, GuardedGroup, KeyGuard, PutMode, PutOutcome, StoredEntry } from '../../src/ports/key-value-store';
import type { PluginSettings, StorePlugin } from '../../src/ports/plugins';
import {
  BaseStore,
  chunks,
  connectionLossDetail,
  deleteInChains,
  mapLimited,
  readFlagFile,
  scrubSecrets,
  secretsOf,
  StoreUnreachableError,
  UsageError,
  withoutUserinfo,
} from '../../src/plugin-kit';
import { CallsInFlight } from './calls-in-flight';
import { firstWindow, growth, keyAfter, successor } from './scan-windows';

/**
 * Keys per range request at most while scanning (memory stays flat however large the
 * store); each request's window aims at half as many, so a window somewhat fuller than
 * guessed still comes back whole.
 */
const SCAN_PAGE_KEYS = 4000;
/**
 * Bytes of key names per range answer, far below the 4 MiB grpc takes in one message (a
 * larger answer fails, and etcd3 retries it and opens its circuit breaker).
 */
const SCAN_PAGE_BYTES = 1 << 20;
/** Keys in the first answers, before their length is known; the limit grows ×4 per answer. */
const FIRST_PAGE_KEYS = 256;
/** What a key costs in a keys-only answer beside its name (revisions, version, lease). */
const KEY_OVERHEAD_BYTES = 32;
/** etcd's default `--max-txn-ops`: no transaction may hold more operations. */
const MAX_TXN_OPS = 128;
/**
 * Requests in flight at once (transactions, lease lookups), across every call: the engine
 * sends many getMany calls together (a reap's hydration, a hundred of them at 100,000
 * domains), and answers held for all of them at once cost more memory than the data.
 */
const PARALLEL = 16;
/** Connecting and every request must answer within this (--store-timeout), unless told. */
const DEFAULT_TIMEOUT_MS = 10_000;

const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';
/** A setting refused before connecting (malformed, or never used): said as it is, not as "cannot reach". */
class RefusedSetting extends UsageError {}

const FLAGS_TO_CHECK = '--etcd-endpoints, --etcd-username, --etcd-password, --etcd-ca, --etcd-cert or --etcd-key';

export interface EtcdSettings {
  /** Comma-separated endpoints, `http://host:port` or `https://host:port` (or bare `host:port`). */
  etcdEndpoints?: string;
  etcdUsername?: string;
  etcdPassword?: string;
  /** File paths (PEM) for TLS: CA bundle, client certificate and its key. */
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  /** Longest wait for a connect or any one call, ms (--store-timeout). */
  storeTimeout?: number;
  /** Aborts a connect in progress (an interrupt, or the caller gave up). */
  signal?: AbortSignal;
}

/**
 * The first key after every key that starts with `prefix` (etcd's `range_end` for a
 * prefix read); `\0` (every key from `key` on) when the prefix is empty or all 0xff.
 */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

interface Endpoint {
  /** What etcd3 dials: `http(s)://host:port`, without credentials. */
  url: string;
  /** `host:port`, for describe(). */
  hostPort: string;
}

/**
 * Parses `--etcd-endpoints`; userinfo in a URL is dropped, never shown or used (etcd
 * authenticates with --etcd-username and --etcd-password). A path would never be used
 * either (gRPC has none): it is refused.
 */
export function parseEndpoints(value: string | undefined): Endpoint[] {
  const raw = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (raw.length === 0) {
    // Given, but naming no endpoint (`,`): never the default's etcd in its place.
    if (value !== undefined && value.trim() !== '')
      throw new RefusedSetting(
        `invalid --etcd-endpoints '${withoutUserinfo(value)}': it names no endpoint; give host:port or http://host:port, comma-separated`,
      );
    raw.push(DEFAULT_ENDPOINT);
  }
  return raw.map((text) => {
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
    } catch {
      const credentials = text.includes('@')
        ? ' (its user:password@ not shown): expected http://host:port, with the credentials in --etcd-username and --etcd-password'
        : ': expected http://host:port';
      throw new RefusedSetting(`invalid --etcd-endpoints entry '${withoutUserinfo(text)}'${credentials}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new RefusedSetting(`invalid --etcd-endpoints entry '${url.host}': use http:// or https://`);
    }
    if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
      throw new RefusedSetting(
        `invalid --etcd-endpoints entry '${withoutUserinfo(text)}': etcd is reached at host:port alone; drop the path`,
      );
    }
    const port = url.port || '2379';
    const hostPort = `${url.hostname}:${port}`;
    return { url: `${url.protocol}//${hostPort}`, hostPort };
  });
}

export function describeEtcd(settings: EtcdSettings): string {
  return `etcd://${parseEndpoints(settings.etcdEndpoints)
    .map((e) => e.hostPort)
    .join(',')}`;
}

function readPem(path: string, flag: string): Buffer {
  return readFlagFile(path, `${flag} file '${path}'`);
}

/**
 * How a call rides through a member that restarts: etcd3's own policy retries a failed
 * call three times at once and then keeps the host's circuit open for 5 s, so an etcd
 * restarted mid-run (down for a second or two) ended the run with `read ECONNRESET` or
 * `connect ECONNREFUSED`. Here a call that fails as etcd3 deems recoverable is tried again
 * up to 7 times over about 4 s (backoff from 100 ms to 1 s, with jitter), on another
 * member each time when there are several, and no per-host circuit cuts that short (one
 * whose circuit is open fails the call at once). --store-timeout still bounds each call
 * (BoundedStore). Retrying is what etcd3 already did: reads are idempotent; a delete
 * transaction sent twice finds its compares failing the second time and its keys gone
 * (reported as deleted), a put finds its own value there (reported as the same, never
 * wrong).
 */
function faultHandling(hasConnected: () => boolean, calls: CallsInFlight): NonNullable<IOptions['faultHandling']> {
  // Before the first answer, three attempts as etcd3 makes (another member each time): a
  // wrong endpoint still fails in one line within a fraction of a second.
  let failuresBeforeConnecting = 0;
  // A call cancelled because the store was closed fails as CANCELLED, which etcd3 counts
  // as recoverable: never tried again (the retry's wait would hold the process).
  const retriable = (error: Error) => !calls.closed && isRecoverableError(error) && (hasConnected() || ++failuresBeforeConnecting < 3);
  return {
    global: retry(handleWhen(retriable), { maxAttempts: 7, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) }),
    host: () => noop,
  };
}

export function etcdOptions(settings: EtcdSettings, hasConnected: () => boolean, calls: CallsInFlight): IOptions {
  const endpoints = parseEndpoints(settings.etcdEndpoints);
  const timeout = settings.storeTimeout ?? DEFAULT_TIMEOUT_MS;
  const options: IOptions = {
    hosts: endpoints.map((e) => e.url),
    dialTimeout: timeout,
    // Every unary call gets a deadline: a cluster that stops answering ends the run.
    defaultCallOptions: (context) =>
      context.isStream ? { interceptors: [calls.interceptor] } : { deadline: Date.now() + timeout, interceptors: [calls.interceptor] },
    faultHandling: faultHandling(hasConnected, calls),
  };
  if (settings.etcdPassword && !settings.etcdUsername)
    throw new RefusedSetting(
      '--etcd-password without --etcd-username would never be used; give the user with --etcd-username (ETCD_USERNAME)',
    );
  if (settings.etcdUsername) options.auth = { username: settings.etcdUsername, password: settings.etcdPassword ?? '' };
  if (settings.etcdCa || settings.etcdCert || settings.etcdKey) {
    if (Boolean(settings.etcdCert) !== Boolean(settings.etcdKey)) {
      throw new RefusedSetting('--etcd-cert and --etcd-key go together: give both or neither');
    }
    options.credentials = {
      // Without --etcd-ca grpc trusts the system's roots.
      rootCertificate: settings.etcdCa ? readPem(settings.etcdCa, '--etcd-ca') : (undefined as unknown as Buffer),
      certChain: settings.etcdCert ? readPem(settings.etcdCert, '--etcd-cert') : undefined,
      privateKey: settings.etcdKey ? readPem(settings.etcdKey, '--etcd-key') : undefined,
    };
  }
  return options;
}

type KeyValue = { key: Buffer; value: Buffer; lease: string; create_revision: string };

/** At most `size` calls in flight, shared by every caller; a freed slot goes to the longest waiting. */
class Slots {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.active < this.size) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await call();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * An answer that refuses one entry, not the store: a request over etcd's size limit
 * (`--max-request-bytes`, 1.5 MiB by default), or a lease longer than etcd grants.
 */
function refusedEntry(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /RESOURCE_EXHAUSTED|request is too large|larger than max|too large lease TTL|OUT_OF_RANGE/i.test(message);
}

export class EtcdStore extends BaseStore {
  private readonly slots = new Slots(PARALLEL);
  /** The store's revision at `markReads`: a key deleted must not have been written after it. */
  private unwrittenSince?: bigint;

  constructor(
    private readonly client: Etcd3,
    description: string,
    /** The client's calls in flight, when it was made with `etcdOptions`: cancelled on close. */
    private readonly calls = new CallsInFlight(),
  ) {
    super(description);
  }

  maxGroupSize(): number {
    return MAX_TXN_OPS;
  }

  /** etcd keeps bytes under a key: Redis's other types, as a backup of Redis holds them, have no place here. */
  holdsOnlyStrings(): boolean {
    return true;
  }

  /** A key's value and its mod revision are two compares (a dry run plans as the real run, which marks reads). */
  checksPerKey(): number {
    return 2;
  }

  /** The cluster's revision now: every delete from here on compares each key's mod revision with it. */
  async markReads(): Promise<void> {
    const client = this.open();
    this.trips++;
    const reply = await this.slots.run(() => client.kv.range({ key: Buffer.from([0]), limit: 1, keys_only: true }));
    this.unwrittenSince = BigInt(reply.header.revision);
  }

  protected closedMessage(): string {
    return `etcd store ${this.description} is closed`;
  }

  /** `task` for every item, at most PARALLEL store-wide in flight, results in order. */
  private each<T, R>(items: T[], task: (item: T) => Promise<R>): Promise<R[]> {
    return mapLimited(items, PARALLEL, (item) => this.slots.run(() => task(item)));
  }

  private open(): Etcd3 {
    this.ensureOpen();
    return this.client;
  }

  /**
   * Every key under `prefix`, in key order, in batches of about half a page. Each range
   * request is bounded to a window expected to hold about half a page (scan-windows.ts):
   * etcd counts every key between a request's start and end, so paging with a limit over
   * the rest of the prefix would cost the square of the key count.
   */
  async *scan(prefix: string): AsyncIterable<string[]> {
    const client = this.open();
    const start = Buffer.from(prefix, 'utf8');
    // etcd reads byte ranges: a prefix is literal, with no pattern to escape.
    const end = prefixEnd(start);
    const openEnded = end.length === 1 && end[0] === 0;
    let from: Buffer = prefix === '' ? Buffer.from([0]) : start;
    let { lo, hi }: { lo: Buffer; hi: Buffer } = firstWindow(from);
    let ratio = 1;
    // After a full page, also the density of its last quarter: the smaller window wins, so
    // a page that ends a sparse family does not send the next window across the dense one after it.
    let tail: { lo: Buffer; ratio: number } | undefined;
    let limit = FIRST_PAGE_KEYS;
    let longestKey = 0;
    let emptyRun = 0;
    let batch: string[] = [];
    for (;;) {
      this.open();
      let to: Buffer = keyAfter(from, lo, hi, ratio) ?? end;
      const tailTo = tail && keyAfter(from, tail.lo, hi, tail.ratio);
      if (tailTo && ((openEnded && to === end) || Buffer.compare(tailTo, to) < 0)) to = tailTo;
      if (!openEnded && Buffer.compare(to, end) >= 0) to = end;
      const wanted = Math.max(1, Math.floor(limit / 2));
      this.trips++;
      const page = await client.kv.range({ key: from, range_end: to, limit, keys_only: true });
      const found = page.kvs.length;
      if (found > 0) {
        // Pages sized by bytes: as many keys as the longest name seen allows, growing
        // from FIRST_PAGE_KEYS while names are short.
        for (const { key } of page.kvs) if (key.length > longestKey) longestKey = key.length;
        const fit = Math.floor(SCAN_PAGE_BYTES / (longestKey + KEY_OVERHEAD_BYTES));
        limit = Math.max(1, Math.min(limit * 4, SCAN_PAGE_KEYS, fit));
      }
      batch.push(...this.textKeys(page.kvs.map(({ key }) => key)));
      if (batch.length >= wanted) {
        yield batch;
        batch = [];
      }
      emptyRun = found === 0 ? emptyRun + 1 : 0;
      if (page.more && found > 0) {
        // The window held more than one answer: the rest of it and on, as wide as the
        // keys just returned suggest for half a page.
        const half = Math.max(1, Math.floor(limit / 2));
        const quarter = Math.floor((found * 3) / 4);
        lo = page.kvs[0].key;
        hi = page.kvs[found - 1].key;
        from = successor(hi);
        ratio = half / found;
        tail = found >= 8 ? { lo: page.kvs[quarter].key, ratio: half / (found - 1 - quarter) } : undefined;
        continue;
      }
      if (to === end) break;
      // The whole window came back: the next one starts where it ended, scaled by how
      // many keys it held against how many were wanted.
      lo = from;
      hi = to;
      ratio = growth(Number(page.count), wanted, emptyRun);
      tail = undefined;
      from = to;
    }
    if (batch.length > 0) yield batch;
  }

  async getMany(keys: string[], _options: { withDump?: boolean } = {}): Promise<Array<StoredEntry | undefined>> {
    const client = this.open();
    if (keys.length === 0) return [];
    // etcd holds only bytes: there is no other type, so nothing to dump.
    const distinct = [...new Set(keys)];
    const found = new Map<string, KeyValue>();
    // One transaction of up to MAX_TXN_OPS gets per round trip, several in flight.
    await this.each(chunks(distinct, MAX_TXN_OPS), async (batch) => {
      this.trips++;
      const reply = await client.kv.txn({ success: batch.map((key) => ({ request_range: { key: Buffer.from(key, 'utf8') } })) });
      reply.responses.forEach((response, i) => {
        const kv = response.response_range.kvs[0];
        if (kv) found.set(batch[i], kv);
      });
    });
    // One TTL lookup per distinct lease, not per key.
    const leases = [...new Set([...found.values()].map((kv) => kv.lease).filter((lease) => lease && lease !== '0'))];
    const expiry = new Map<string, number>();
    await this.each(leases, async (lease) => {
      this.trips++;
      const asked = Date.now();
      const reply = await client.leaseClient.leaseTimeToLive({ ID: lease }).catch(() => undefined);
      const ttl = reply ? Number(reply.TTL) : -1;
      // A lease that expired in between: the key goes any moment now.
      expiry.set(lease, asked + Math.max(0, ttl) * 1000);
    });
    return keys.map((key) => {
      const kv = found.get(key);
      if (!kv) return undefined;
      const expiresAt = kv.lease && kv.lease !== '0' ? expiry.get(kv.lease) : undefined;
      return { key, type: 'string', value: Buffer.from(kv.value ?? Buffer.alloc(0)), expiresAt };
    });
  }

  async putMany(entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]> {
    const client = this.open();
    if (entries.length === 0) return [];
    const now = Date.now();
    const writable: number[] = [];
    const ttls: Array<number | undefined> = [];
    const outcomes: PutOutcome[] = entries.map((entry, i) => {
      if (entry.type !== 'string' || entry.value === undefined) return 'unsupported';
      writable.push(i);
      // Leases count whole seconds: round up, and give an entry due now at least 1 s.
      ttls[i] = entry.expiresAt === undefined ? undefined : Math.max(1, Math.ceil((entry.expiresAt - now) / 1000));
      return 'unsupported';
    });
    // One lease per distinct remaining TTL.
    const distinctTtls = [...new Set(writable.map((i) => ttls[i]).filter((ttl): ttl is number => ttl !== undefined))];
    const leaseOf = new Map<number, string>();
    await this.each(distinctTtls, async (ttl) => {
      this.trips++;
      try {
        const grant = await client.leaseClient.leaseGrant({ TTL: ttl });
        leaseOf.set(ttl, grant.ID);
      } catch (error) {
        // A TTL beyond etcd's longest lease (Redis takes any): its entries are unsupported.
        if (!refusedEntry(error)) throw error;
      }
    });
    await this.each(writable, async (index) => {
      try {
        outcomes[index] = await this.putOne(client, entries[index], ttls[index], leaseOf, mode);
      } catch (error) {
        // One entry etcd cannot take (a value over its request limit) is skipped, not the run.
        if (!refusedEntry(error)) throw error;
        outcomes[index] = 'unsupported';
      }
    });
    return outcomes;
  }

  /** One entry, in its own transaction; `unsupported` when its TTL got no lease. */
  private async putOne(
    client: Etcd3,
    entry: StoredEntry,
    ttl: number | undefined,
    leaseOf: Map<number, string>,
    mode: PutMode,
  ): Promise<PutOutcome> {
    if (ttl !== undefined && !leaseOf.has(ttl)) return 'unsupported';
    const key = Buffer.from(entry.key, 'utf8');
    const value = entry.value!;
    const put = { request_put: { key, value, lease: ttl === undefined ? 0 : leaseOf.get(ttl)!, prev_kv: true } };
    this.trips++;
    if (mode === 'if-absent') {
      const reply = await client.kv.txn({
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [put],
        failure: [{ request_range: { key } }],
      });
      if (reply.succeeded) return 'written';
      return reply.responses[0].response_range.kvs[0]?.value?.equals(value) ? 'same' : 'exists';
    }
    if (ttl === undefined) {
      // Already this value and no lease: leave it (a missing key fails the value compare).
      const reply = await client.kv.txn({
        compare: [
          { key, target: 'Value', result: 'Equal', value },
          { key, target: 'Lease', result: 'Equal', lease: 0 },
        ],
        success: [],
        failure: [put],
      });
      if (reply.succeeded) return 'same';
      return reply.responses[0].response_put.prev_kv ? 'replaced' : 'written';
    }
    const reply = await client.kv.put({ key, value, lease: leaseOf.get(ttl)!, prev_kv: true });
    return reply.prev_kv ? 'replaced' : 'written';
  }

  async deleteGroupsIfUnchanged(groups: GuardedGroup[]): Promise<GroupDeleteOutcome[]> {
    this.open();
    if (groups.length === 0) return [];
    for (const { keys, guards = [] } of groups) {
      // etcd refuses a transaction of more than MAX_TXN_OPS compares ("too many operations in txn request").
      const valued = guards.filter((guard) => guard.expected !== null).length;
      const compares = keys.length + guards.length + (this.unwrittenSince === undefined ? 0 : keys.length + valued);
      if (compares > MAX_TXN_OPS) {
        throw new Error(
          `a group of ${keys.length} keys and ${guards.length} guards needs ${compares} compares, more than one etcd transaction takes (${MAX_TXN_OPS})`,
        );
      }
    }
    // Groups that share a key go in the caller's order, the others side by side.
    return deleteInChains(groups, PARALLEL, (group) => this.slots.run(() => this.deleteGroup(group)));
  }

  /**
   * One transaction: every key still holds its expected bytes (a missing key fails a value
   * compare) and every guard is as the scan saw it, then all the keys go; otherwise nothing
   * does (DESIGN §4.1), and the keys are counted: none left means an earlier try of this
   * transaction went through and its answer was lost (the member restarted; the call was
   * tried again). The planner keeps each group within maxGroupSize(); etcd counts nested
   * transactions against the same limit.
   */
  private async deleteGroup({ keys, guards = [] }: GuardedGroup): Promise<GroupDeleteOutcome> {
    const client = this.open();
    if (keys.length === 0) return 'deleted';
    const compares: Array<ReturnType<typeof guardCompare> | ReturnType<typeof unwrittenCompare>> = [
      ...keys.map(({ key, expected }) => valueCompare(key, expected)),
      ...guards.map(guardCompare),
    ];
    // A rewrite with the same bytes since the run's first read (a revived site) is a change too.
    if (this.unwrittenSince !== undefined) {
      const unwritten = (key: string) => unwrittenCompare(key, this.unwrittenSince!);
      compares.push(
        ...keys.map(({ key }) => unwritten(key)),
        ...guards.filter((g) => g.expected !== null).map(({ key }) => unwritten(key)),
      );
    }
    const names = [...new Set(keys.map((k) => k.key))].map((key) => Buffer.from(key, 'utf8'));
    const deletes = names.map((key) => ({ request_delete_range: { key } }));
    const counts = names.map((key) => ({ request_range: { key, count_only: true } }));
    this.trips++;
    const reply = await client.kv.txn({ compare: compares, success: deletes, failure: counts });
    if (reply.succeeded) return 'deleted';
    return reply.responses.every((response) => Number(response.response_range?.count ?? 1) === 0) ? 'deleted' : 'changed';
  }

  protected async disconnect(): Promise<void> {
    this.calls.close(`the store ${this.description} was closed`);
    this.client.close();
  }
}

function valueCompare(key: string, expected: Buffer) {
  return { key: Buffer.from(key, 'utf8'), target: 'Value' as const, result: 'Equal' as const, value: expected };
}

/** The key was last written at the given revision or before (a missing key's is 0). */
function unwrittenCompare(key: string, revision: bigint) {
  return { key: Buffer.from(key, 'utf8'), target: 'Mod' as const, result: 'Less' as const, mod_revision: String(revision + 1n) };
}

/** A guard that must be absent compares its version with 0: etcd's "no such key". */
function guardCompare(guard: KeyGuard) {
  if (guard.expected !== null) return valueCompare(guard.key, guard.expected);
  return { key: Buffer.from(guard.key, 'utf8'), target: 'Version' as const, result: 'Equal' as const, version: 0 };
}

/** Removes anything secret from a client error before it is shown. */
function sanitize(message: string, settings: EtcdSettings): string {
  // grpc pads UNAVAILABLE with empty details: keep what says something.
  // grpc: "14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED …": the last error says it.
  const text = (connectionLossDetail(message) ?? message)
    .split('\n')[0]
    .replace(/\s*Last error: null\.?/, '')
    .replace(/\s*Resolution note:\s*$/, '')
    .trim()
    .replace(/\.$/, '');
  return scrubSecrets(text, secretsOf({ ...settings }));
}

export async function connectEtcd(settings: EtcdSettings): Promise<EtcdStore> {
  const description = describeEtcd(settings);
  let connected = false;
  const calls = new CallsInFlight();
  const client = new Etcd3(etcdOptions(settings, () => connected, calls));
  const timeout = settings.storeTimeout ?? DEFAULT_TIMEOUT_MS;
  const drop = () => {
    calls.close(`the connection to ${description} was given up`);
    client.close();
  };
  settings.signal?.addEventListener('abort', drop, { once: true });
  try {
    // Any request proves the cluster answers (and that the credentials work).
    await client.kv.range({ key: Buffer.from([0]), limit: 1, keys_only: true }, { deadline: Date.now() + timeout });
    connected = true;
  } catch (error) {
    drop();
    const message = sanitize((error as Error).message, settings);
    if (/deadline exceeded/i.test(message)) {
      throw new StoreUnreachableError(`cannot reach etcd at ${description}: no answer within ${timeout / 1000} s`, {
        hint: `check ${FLAGS_TO_CHECK}, or raise --store-timeout (REAPER_STORE_TIMEOUT)`,
      });
    }
    throw new StoreUnreachableError(`cannot reach etcd at ${description}: ${message}`, { hint: `check ${FLAGS_TO_CHECK}` });
  } finally {
    settings.signal?.removeEventListener('abort', drop);
  }
  return new EtcdStore(client, description, calls);
}

export const storePlugin: StorePlugin = {
  name: 'etcd',
  create: async (settings: PluginSettings) => {
    const etcd = settings as EtcdSettings;
    try {
      return await connectEtcd(etcd);
    } catch (error) {
      // connectEtcd's own errors are already sanitized, with their hint apart; a setting
      // refused before any connection is said as it is.
      if (error instanceof StoreUnreachableError || error instanceof RefusedSetting) throw error;
      const message = sanitize((error as Error).message, etcd);
      throw new Error(`cannot reach etcd at ${safeDescribe(etcd)}: ${message}; check ${FLAGS_TO_CHECK}`);
    }
  },
};

function safeDescribe(settings: EtcdSettings): string {
  try {
    return describeEtcd(settings);
  } catch {
    return 'etcd://(invalid endpoints)';
  }
}

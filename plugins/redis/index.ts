import { isUtf8 } from 'node:buffer';
import { Redis, type RedisOptions } from 'ioredis';
import { escapeGlob } from '../../src/core/keys';
import type { ExpectedKey, GroupDeleteOutcome, KeyValueStore, PutMode, PutOutcome, StoredEntry } from '../../src/ports/key-value-store';
import type { PluginSettings, StorePlugin } from '../../src/ports/plugins';

const SCAN_COUNT = 1000;

function escapeBytes(bytes: Buffer): string {
  return [...bytes].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

/**
 * Checks every key of every group against its expected value and deletes a group only
 * when all of its keys match; one script run is atomic, so the plugin cannot
 * re-register a domain between the check and the delete (DESIGN §4.1).
 * KEYS: the groups' keys, flattened. ARGV: group count, each group's size, then the
 * expected values in KEYS order.
 */
const DELETE_GROUPS_LUA = `
local groups = tonumber(ARGV[1])
local outcome = {}
local first = 1
for g = 1, groups do
  local size = tonumber(ARGV[1 + g])
  local unchanged = true
  for i = first, first + size - 1 do
    if redis.call('TYPE', KEYS[i]).ok ~= 'string' or redis.call('GET', KEYS[i]) ~= ARGV[1 + groups + i] then
      unchanged = false
      break
    end
  end
  if unchanged then
    for i = first, first + size - 1 do redis.call('DEL', KEYS[i]) end
    outcome[g] = 1
  else
    outcome[g] = 0
  end
  first = first + size
end
return outcome
`;

/**
 * Type, value and remaining TTL of each key in one round trip: a pipeline of three
 * commands per key costs the client far more than the server (objects, promises).
 */
const READ_ENTRIES_LUA = `
local withDump = ARGV[1] == '1'
local out = {}
for i, key in ipairs(KEYS) do
  local kind = redis.call('TYPE', key).ok
  out[3 * i - 2] = kind
  if kind == 'string' then
    out[3 * i - 1] = redis.call('GET', key)
  elseif withDump and kind ~= 'none' then
    out[3 * i - 1] = redis.call('DUMP', key)
  else
    out[3 * i - 1] = false
  end
  out[3 * i] = redis.call('PTTL', key)
end
return out
`;

/**
 * Writes entries, each with its remaining TTL in ms (0: none). Strings are SET; other
 * types come as DUMP payloads and are RESTOREd. KEYS: the keys. ARGV: the mode, then
 * per key its kind ('s' or 'd'), payload and TTL.
 */
const PUT_ENTRIES_LUA = `
local function framed(items)
  local out = {}
  for i, item in ipairs(items) do out[i] = #item .. ':' .. item end
  return table.concat(out)
end

-- A key's content in a canonical form: DUMP payloads of equal sets or hashes differ
-- with their internal order and encoding.
local function content(key)
  local kind = redis.call('TYPE', key).ok
  if kind == 'hash' then
    local flat, fields = redis.call('HGETALL', key), {}
    for i = 1, #flat, 2 do fields[#fields + 1] = framed({ flat[i], flat[i + 1] }) end
    table.sort(fields)
    return kind .. framed(fields)
  elseif kind == 'set' then
    local members = redis.call('SMEMBERS', key)
    table.sort(members)
    return kind .. framed(members)
  elseif kind == 'list' then
    return kind .. framed(redis.call('LRANGE', key, 0, -1))
  elseif kind == 'zset' then
    return kind .. framed(redis.call('ZRANGE', key, 0, -1, 'WITHSCORES'))
  end
  return kind .. redis.call('DUMP', key)
end

-- Whether an existing non-string key holds what a DUMP payload holds: the payload is
-- restored under a scratch name, compared and removed within this one atomic script.
local function holdsDump(key, payload)
  if redis.call('DUMP', key) == payload then return true end
  local scratch = key .. ':pages-reaper-restore-check'
  if redis.call('EXISTS', scratch) == 1 then return false end
  redis.call('RESTORE', scratch, 0, payload)
  local same = content(key) == content(scratch)
  redis.call('DEL', scratch)
  return same
end

local overwrite = ARGV[1] == 'overwrite'
local out = {}
for i, key in ipairs(KEYS) do
  local kind, payload, ttl = ARGV[3 * i - 1], ARGV[3 * i], tonumber(ARGV[3 * i + 1])
  local exists = redis.call('EXISTS', key) == 1
  local same = false
  if exists and kind == 's' then
    same = redis.call('TYPE', key).ok == 'string' and redis.call('GET', key) == payload
  elseif exists then
    same = redis.call('TYPE', key).ok ~= 'string' and holdsDump(key, payload)
  end
  if same and (not overwrite or ttl == 0 and redis.call('PTTL', key) == -1) then
    out[i] = 'same'
  elseif exists and not overwrite then
    out[i] = 'exists'
  else
    if kind == 's' then
      if ttl > 0 then redis.call('SET', key, payload, 'PX', ttl) else redis.call('SET', key, payload) end
    else
      redis.call('RESTORE', key, ttl, payload, 'REPLACE')
    end
    out[i] = exists and 'replaced' or 'written'
  end
end
return out
`;

type ScriptedRedis = Redis & {
  reaperReadEntriesBuffer(numberOfKeys: number, ...keysThenFlag: string[]): Promise<Array<Buffer | number | null>>;
  reaperPutEntries(numberOfKeys: number, ...args: Array<string | Buffer | number>): Promise<string[]>;
  reaperDeleteGroups(numberOfKeys: number, ...args: Array<string | Buffer | number>): Promise<number[]>;
};

export class RedisStore implements KeyValueStore {
  private readonly redis: ScriptedRedis;
  private trips = 0;
  private readonly unnamed: string[] = [];

  constructor(redis: Redis, private readonly description: string) {
    redis.defineCommand('reaperDeleteGroups', { lua: DELETE_GROUPS_LUA });
    redis.defineCommand('reaperReadEntries', { lua: READ_ENTRIES_LUA });
    redis.defineCommand('reaperPutEntries', { lua: PUT_ENTRIES_LUA });
    this.redis = redis as ScriptedRedis;
  }

  describe(): string {
    return this.description;
  }

  roundTrips(): number {
    return this.trips;
  }

  async *scan(prefix: string): AsyncIterable<string[]> {
    const match = prefix === '' ? [] : ['MATCH', escapeGlob(prefix) + '*'];
    let cursor = '0';
    do {
      this.trips++;
      const [next, names] = (await this.redis.callBuffer('SCAN', cursor, ...match, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
      cursor = next.toString();
      const keys: string[] = [];
      for (const name of names) {
        // A name that is not UTF-8 cannot round-trip through a string: say so, never drop it silently.
        if (isUtf8(name)) keys.push(name.toString());
        else this.unnamed.push(escapeBytes(name));
      }
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }

  skippedKeys(): string[] {
    return [...this.unnamed];
  }

  async getMany(keys: string[], options: { withDump?: boolean } = {}): Promise<Array<StoredEntry | undefined>> {
    if (keys.length === 0) return [];
    this.trips++;
    const reply = await this.redis.reaperReadEntriesBuffer(keys.length, ...keys, options.withDump ? '1' : '0');
    const now = Date.now();
    return keys.map((key, i) => {
      const type = String(reply[3 * i]);
      if (type === 'none') return undefined;
      const ttl = Number(reply[3 * i + 2]);
      const expiresAt = ttl >= 0 ? now + ttl : undefined;
      const payload = reply[3 * i + 1] as Buffer | null;
      if (type === 'string') return { key, type, value: payload!, expiresAt };
      return payload ? { key, type, dump: payload, expiresAt } : { key, type, expiresAt };
    });
  }

  async putMany(entries: StoredEntry[], mode: PutMode): Promise<PutOutcome[]> {
    if (entries.length === 0) return [];
    const now = Date.now();
    const args: Array<string | Buffer | number> = [];
    const writable: number[] = [];
    const outcomes: PutOutcome[] = entries.map((entry, i) => {
      const payload = entry.type === 'string' ? entry.value : entry.dump;
      if (payload === undefined) return 'unsupported';
      writable.push(i);
      // An entry due to expire gets at least 1 ms: the caller skips the expired ones.
      const ttl = entry.expiresAt === undefined ? 0 : Math.max(1, entry.expiresAt - now);
      args.push(entry.type === 'string' ? 's' : 'd', payload, ttl);
      return 'unsupported';
    });
    if (writable.length === 0) return outcomes;
    this.trips++;
    const reply = await this.redis.reaperPutEntries(writable.length, ...writable.map((i) => entries[i].key), mode, ...args);
    writable.forEach((index, j) => (outcomes[index] = reply[j] as PutOutcome));
    return outcomes;
  }

  async deleteGroupsIfUnchanged(groups: ExpectedKey[][]): Promise<GroupDeleteOutcome[]> {
    if (groups.length === 0) return [];
    const keys = groups.flat();
    this.trips++;
    const outcome = await this.redis.reaperDeleteGroups(
      keys.length,
      ...keys.map((k) => k.key),
      groups.length,
      ...groups.map((g) => g.length),
      ...keys.map((k) => k.expected),
    );
    return outcome.map((deleted) => (deleted === 1 ? 'deleted' : 'changed'));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export interface RedisSettings {
  redisUrl?: string;
  redisHost?: string;
  redisPort?: number;
  redisPassword?: string;
  redisDb?: number;
}

/** Where the store is, for logs: the URL without its password. */
export function describeRedis(settings: RedisSettings): string {
  if (settings.redisUrl) {
    // ioredis also takes the password from `?password=`: drop the whole query.
    const url = new URL(settings.redisUrl);
    url.password = '';
    url.search = '';
    return url.toString().replace(/\/$/, '');
  }
  return `redis://${settings.redisHost ?? 'localhost'}:${settings.redisPort ?? 6379}/${settings.redisDb ?? 0}`;
}

export function redisOptions(settings: RedisSettings, hasConnected: () => boolean = () => true): RedisOptions {
  const common: RedisOptions = {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 2,
    // A reaper that cannot reach its store should fail fast and say so, not retry
    // forever; a dropped connection mid-run gets a few quick retries.
    retryStrategy: (times) => (!hasConnected() || times > 3 ? null : times * 200),
  };
  if (settings.redisUrl) return common;
  return {
    ...common,
    host: settings.redisHost ?? 'localhost',
    port: settings.redisPort ?? 6379,
    password: settings.redisPassword || undefined,
    db: settings.redisDb ?? 0,
  };
}

export async function connectRedis(settings: RedisSettings): Promise<RedisStore> {
  const description = describeRedis(settings);
  let connected = false;
  const options = redisOptions(settings, () => connected);
  const redis = settings.redisUrl ? new Redis(settings.redisUrl, options) : new Redis(options);
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await redis.connect();
    await redis.ping();
    connected = true;
  } catch (error) {
    if (redis.status !== 'end') redis.disconnect();
    const cause = (lastError ?? (error as Error)).message.replace(/:\/\/[^@/]*@/, '://');
    throw new Error(`cannot reach Redis at ${description}: ${cause}; check --redis-host, --redis-port, --redis-password or --redis-url`);
  }
  return new RedisStore(redis, description);
}

export const storePlugin: StorePlugin = {
  name: 'redis',
  create: (settings: PluginSettings) => connectRedis(settings as RedisSettings),
};

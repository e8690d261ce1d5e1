import { isUtf8 } from 'node:buffer';
import type { GuardedGroup, StoredEntry } from '../../src/ports/key-value-store';

/** Keys asked for per SCAN call. */
export const SCAN_COUNT = 1000;

/**
 * Checks every key of every group against its expected value, and every guard key of
 * the group against the state the scan saw (absent, or a value), and deletes a group's
 * keys only when all of them match; one script run is atomic, so the plugin cannot
 * register or re-register a domain between the check and the delete (DESIGN §4.1, §4.8).
 * A group none of whose keys is left counts as deleted (1), one that changed as 0.
 * Guards that must be absent are checked with one EXISTS per group; each key and valued
 * guard costs one GET, and a group's keys go with one DEL.
 * KEYS: per group, its keys then its guard keys. ARGV: group count; per group its key
 * count, guard count and absent-guard count; then per group the expected value of each
 * key, then each guard that must hold a value: its value (guards that must hold a value
 * come first among a group's guard keys).
 */
export const DELETE_GROUPS_LUA = `
local groups = tonumber(ARGV[1])
local outcome = {}
local first = 1
local arg = 2 + 3 * groups
for g = 1, groups do
  local size = tonumber(ARGV[3 * g - 1])
  local guards = tonumber(ARGV[3 * g])
  local absent = tonumber(ARGV[3 * g + 1])
  local valued = guards - absent
  local unchanged = true
  for i = 0, size + valued - 1 do
    local key = KEYS[first + i]
    -- GET fails on a key of another type: pcall turns that into a mismatch.
    if redis.pcall('GET', key) ~= ARGV[arg + i] then
      unchanged = false
      break
    end
  end
  if unchanged and absent > 0 then
    unchanged = redis.call('EXISTS', unpack(KEYS, first + size + valued, first + size + guards - 1)) == 0
  end
  if unchanged then
    if size > 0 then redis.call('DEL', unpack(KEYS, first, first + size - 1)) end
    outcome[g] = 1
  elseif size > 0 and redis.call('EXISTS', unpack(KEYS, first, first + size - 1)) == 0 then
    -- Every key is gone already: this script ran once and its answer was lost (ioredis
    -- sends it again once it has connected again).
    outcome[g] = 1
  else
    outcome[g] = 0
  end
  first = first + size + guards
  arg = arg + size + valued
end
return outcome
`;

/**
 * Value, type and remaining TTL of each key in one round trip, for the least work on the
 * server: one MGET for every value, TYPE only for a key whose value came back nil (absent,
 * or not a string), PTTL only when asked (ARGV[2] = '1'; with '0' the TTL is not read).
 * ARGV[1] = '1' adds the DUMP of non-string keys. The reply is each key's value (nil when
 * it holds no string), then four items for each key that is not a string without expiry:
 * its index, its type (a string's as the integer 0), its DUMP or nil, and its PTTL (-2:
 * absent, -3: not read). A backup reads millions of keys, nearly all strings without
 * expiry, and ioredis decodes item by item: one item a key instead of three (type, value,
 * PTTL) took what it allocates decoding a 100,000-domain backup from 311 to 180 MB.
 */
export const READ_ENTRIES_LUA = `
local withDump = ARGV[1] == '1'
local withTtl = ARGV[2] ~= '0'
local values = redis.call('MGET', unpack(KEYS))
local out = {}
local tail = #KEYS
for i, key in ipairs(KEYS) do
  local value = values[i]
  local kind = 'string'
  if not value then
    kind = redis.call('TYPE', key).ok
    if kind == 'string' then value = redis.call('GET', key) end
  end
  out[i] = value or false
  local ttl = -3
  if kind == 'none' then
    ttl = -2
  elseif withTtl then
    ttl = redis.call('PTTL', key)
  end
  if kind ~= 'string' or ttl ~= -1 and ttl ~= -3 then
    out[tail + 1] = i
    if kind == 'string' then out[tail + 2] = 0 else out[tail + 2] = kind end
    if withDump and kind ~= 'string' and kind ~= 'none' then
      out[tail + 3] = redis.call('DUMP', key)
    else
      out[tail + 3] = false
    end
    out[tail + 4] = ttl
    tail = tail + 4
  end
end
return out
`;

/**
 * Writes entries, each with its remaining TTL in ms (0: none). Strings are SET; other
 * types come as DUMP payloads and are RESTOREd. KEYS: the keys, then optionally one
 * scratch key (Redis Cluster: a name in the keys' slot). ARGV: the mode, then per key
 * its kind ('s' or 'd'), payload and TTL.
 */
export const PUT_ENTRIES_LUA = `
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

-- Whether a pcall's answer is the error it caught.
local function refused(answer)
  return type(answer) == 'table' and answer.err ~= nil
end

-- Whether an existing non-string key holds what a DUMP payload holds: the payload is
-- restored under a scratch name, compared and removed within this one atomic script.
local count = (#ARGV - 1) / 3

local function holdsDump(key, payload)
  if redis.call('DUMP', key) == payload then return true end
  local scratch = KEYS[count + 1] or (key .. ':pages-reaper-restore-check')
  if redis.call('EXISTS', scratch) == 1 then return false end
  -- A payload this server refuses (another Redis version's) holds nothing it can compare.
  if refused(redis.pcall('RESTORE', scratch, 0, payload)) then return false end
  local same = content(key) == content(scratch)
  redis.call('DEL', scratch)
  return same
end

local overwrite = ARGV[1] == 'overwrite'
local out = {}
for i = 1, count do
  local key = KEYS[i]
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
      out[i] = exists and 'replaced' or 'written'
    elseif refused(redis.pcall('RESTORE', key, ttl, payload, 'REPLACE')) then
      -- The server refused the payload (another Redis version's, or damaged): that key is skipped, not the run.
      out[i] = 'unsupported'
    else
      out[i] = exists and 'replaced' or 'written'
    end
  end
end
return out
`;

/** Deletes one key only if it still holds a string equal to ARGV[1]; 1 when deleted. */
export const DELETE_IF_EQUAL_LUA = `
if redis.call('TYPE', KEYS[1]).ok == 'string' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * READ_ENTRIES_LUA's reply as entries, absent keys undefined: a string key without expiry
 * from its value alone, any other from its four items after the values.
 */
export function decodeReadEntries(keys: string[], reply: Array<Buffer | number | null>, now: number): Array<StoredEntry | undefined> {
  const entries: Array<StoredEntry | undefined> = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const value = reply[i] as Buffer | null;
    entries[i] = value === null ? undefined : { key: keys[i], type: 'string', value, expiresAt: undefined };
  }
  for (let at = keys.length; at + 3 < reply.length; at += 4) {
    const i = Number(reply[at]) - 1;
    const kind = reply[at + 1];
    const type = kind === 0 ? 'string' : String(kind);
    if (type === 'none') {
      entries[i] = undefined;
      continue;
    }
    const ttl = Number(reply[at + 3]);
    // -1: no expiry; -3: not read (the caller asked for values only).
    const expiresAt = ttl >= 0 ? now + ttl : undefined;
    const key = keys[i];
    if (type === 'string') entries[i] = { key, type, value: reply[i] as Buffer, expiresAt };
    else {
      const dump = reply[at + 2] as Buffer | null;
      entries[i] = dump ? { key, type, dump, expiresAt } : { key, type, expiresAt };
    }
  }
  return entries;
}

/**
 * PUT_ENTRIES_LUA's arguments for one entry — kind, payload and TTL in ms (0: none) —
 * or undefined when the entry has nothing Redis can write.
 */
export function putEntryArgs(entry: StoredEntry, now: number): [string, Buffer, number] | undefined {
  const payload = entry.type === 'string' ? entry.value : entry.dump;
  if (payload === undefined) return undefined;
  // An entry due to expire gets at least 1 ms: the caller skips the expired ones.
  const ttl = entry.expiresAt === undefined ? 0 : Math.max(1, entry.expiresAt - now);
  return [entry.type === 'string' ? 's' : 'd', payload, ttl];
}

/**
 * DELETE_GROUPS_LUA's keys and arguments for `groups`. Within a group, guards that must
 * hold a value come before guards that must be absent, as the script expects.
 */
export function deleteGroupsArgs(groups: GuardedGroup[]): { keys: string[]; args: Array<string | Buffer | number> } {
  const keys: string[] = [];
  const counts: number[] = [];
  const values: Array<string | Buffer> = [];
  for (const group of groups) {
    const guards = group.guards ?? [];
    const valued = guards.filter((guard) => guard.expected !== null);
    const absent = guards.filter((guard) => guard.expected === null);
    keys.push(...group.keys.map((k) => k.key), ...valued.map((g) => g.key), ...absent.map((g) => g.key));
    counts.push(group.keys.length, guards.length, absent.length);
    values.push(...group.keys.map((k) => asArgument(k.expected)), ...valued.map((g) => asArgument(g.expected!)));
  }
  return { keys, args: [groups.length, ...counts, ...values] };
}

/**
 * A value as the argument that sends its exact bytes most cheaply: UTF-8 as text, which
 * encodes back to the same bytes. One Buffer among a call's arguments makes ioredis build
 * the whole command as a list of buffers, each string measured twice and copied on its
 * own: for a reap's delete calls of a few hundred arguments, a seventh of their time.
 */
function asArgument(value: Buffer): string | Buffer {
  return isUtf8(value) ? value.toString('utf8') : value;
}

// The scan's two hottest tables on their own, at a million domains, in process: recording
// 8 million router keys (a million routers, 8 sub-keys each, in a shuffled order as SCAN
// returns them: each key lands on a random router of a table far larger than the CPU's
// caches) in a RouterTable, and adding and finding a million domains in a DomainArena.
// Prints the best of a few rounds of each, so a change to either table's layout can be
// compared on the same machine without Redis or the rest of a run.
// Usage: node bench/tables.js [--domains 1000000] [--rounds 3]   (after npm run build)
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

const { values: args } = parseArgs({
  options: { domains: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' } },
});
const N = Number(args.domains);
const ROUNDS = Number(args.rounds);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(ROUNDS) || ROUNDS < 1) {
  process.stderr.write('bench/tables.js: --domains and --rounds must be positive integers\n');
  process.exit(2);
}
const dist = path.resolve(__dirname, '..', 'dist', 'src', 'core');
const { RouterTable, ROUTER_SUFFIXES } = require(path.join(dist, 'traefik-tables.js'));
const { DomainArena } = require(path.join(dist, 'domain-arena.js'));

// A fixed shuffle, so every run and every build sees the same order.
let seed = 12345;
const random = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};
function shuffle(array) {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
  return array;
}

function best(round) {
  let fastest = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const started = process.hrtime.bigint();
    round();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - started) / 1e6);
  }
  return Math.round(fastest);
}

const root = 'traefik/http/routers/';
const suffixes = ROUTER_SUFFIXES.slice(0, 8);
const routerKeys = shuffle(Array.from({ length: N * 8 }, (_, i) => i)).map(
  (i) => `${root}custom-site${i >>> 3}-example${(i >>> 3) % 97}-com/${suffixes[i & 7]}`,
);
const routersMs = best(() => {
  const table = new RouterTable(root, ROUTER_SUFFIXES);
  for (const key of routerKeys) table.addKey(key);
  if (table.size !== N) throw new Error(`recorded ${table.size} routers, not ${N}`);
});

const domains = Array.from({ length: N }, (_, i) => `site${i}.example${i % 97}.com`);
const order = shuffle(Array.from({ length: N }, (_, i) => i));
let arena;
const appendMs = best(() => {
  arena = new DomainArena();
  for (const i of order) arena.append(domains[i], 0, `user${i % 1000}:site${i}`);
});
const findMs = best(() => {
  let found = 0;
  for (let i = 0; i < N; i++) if (arena.find(domains[i]) >= 0 && arena.find(domains[(i * 7) % N]) >= 0) found++;
  if (found !== N) throw new Error(`found ${found} of ${N}`);
});

process.stdout.write(
  `${JSON.stringify({ domains: N, rounds: ROUNDS, routerKeysMs: routersMs, arenaAppendMs: appendMs, arenaFind2xMs: findMs })}\n`,
);

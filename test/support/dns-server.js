'use strict';
/**
 * A real DNS server for tests: dnsmasq from Debian's `dnsmasq-base`, in the foreground,
 * on a private loopback port, with no config file, no /etc/hosts, no upstream resolver.
 *
 * - `zones`: served only from what is given here (`--local=/zone/`): a name without
 *   any record is NXDOMAIN, a name with an A record but no TXT answers NODATA.
 * - `txt`: `[name, ...characterStrings]`, several entries per name allowed.
 * - `hosts`: `[name, ipv4]` (an A record, so the name exists).
 * - `silent`: zones delegated to a UDP socket that reads and never answers (a dead
 *   server): lookups there time out.
 * Names outside every zone are REFUSED (dnsmasq has no upstream).
 */
const { spawn } = require('node:child_process');
const dgram = require('node:dgram');
const { promises: dns } = require('node:dns');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const ATTEMPTS = 5;

/** @type {Set<import('node:child_process').ChildProcess>} */
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The dnsmasq binary, or undefined when it is not installed. */
function dnsmasqPath() {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/bin', '/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'dnsmasq');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * How a test file decides to run: always in CI (CI=true), where a missing dnsmasq makes
 * the tests fail loudly; locally without dnsmasq, skipped with the reason on stderr.
 * @returns {boolean} whether to run the DNS tests
 */
function shouldRunDnsTests() {
  const ci = process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI.toLowerCase());
  if (dnsmasqPath() || ci) return true;
  process.stderr.write('DNS tests skipped: dnsmasq is not installed (apt-get install -y dnsmasq-base, or npm run setup)\n');
  return false;
}

/** @returns {Promise<dgram.Socket>} a UDP socket on a free loopback port that never answers */
function silentUdp() {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.on('message', () => {});
    socket.bind(0, HOST, () => resolve(socket));
  });
}

/** @returns {Promise<number>} a UDP port that was free a moment ago */
async function freeUdpPort() {
  const socket = await silentUdp();
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(() => resolve(undefined)));
  return port;
}

/**
 * One character-string of `txt-record=name,string,string` in the config file, written
 * unquoted: a comma would start the next string.
 * @param {string} text
 */
function txtString(text) {
  if (/[",\\]/.test(text)) throw new Error(`test TXT strings must not hold quotes, commas or backslashes: ${text}`);
  return text;
}

/** Whether the server answers at all (NXDOMAIN is an answer). @param {number} port */
async function answers(port) {
  const resolver = new dns.Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`${HOST}:${port}`]);
  try {
    await resolver.resolveTxt('ready.probe.');
    return true;
  } catch (error) {
    return !['ETIMEOUT', 'ECONNREFUSED', 'ECANCELLED'].includes(/** @type {any} */ (error).code);
  }
}

/**
 * @param {{ zones?: string[], txt?: string[][], hosts?: string[][], silent?: string[] }} spec
 * @returns {Promise<{ host: string, port: number, server: string, stop: () => Promise<void> }>}
 */
async function startDnsmasq(spec) {
  const binary = dnsmasqPath();
  if (!binary) throw new Error('dnsmasq is not installed: run `apt-get install -y dnsmasq-base` (npm run setup does)');
  const dead = await silentUdp();
  const deadPort = dead.address().port;
  // In a file of its own: a benchmark's zone holds thousands of records.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pages-reaper-dnsmasq-'));
  const conf = path.join(dir, 'dnsmasq.conf');
  fs.writeFileSync(
    conf,
    [
      ...(spec.zones ?? []).map((zone) => `local=/${zone}/`),
      'local=/probe/',
      ...(spec.txt ?? []).map(([name, ...strings]) => `txt-record=${name},${strings.map(txtString).join(',')}`),
      ...(spec.hosts ?? []).map(([name, ip]) => `host-record=${name},${ip}`),
      ...(spec.silent ?? []).map((zone) => `server=/${zone}/${HOST}#${deadPort}`),
      '',
    ].join('\n'),
  );
  const cleanup = async () => {
    await new Promise((resolve) => dead.close(() => resolve(undefined)));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  let lastError;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = await freeUdpPort();
    const child = spawn(
      binary,
      [
        '--no-daemon',
        `--conf-file=${conf}`,
        '--no-resolv',
        '--no-hosts',
        '--no-poll',
        '--pid-file=',
        `--port=${port}`,
        `--listen-address=${HOST}`,
        '--bind-interfaces',
        '--cache-size=0',
        '--local-ttl=0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.add(child);
    let output = '';
    const collect = (/** @type {Buffer} */ chunk) => (output = (output + chunk.toString()).slice(-8192));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let exited = false;
    const gone = new Promise((resolve) =>
      child.once('exit', () => {
        exited = true;
        running.delete(child);
        resolve(undefined);
      }),
    );
    const stopChild = async () => {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    };
    const deadline = Date.now() + READY_TIMEOUT_MS;
    try {
      for (;;) {
        if (exited) throw new Error(`dnsmasq exited before it was ready:\n${output}`);
        if ((await answers(port)) && !exited) break;
        if (Date.now() > deadline) throw new Error(`dnsmasq not ready after ${READY_TIMEOUT_MS} ms:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return {
        host: HOST,
        port,
        server: `${HOST}:${port}`,
        stop: async () => {
          await stopChild();
          await cleanup();
        },
      };
    } catch (error) {
      await stopChild();
      lastError = error;
      if (!/address already in use/i.test(output)) break;
    }
  }
  await cleanup();
  throw lastError;
}

module.exports = { dnsmasqPath, shouldRunDnsTests, startDnsmasq, freeUdpPort };

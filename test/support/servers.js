'use strict';
/**
 * Starts real Redis and etcd servers from Debian's packages on private loopback
 * ports, each in its own temporary directory, for integration tests.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const ATTEMPTS = 5;

/** Children still running; killed if the test process exits without stopping them. */
/** @type {Set<import('node:child_process').ChildProcess>} */
const running = new Set();
let exitHookInstalled = false;

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reserves `count` distinct free ports by holding them all open at once.
 * @param {number} count
 * @returns {Promise<number[]>}
 */
async function freePorts(count) {
  /** @type {net.Server[]} */
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => resolve(server));
  })));
  const ports = servers.map((s) => /** @type {net.AddressInfo} */ (s.address()).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** @returns {Promise<number>} a port that was free on 127.0.0.1 a moment ago */
async function freePort() {
  return (await freePorts(1))[0];
}

/** @param {string} name */
function requireBinary(name) {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/sbin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} is not installed; run \`apt-get install -y redis-server etcd-server\``);
}

/**
 * Spawns a server in the foreground (never daemonized, so it cannot outlive us
 * unnoticed) and keeps the tail of its output for error messages.
 * @param {string} command
 * @param {string[]} args
 */
function spawnServer(command, args) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (/** @type {Buffer} */ chunk) => {
    output = (output + chunk.toString()).slice(-8192);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      collect(Buffer.from(String(err)));
      resolve(null);
    });
  });
  running.add(child);
  exited.then(() => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }

  let done = false;
  exited.then(() => {
    done = true;
  });

  return {
    child,
    exited,
    hasExited: () => done,
    output: () => output,
    /** SIGTERM, then SIGKILL if it lingers; resolves once the process is gone. */
    async stop() {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Launches a server, retrying on fresh ports and a fresh directory when the
 * ports turn out to be taken (another process may grab them after `freePorts`).
 * @template T
 * @param {string} binary
 * @param {(dir: string) => Promise<{ args: string[], probe: () => Promise<boolean>, info: T }>} prepare
 * @returns {Promise<T & { stop: () => Promise<void> }>}
 */
async function launch(binary, prepare) {
  const command = requireBinary(binary);
  let lastError;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pages-reaper-${binary}-`));
    const { args, probe, info } = await prepare(dir);
    const server = spawnServer(command, args);
    const stop = async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
      await waitUntilReady(binary, server, probe);
      return { ...info, stop };
    } catch (err) {
      await stop();
      lastError = err;
      if (!/address already in use/i.test(server.output())) throw err;
    }
  }
  throw lastError;
}

/**
 * @param {string} name
 * @param {ReturnType<typeof spawnServer>} server
 * @param {() => Promise<boolean>} probe
 */
async function waitUntilReady(name, server, probe) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (server.hasExited()) {
      throw new Error(`${name} exited before it was ready:\n${server.output()}`);
    }
    // A server that answers but then dies (e.g. a port clash) must not count as ready.
    if (await probe() && !server.hasExited()) return;
    if (Date.now() > deadline) {
      throw new Error(`${name} not ready after ${READY_TIMEOUT_MS} ms:\n${server.output()}`);
    }
    await sleep(20);
  }
}

/** @param {string[]} parts */
const resp = (parts) => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;

/**
 * Sends PING (after AUTH when a password is given) over a raw connection.
 * @param {{ host?: string, port: number, password?: string }} target
 * @returns {Promise<boolean>} whether the server answered +PONG
 */
function pingRedis({ host = HOST, port, password }) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = '';
    const finish = (/** @type {boolean} */ ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('+PONG\r\n')) finish(true);
      else if (reply.includes('-')) finish(false);
    });
    socket.write((password === undefined ? '' : resp(['AUTH', password])) + resp(['PING']));
  });
}

/**
 * @param {{ password?: string, port?: number }} [options] `port`: reuse one (a restart)
 */
async function startRedis({ password, port: wanted } = {}) {
  return launch('redis-server', async (dir) => {
    const port = wanted ?? (await freePort());
    const args = ['--bind', HOST, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir];
    if (password !== undefined) args.push('--requirepass', password);
    const auth = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
    return {
      args,
      probe: () => pingRedis({ port, password }),
      info: { host: HOST, port, password, url: `redis://${auth}${HOST}:${port}` },
    };
  });
}

/**
 * @param {string} url
 * @returns {Promise<boolean>}
 */
function httpOk(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

async function startEtcd() {
  return launch('etcd', async (dir) => {
    const [clientPort, peerPort] = await freePorts(2);
    const endpoint = `http://${HOST}:${clientPort}`;
    const peer = `http://${HOST}:${peerPort}`;
    return {
      args: [
        '--name', 'n',
        '--data-dir', path.join(dir, 'data'),
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `n=${peer}`,
      ],
      probe: () => httpOk(`${endpoint}/health`),
      info: { endpoint },
    };
  });
}

module.exports = { freePort, startRedis, startEtcd, pingRedis };

'use strict';
/**
 * Starts real Redis and etcd servers from Debian's packages on private loopback
 * ports, each in its own temporary directory, for integration tests.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
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
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve, reject) => {
          const server = net.createServer();
          server.once('error', reject);
          server.listen(0, HOST, () => resolve(server));
        }),
    ),
  );
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
    if ((await probe()) && !server.hasExited()) return;
    if (Date.now() > deadline) {
      throw new Error(`${name} not ready after ${READY_TIMEOUT_MS} ms:\n${server.output()}`);
    }
    await sleep(20);
  }
}

/** @param {string[]} parts */
const resp = (parts) => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;

/**
 * Whether anything accepts a TCP connection on the port (a server that should be gone).
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Sends PING (after AUTH when a password is given) over a raw connection, or over TLS
 * with `tls` (CA, and a client certificate when the server asks for one).
 * @param {{ host?: string, port: number, password?: string, tls?: { ca: Buffer, cert?: Buffer, key?: Buffer } }} target
 * @returns {Promise<boolean>} whether the server answered +PONG
 */
function pingRedis({ host = HOST, port, password, tls }) {
  return new Promise((resolve) => {
    const socket = tls ? require('node:tls').connect({ host, port, ...tls }) : net.connect({ host, port });
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
    socket.once(tls ? 'secureConnect' : 'connect', () =>
      socket.write((password === undefined ? '' : resp(['AUTH', password])) + resp(['PING'])),
    );
  });
}

/**
 * @param {{ password?: string, port?: number, databases?: number }} [options] `port`: reuse one (a restart); `databases`: how many the server has
 */
async function startRedis({ password, port: wanted, databases } = {}) {
  return launch('redis-server', async (dir) => {
    const port = wanted ?? (await freePort());
    const args = ['--bind', HOST, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir];
    if (password !== undefined) args.push('--requirepass', password);
    if (databases !== undefined) args.push('--databases', String(databases));
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
 * @param {{ ca?: string, cert?: string, key?: string }} [tls] PEM file paths for an https:// URL
 * @returns {Promise<boolean>}
 */
function httpOk(url, tls) {
  return new Promise((resolve) => {
    const files = tls
      ? { ca: tls.ca && fs.readFileSync(tls.ca), cert: tls.cert && fs.readFileSync(tls.cert), key: tls.key && fs.readFileSync(tls.key) }
      : {};
    const req = (url.startsWith('https:') ? https : http).get(url, { timeout: 1000, ...files }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
  });
}

/**
 * A single-member etcd. With `tls` it serves clients over https only, with the given
 * server certificate (`ca` is what the probe trusts); `clientCertAuth` also requires a
 * client certificate signed by `ca` (the probe presents `probeCert`/`probeKey`).
 * @param {{ tls?: { ca: string, cert: string, key: string, clientCertAuth?: boolean, probeCert?: string, probeKey?: string } }} [options]
 */
async function startEtcd(options = {}) {
  const { tls } = options;
  return launch('etcd', async (dir) => {
    const [clientPort, peerPort] = await freePorts(2);
    const endpoint = `${tls ? 'https' : 'http'}://${HOST}:${clientPort}`;
    const peer = `http://${HOST}:${peerPort}`;
    const tlsArgs = tls
      ? // etcd asks every client for a certificate once it has a CA to check them with.
        ['--cert-file', tls.cert, '--key-file', tls.key, ...(tls.clientCertAuth ? ['--client-cert-auth', '--trusted-ca-file', tls.ca] : [])]
      : [];
    const probeTls = tls && { ca: tls.ca, cert: tls.probeCert, key: tls.probeKey };
    return {
      args: [
        '--name',
        'n',
        '--data-dir',
        path.join(dir, 'data'),
        '--listen-client-urls',
        endpoint,
        '--advertise-client-urls',
        endpoint,
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `n=${peer}`,
        ...tlsArgs,
      ],
      probe: () => httpOk(`${endpoint}/health`, probeTls),
      info: { endpoint },
    };
  });
}

/**
 * Sends one command over a raw connection and resolves with the raw reply text once a
 * complete reply has arrived (simple, error, integer or bulk string replies).
 * @param {{ host?: string, port: number, password?: string }} target
 * @param {string[]} parts
 * @returns {Promise<string | undefined>} undefined when the server cannot be reached
 */
function redisRaw({ host = HOST, port, password }, parts) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = '';
    let skip = password === undefined ? 0 : 1;
    const finish = (/** @type {string | undefined} */ value) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(2000, () => finish(undefined));
    socket.once('error', () => finish(undefined));
    socket.once('close', () => finish(reply || undefined));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      for (;;) {
        const end = reply.indexOf('\r\n');
        if (end < 0) return;
        let length = end + 2;
        if (reply[0] === '$') {
          const size = Number(reply.slice(1, end));
          if (size >= 0) {
            if (reply.length < end + 2 + size + 2) return;
            length = end + 2 + size + 2;
          }
        }
        if (skip > 0) {
          skip--;
          reply = reply.slice(length);
          continue;
        }
        finish(reply.slice(0, length));
        return;
      }
    });
    socket.write((password === undefined ? '' : resp(['AUTH', password])) + resp(parts));
  });
}

/**
 * @param {string} command
 * @param {string[]} args
 * @returns {Promise<{ code: number | null, output: string }>}
 */
function runToEnd(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.once('error', (err) => resolve({ code: null, output: output + String(err) }));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/**
 * @param {() => Promise<boolean>} check
 * @param {string} what
 * @param {number} [timeoutMs]
 */
async function waitFor(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * A Redis Cluster of three masters (no replicas) on private loopback ports, each node in
 * its own directory; the cluster bus uses ports of its own (`--cluster-port`).
 * `restartNode(i)` stops node i and starts it again on the same port and directory;
 * with `persistent` the nodes keep an append-only file, so a restart keeps their keys;
 * with `password` every node requires it (`requirepass`, and `masterauth` between nodes).
 * @param {{ persistent?: boolean, password?: string }} [options]
 */
async function startRedisCluster({ persistent = false, password = undefined } = {}) {
  const serverBinary = requireBinary('redis-server');
  const cliBinary = requireBinary('redis-cli');
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pages-reaper-redis-cluster-'));
  const ports = await freePorts(6);
  const nodes = [0, 1, 2].map((i) => ({ host: HOST, port: ports[i], busPort: ports[i + 3], dir: path.join(base, `node-${i}`) }));
  /** @type {Array<ReturnType<typeof spawnServer> | undefined>} */
  const servers = [];
  const startNode = async (/** @type {number} */ i) => {
    const node = nodes[i];
    fs.mkdirSync(node.dir, { recursive: true });
    const server = spawnServer(serverBinary, [
      '--bind',
      HOST,
      '--port',
      String(node.port),
      '--cluster-port',
      String(node.busPort),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      path.join(node.dir, 'nodes.conf'),
      '--cluster-node-timeout',
      '2000',
      '--save',
      '',
      '--dir',
      node.dir,
      ...(persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
      ...(password === undefined ? [] : ['--requirepass', password, '--masterauth', password]),
    ]);
    servers[i] = server;
    await waitUntilReady('redis-server (cluster node)', server, () => pingRedis({ port: node.port, password }));
  };
  const clusterOk = async () => {
    for (const node of nodes) {
      const info = await redisRaw({ port: node.port, password }, ['CLUSTER', 'INFO']);
      if (!info || !info.includes('cluster_state:ok')) return false;
    }
    return true;
  };
  const stop = async () => {
    await Promise.all(servers.map((s) => s?.stop()));
    fs.rmSync(base, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < nodes.length; i++) await startNode(i);
    const created = await runToEnd(cliBinary, [
      '--cluster',
      'create',
      ...nodes.map((n) => `${HOST}:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
      ...(password === undefined ? [] : ['-a', password, '--no-auth-warning']),
    ]);
    if (created.code !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.output}`);
    await waitFor(clusterOk, 'the cluster did not reach cluster_state:ok');
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes: nodes.map(({ host, port }) => ({ host, port })),
    seeds: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    stop,
    /** @param {number} i */
    async restartNode(i) {
      await servers[i]?.stop();
      await startNode(i);
      await waitFor(clusterOk, 'the cluster did not reach cluster_state:ok again');
    },
  };
}

/**
 * Starts an etcd cluster of `size` members on loopback ports, bootstrapped together
 * (`--initial-cluster` lists every member, `--initial-cluster-state new`); ready once
 * every member reports healthy (which needs an elected leader).
 * `stopMember(i, signal)` stops one member (SIGKILL by default: a crash, no leadership
 * hand-over) and leaves the others running.
 * @param {number} [size]
 * @returns {Promise<{ endpoints: string[], stop: () => Promise<void>, stopMember: (i: number, signal?: NodeJS.Signals) => Promise<void> }>}
 */
async function startEtcdCluster(size = 3) {
  const command = requireBinary('etcd');
  let lastError;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pages-reaper-etcd-cluster-'));
    const ports = await freePorts(2 * size);
    const members = Array.from({ length: size }, (_, i) => ({
      name: `m${i}`,
      endpoint: `http://${HOST}:${ports[2 * i]}`,
      peer: `http://${HOST}:${ports[2 * i + 1]}`,
    }));
    const initialCluster = members.map((m) => `${m.name}=${m.peer}`).join(',');
    const processes = members.map((m) =>
      spawnServer(command, [
        '--name',
        m.name,
        '--data-dir',
        path.join(dir, m.name),
        '--listen-client-urls',
        m.endpoint,
        '--advertise-client-urls',
        m.endpoint,
        '--listen-peer-urls',
        m.peer,
        '--initial-advertise-peer-urls',
        m.peer,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        path.basename(dir),
      ]),
    );
    // The data is thrown away: SIGKILL, since a member that lost a peer lingers on SIGTERM.
    const stop = async () => {
      await Promise.all(
        processes.map(async (p) => {
          if (!p.hasExited()) p.child.kill('SIGKILL');
          await p.exited;
        }),
      );
      fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
      await Promise.all(processes.map((p, i) => waitUntilReady(`etcd member ${i}`, p, () => httpOk(`${members[i].endpoint}/health`))));
      return {
        endpoints: members.map((m) => m.endpoint),
        stop,
        /** @param {number} i @param {NodeJS.Signals} [signal] */
        async stopMember(i, signal = 'SIGKILL') {
          const member = processes[i];
          if (member.hasExited()) return;
          member.child.kill(signal);
          await member.exited;
        },
      };
    } catch (err) {
      await stop();
      lastError = err;
      if (!processes.some((p) => /address already in use/i.test(p.output()))) throw err;
    }
  }
  throw lastError;
}

/**
 * One Redis Sentinel (`redis-server --sentinel`) watching the master on `redisPort`
 * under the name `name` (quorum 1), on a private loopback port.
 * @param {number} redisPort
 * @param {{ name?: string }} [options]
 */
async function startSentinel(redisPort, { name = 'mymaster' } = {}) {
  return launch('redis-server', async (dir) => {
    const port = await freePort();
    const config = path.join(dir, 'sentinel.conf');
    fs.writeFileSync(
      config,
      [
        `bind ${HOST}`,
        `port ${port}`,
        `dir ${dir}`,
        `sentinel monitor ${name} ${HOST} ${redisPort} 1`,
        `sentinel down-after-milliseconds ${name} 5000`,
        '',
      ].join('\n'),
    );
    return {
      args: [config, '--sentinel'],
      probe: async () => {
        const reply = await redisRaw({ port }, ['SENTINEL', 'get-master-addr-by-name', name]);
        return reply !== undefined && reply.startsWith('*2');
      },
      info: { host: HOST, port, name, sentinels: `${HOST}:${port}` },
    };
  });
}

/**
 * A redis-server that speaks TLS only (`--port 0 --tls-port P`), with the given PEM
 * files. `authClients`: 'optional' (default), 'yes' (client certificate required), 'no'.
 * The readiness probe presents `probeCert`/`probeKey` when given.
 * @param {{ ca: string, cert: string, key: string, authClients?: string, probeCert?: string, probeKey?: string }} options
 */
async function startRedisTls({ ca, cert, key, authClients = 'optional', probeCert, probeKey }) {
  return launch('redis-server', async (dir) => {
    const port = await freePort();
    const args = [
      '--bind',
      HOST,
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      cert,
      '--tls-key-file',
      key,
      '--tls-ca-cert-file',
      ca,
      '--tls-auth-clients',
      authClients,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ];
    const probeTls = {
      ca: fs.readFileSync(ca),
      cert: probeCert ? fs.readFileSync(probeCert) : undefined,
      key: probeKey ? fs.readFileSync(probeKey) : undefined,
    };
    return {
      args,
      probe: () => pingRedis({ port, tls: probeTls }),
      info: { host: HOST, port, url: `rediss://${HOST}:${port}` },
    };
  });
}

/**
 * A redis-server that can be restarted on its port with its keys: `restart()` saves them,
 * stops the server and starts a new one from the save. The new one hashes keys with
 * another seed, so a SCAN cursor from before the restart means nothing after it.
 */
async function startRestartableRedis() {
  const command = requireBinary('redis-server');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pages-reaper-redis-restart-'));
  const port = await freePort();
  const args = ['--bind', HOST, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir];
  const start = async () => {
    const server = spawnServer(command, args);
    await waitUntilReady('redis-server', server, () => pingRedis({ port }));
    return server;
  };
  let server = await start();
  return {
    host: HOST,
    port,
    /** Saves, stops, stays down `downMs`, and starts again from the save. */
    async restart(downMs = 0) {
      const saved = await redisRaw({ port }, ['SAVE']);
      if (saved !== '+OK\r\n') throw new Error(`SAVE answered ${JSON.stringify(saved)}`);
      await server.stop();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      server = await start();
    },
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A single etcd member that can be restarted on its ports with its data (`restart()`:
 * killed, as a crash would, then started again on the same data directory).
 */
async function startRestartableEtcd() {
  const command = requireBinary('etcd');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pages-reaper-etcd-restart-'));
  const [clientPort, peerPort] = await freePorts(2);
  const endpoint = `http://${HOST}:${clientPort}`;
  const peer = `http://${HOST}:${peerPort}`;
  const args = [
    ...['--name', 'n', '--data-dir', path.join(dir, 'data')],
    ...['--listen-client-urls', endpoint, '--advertise-client-urls', endpoint],
    ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `n=${peer}`],
  ];
  const start = async () => {
    const server = spawnServer(command, args);
    await waitUntilReady('etcd', server, () => httpOk(`${endpoint}/health`));
    return server;
  };
  let server = await start();
  return {
    endpoint,
    async restart() {
      server.child.kill('SIGKILL');
      await server.exited;
      server = await start();
    },
    /**
     * The member stops answering (SIGSTOP): its connections stay open, nothing comes back.
     * Resolves once the kernel shows it stopped (a signal takes effect when it is next run).
     */
    async pause() {
      server.child.kill('SIGSTOP');
      await waitFor(() => /^\d+ \(.*\) T /.test(fs.readFileSync(`/proc/${server.child.pid}/stat`, 'utf8')), 'etcd still running', 5000);
    },
    resume() {
      server.child.kill('SIGCONT');
    },
    async stop() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = {
  freePort,
  startRestartableRedis,
  startRestartableEtcd,
  canConnect,
  startRedis,
  startEtcd,
  pingRedis,
  startRedisCluster,
  startEtcdCluster,
  startSentinel,
  startRedisTls,
};

/**
 * Stores that stop answering, for timeout and interrupt tests:
 * - a black hole: accepts TCP connections and never says a word;
 * - a Redis that answers the connect handshake (HELLO refused, INFO, PING, CLIENT, SELECT) and then
 *   never answers anything else, so a run hangs mid-way in its first SCAN;
 * - a store that goes away: a TCP relay to a real server that can be cut, its connections
 *   dropped and new ones refused, while the server behind it keeps its data for the checks.
 */
import * as net from 'node:net';

export interface HungServer {
  port: number;
  /** Commands received by name (upper case), in order. */
  commands: string[];
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Listens on a free loopback port; resolves with the port. */
function listenOnLoopback(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Drops every connection and stops accepting new ones. */
function closeAll(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  return new Promise((done) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => done());
  });
}

async function listen(server: net.Server, sockets: Set<net.Socket>, commands: string[]): Promise<HungServer> {
  let accepted = 0;
  server.on('connection', (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listenOnLoopback(server);
  return { port, commands, connections: () => accepted, close: () => closeAll(server, sockets) };
}

export function startBlackHole(): Promise<HungServer> {
  const sockets = new Set<net.Socket>();
  return listen(net.createServer(), sockets, []);
}

/** Splits RESP arrays of bulk strings (what clients send) off the front of `buffer`. */
function takeCommands(buffer: string): { commands: string[][]; rest: string } {
  const commands: string[][] = [];
  let at = 0;
  for (;;) {
    const header = /^\*(\d+)\r\n/.exec(buffer.slice(at));
    if (!header) break;
    let cursor = at + header[0].length;
    const args: string[] = [];
    let complete = true;
    for (let i = 0; i < Number(header[1]); i++) {
      const bulk = /^\$(\d+)\r\n/.exec(buffer.slice(cursor));
      if (!bulk || buffer.length < cursor + bulk[0].length + Number(bulk[1]) + 2) {
        complete = false;
        break;
      }
      cursor += bulk[0].length;
      args.push(buffer.slice(cursor, cursor + Number(bulk[1])));
      cursor += Number(bulk[1]) + 2;
    }
    if (!complete) break;
    commands.push(args);
    at = cursor;
  }
  return { commands, rest: buffer.slice(at) };
}

export function startRedisThatHangs(): Promise<HungServer> {
  const sockets = new Set<net.Socket>();
  const received: string[] = [];
  const info = '# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\nloading:0\r\n';
  const server = net.createServer((socket) => {
    let buffer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      const { commands, rest } = takeCommands(buffer + chunk);
      buffer = rest;
      for (const [name] of commands) {
        const command = (name ?? '').toUpperCase();
        received.push(command);
        // RESP2 only: a client that asks for RESP3 falls back when refused.
        if (command === 'HELLO') socket.write("-ERR unknown command 'HELLO'\r\n");
        else if (command === 'INFO') socket.write(`$${Buffer.byteLength(info, 'latin1')}\r\n${info}\r\n`);
        else if (command === 'PING') socket.write('+PONG\r\n');
        else if (command === 'CLIENT' || command === 'SELECT' || command === 'AUTH') socket.write('+OK\r\n');
        // Anything else (SCAN, scripts…): no answer, ever.
      }
    });
  });
  return listen(server, sockets, received);
}

export interface CuttableRelay {
  port: number;
  /** Drops every connection and refuses new ones, as a server that went away. */
  cut(): Promise<void>;
}

export async function startCuttableRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<CuttableRelay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const port = await listenOnLoopback(server);
  return { port, cut: () => closeAll(server, sockets) };
}

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReaperMetrics } from './metrics';
import { ReaperError, UsageError } from '../report/errors';

export interface HealthServerOptions {
  /** "HOST:PORT", e.g. "0.0.0.0:9464", "[::1]:9464" or "127.0.0.1:0" (any free port). */
  listen: string;
  metrics: ReaperMetrics;
  /** The sidecar's interval between runs; /healthz allows two of them. */
  intervalMs: number;
  /** Clock in ms since the epoch; Date.now by default. */
  now?: () => number;
  /** When the sidecar started, in ms; `now()` when the server starts by default. */
  startedAt?: number;
  /** With a webhook secret: the delivery endpoint at `path` (any other path stays 404). */
  webhook?: { path: string; handler: (req: http.IncomingMessage, res: http.ServerResponse) => void };
}

export interface HealthServer {
  port: number;
  host: string;
  close(): Promise<void>;
}

export interface ListenAddress {
  host: string;
  port: number;
}

const LISTEN = /^(?:\[([0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(\d{1,5})$/;

/** Parses "HOST:PORT" strictly; an IPv6 host goes in brackets ("[::]:9464"). */
export function parseListen(listen: string): ListenAddress {
  const match = LISTEN.exec(listen);
  const port = match ? Number(match[3]) : NaN;
  if (!match || !Number.isInteger(port) || port > 65535) {
    throw new UsageError(`invalid --listen '${listen}': use HOST:PORT, e.g. 0.0.0.0:9464`);
  }
  return { host: match[1] ?? match[2], port };
}

/** Time after close() for in-flight requests to finish before their sockets are cut. */
const CLOSE_GRACE_MS = 2000;

/**
 * Serves /healthz, /readyz and /metrics for the sidecar. Resolves once listening;
 * rejects with a one-line message when the address cannot be bound.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { host, port } = parseListen(options.listen);
  const now = options.now ?? Date.now;
  const startedAt = options.startedAt ?? now();
  const { metrics } = options;
  const windowMs = 2 * options.intervalMs;

  const health = (): [number, string] => {
    const at = now();
    const lastCompleted = metrics.lastCompletedAt();
    if (lastCompleted === undefined) {
      if (at - startedAt <= windowMs) return [200, 'ok'];
      return [503, `no run has completed in the ${seconds(at - startedAt)} since start (limit ${seconds(windowMs)})${lastFailure()}`];
    }
    const age = at - lastCompleted;
    if (age <= windowMs) return [200, 'ok'];
    return [503, `last completed run finished ${seconds(age)} ago, more than two intervals (${seconds(windowMs)})${lastFailure()}`];
  };

  const lastFailure = (): string => {
    const last = metrics.lastRun();
    if (!last || last.finishedAt === metrics.lastCompletedAt()) return '';
    const why = last.error ? `: ${last.error}` : '';
    return `; last run failed (exit ${last.exitCode})${why}`;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, contentType = 'text/plain; charset=utf-8') => {
      const payload = Buffer.from(body, 'utf8');
      res.writeHead(status, {
        'Content-Type': contentType,
        'Content-Length': payload.length,
        'Cache-Control': 'no-store',
        ...(status === 405 ? { Allow: 'GET, HEAD' } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : payload);
    };
    const line = (status: number, text: string) => send(status, `${text.replace(/[\r\n]+/g, ' ')}\n`);

    if (options.webhook && url === options.webhook.path) return options.webhook.handler(req, res);
    if (url !== '/healthz' && url !== '/readyz' && url !== '/metrics') return line(404, 'not found');
    if (req.method !== 'GET' && req.method !== 'HEAD') return line(405, 'method not allowed');

    switch (url) {
      case '/healthz': {
        const [status, text] = health();
        return line(status, text);
      }
      case '/readyz':
        return metrics.lastCompletedAt() === undefined ? line(503, 'no run has completed yet') : line(200, 'ready');
      case '/metrics': {
        let text: string;
        try {
          text = await metrics.text();
        } catch (error) {
          return line(500, `cannot collect metrics: ${(error as Error).message}`);
        }
        return send(200, text, metrics.contentType);
      }
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(new ReaperError(`cannot listen on ${options.listen}: ${error.code ?? error.message}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    host,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        cut.unref();
        server.close((error) => {
          clearTimeout(cut);
          if (error) reject(error);
          else resolve();
        });
        // Keep-alive sockets with no request in flight would hold close() open.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

import type * as http from 'node:http';
import { interpretDelivery, isSupportedEvent } from './deliveries';
import { signatureMatches } from './signature';
import type { TriggerQueue } from './trigger-queue';

/** Bodies larger than this are refused (413) unread: Forgejo's payloads are far smaller. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** How much of a refused body is drained before the connection is cut. */
const DRAIN_LIMIT_BYTES = 8 * MAX_BODY_BYTES;

export type DeliveryOutcome =
  'queued' | 'deduplicated' | 'ignored' | 'queue_full' | 'unauthorized' | 'too_large' | 'malformed' | 'unsupported_event';

export interface WebhookEndpointOptions {
  secret: Buffer;
  queue: TriggerQueue;
  /** Counted once per delivery, `event` as sent (bounded: unknown names count as "other"). */
  count(event: string, outcome: DeliveryOutcome): void;
  /** One log line per refused delivery; never the secret, never the body. */
  log(fields: Record<string, unknown>): void;
  now?: () => number;
}

const STATUS: Record<DeliveryOutcome, number> = {
  queued: 202,
  deduplicated: 202,
  ignored: 202,
  queue_full: 429,
  unauthorized: 401,
  too_large: 413,
  malformed: 400,
  unsupported_event: 400,
};

function header(req: http.IncomingMessage, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = req.headers[name];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** A header value fit for a log line: printable, short. */
function printable(value: string | undefined): string | undefined {
  return value === undefined ? undefined : value.replace(/[^\x21-\x7e]/g, '?').slice(0, 100);
}

/**
 * `POST {webhook path}`: Forgejo's (and Gitea's) deliveries. The signature is checked
 * over the exact bytes received before anything is parsed; a delivery only queues its
 * repository for a verification and is answered at once.
 */
export function webhookEndpoint(options: WebhookEndpointOptions): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const now = options.now ?? Date.now;
  return (req, res) => {
    const receivedAt = now();
    const eventHeader = header(req, 'x-forgejo-event', 'x-gitea-event');
    const event = eventHeader !== undefined && isSupportedEvent(eventHeader) ? eventHeader : 'other';
    const delivery = printable(header(req, 'x-forgejo-delivery', 'x-gitea-delivery'));
    const finish = (outcome: DeliveryOutcome, detail: string) => {
      options.count(event, outcome);
      const status = STATUS[outcome];
      if (status >= 400) {
        options.log({
          level: 'warn',
          msg: 'webhook delivery refused',
          status,
          outcome,
          reason: detail,
          delivery,
          event: printable(eventHeader),
        });
      }
      const body = Buffer.from(`${detail}\n`, 'utf8');
      res.writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': body.length,
        'Cache-Control': 'no-store',
        ...(outcome === 'queue_full' ? { 'Retry-After': '60' } : {}),
        ...(outcome === 'too_large' ? { Connection: 'close' } : {}),
      });
      res.end(body);
    };

    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    const declared = Number(req.headers['content-length']);
    const chunks: Buffer[] = [];
    let size = 0;
    // A body over the limit is read and dropped, then answered 413 (a sender still writing
    // would see a reset, not the answer), up to a bound beyond which it is answered at
    // once and the connection cut.
    let refused: string | undefined;
    let answered = false;
    const cut = (detail: string) => {
      answered = true;
      finish('too_large', detail);
      res.on('finish', () => req.destroy());
    };
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
      refused = `body of ${declared} bytes, more than ${MAX_BODY_BYTES}`;
      if (declared > DRAIN_LIMIT_BYTES) cut(refused);
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (answered) return;
      if (refused === undefined && size > MAX_BODY_BYTES) {
        refused = `body larger than ${MAX_BODY_BYTES} bytes`;
        chunks.length = 0;
      }
      if (refused !== undefined) {
        if (size > DRAIN_LIMIT_BYTES) cut(refused);
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {});
    req.on('end', () => {
      if (answered) return;
      if (refused !== undefined) return finish('too_large', refused);
      const body = Buffer.concat(chunks, size);
      const signature = header(req, 'x-forgejo-signature', 'x-gitea-signature');
      if (signature === undefined) return finish('unauthorized', 'no X-Forgejo-Signature or X-Gitea-Signature');
      if (!signatureMatches(options.secret, body, signature)) return finish('unauthorized', 'signature does not match the body');
      if (eventHeader === undefined) return finish('unsupported_event', 'no X-Forgejo-Event or X-Gitea-Event');
      if (!isSupportedEvent(eventHeader))
        return finish('unsupported_event', `event ${printable(eventHeader)} is not acted on: tick only Repository, Push and Delete`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return finish('malformed', 'body is not JSON (set the content type to application/json)');
      }
      const reading = interpretDelivery(eventHeader, parsed);
      if (reading.kind === 'malformed') return finish('malformed', reading.reason);
      if (reading.kind === 'ignored') return finish('ignored', `ignored: ${reading.reason}`);
      const outcome = options.queue.offer(reading.target, receivedAt);
      const { owner, repo } = reading.target;
      if (outcome === 'queue_full') return finish('queue_full', `queue full: ${owner}/${repo} is left to the next sweep`);
      return finish(outcome, `${outcome}: ${owner}/${repo} will be verified`);
    });
  };
}

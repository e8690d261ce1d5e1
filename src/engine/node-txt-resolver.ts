import { isIP } from 'node:net';
import { promises as dns } from 'node:dns';
import { answerOfError, joinTxt, type TxtAnswer } from '../core/dns-ownership';
import type { TxtResolver } from '../ports/txt-resolver';

/** Attempts per lookup; c-ares doubles the wait for each retry. */
export const DNS_TRIES = 2;

export interface DnsResolverOptions {
  /** `host:port`, `host`, `[v6]:port` or a bare IPv6 address; none: the system's resolvers. */
  servers?: string | string[];
  /** Wait for the first attempt, in ms. */
  timeoutMs: number;
}

/** --dns-server values, each maybe a comma-separated list, as one list (oclif gives a string from the environment). */
export function splitDnsServers(values: string | string[]): string[] {
  return [values]
    .flat()
    .flatMap((value) => value.split(','))
    .map((server) => server.trim())
    .filter((server) => server !== '');
}

/**
 * Parses one --dns-server value into the form `Resolver.setServers` takes. Only IP
 * addresses: a resolver cannot be found by name without a resolver.
 */
export function parseDnsServer(input: string): string {
  const value = input.trim();
  const fail = () =>
    new Error(`--dns-server '${input}' is not an IP address with an optional port: use e.g. 127.0.0.1:53, 10.0.0.2 or [::1]:53`);
  let host = value;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) [, host, port] = bracketed;
  else if (isIP(value) !== 6) {
    const colon = value.lastIndexOf(':');
    if (colon >= 0) [host, port] = [value.slice(0, colon), value.slice(colon + 1)];
  }
  if (isIP(host) === 0) throw fail();
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)) throw fail();
  const address = isIP(host) === 6 ? `[${host}]` : host;
  return port === undefined ? host : `${address}:${port}`;
}

/**
 * TXT lookups through node:dns (c-ares): bounded by a timeout and DNS_TRIES attempts. Each
 * lookup has a channel of its own: c-ares (1.32 on) adapts a channel's timeout to the
 * latencies it has seen, so after a run of fast answers a shared channel gave up on a
 * domain whose server takes 1.5 s after about 1 s, whatever --dns-timeout said, and the
 * domain stayed unknown run after run. A channel costs about as much as a lookup's own work.
 */
export class NodeTxtResolver implements TxtResolver {
  private readonly options: { timeout: number; tries: number };
  private readonly servers: string[];
  /** Lookups under way, by their channel: `cancel` ends them all. */
  private readonly active = new Set<InstanceType<typeof dns.Resolver>>();
  private readonly description: string;
  private lookups = 0;

  constructor(options: DnsResolverOptions) {
    this.options = { timeout: Math.max(1, Math.round(options.timeoutMs)), tries: DNS_TRIES };
    this.servers = (options.servers === undefined ? [] : splitDnsServers(options.servers)).map(parseDnsServer);
    this.description = this.channel().getServers().join(', ') || 'no resolver configured';
  }

  private channel(): InstanceType<typeof dns.Resolver> {
    const resolver = new dns.Resolver(this.options);
    if (this.servers.length > 0) resolver.setServers(this.servers);
    return resolver;
  }

  describe(): string {
    return this.description;
  }

  lookupCount(): number {
    return this.lookups;
  }

  cancel(): void {
    for (const resolver of this.active) resolver.cancel();
  }

  async lookup(name: string): Promise<TxtAnswer> {
    this.lookups++;
    // Fully qualified: no search domain from resolv.conf is ever tried after an NXDOMAIN.
    const absolute = name.endsWith('.') ? name : `${name}.`;
    const resolver = this.channel();
    this.active.add(resolver);
    try {
      return { kind: 'records', records: joinTxt(await resolver.resolveTxt(absolute)) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return answerOfError(code, describeDnsError(code, this.describe()));
    } finally {
      this.active.delete(resolver);
    }
  }
}

function describeDnsError(code: string | undefined, servers: string): string {
  switch (code) {
    case 'ESERVFAIL':
      return 'SERVFAIL';
    case 'EREFUSED':
      return `REFUSED by ${servers}`;
    case 'ETIMEOUT':
      return `no answer from ${servers} (timeout)`;
    case 'ECONNREFUSED':
      return `connection refused by ${servers}`;
    case 'ECANCELLED':
      return 'cancelled';
    default:
      return `${code ?? 'error'} from ${servers}`;
  }
}

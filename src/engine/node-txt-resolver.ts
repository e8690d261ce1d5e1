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

/** TXT lookups through node:dns (c-ares): bounded by a timeout and DNS_TRIES attempts. */
export class NodeTxtResolver implements TxtResolver {
  private readonly resolver: InstanceType<typeof dns.Resolver>;
  private lookups = 0;

  constructor(options: DnsResolverOptions) {
    this.resolver = new dns.Resolver({ timeout: Math.max(1, Math.round(options.timeoutMs)), tries: DNS_TRIES });
    const servers = options.servers === undefined ? [] : splitDnsServers(options.servers);
    if (servers.length > 0) this.resolver.setServers(servers.map(parseDnsServer));
  }

  describe(): string {
    return this.resolver.getServers().join(', ') || 'no resolver configured';
  }

  lookupCount(): number {
    return this.lookups;
  }

  cancel(): void {
    this.resolver.cancel();
  }

  async lookup(name: string): Promise<TxtAnswer> {
    this.lookups++;
    // Fully qualified: no search domain from resolv.conf is ever tried after an NXDOMAIN.
    const absolute = name.endsWith('.') ? name : `${name}.`;
    try {
      return { kind: 'records', records: joinTxt(await this.resolver.resolveTxt(absolute)) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return answerOfError(code, describeDnsError(code, this.describe()));
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

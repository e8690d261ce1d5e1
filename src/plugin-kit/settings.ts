import { readFileSync } from 'node:fs';
import { UsageError } from '../report/errors';

/**
 * Reading what a plugin's flags name: files, `host:port` lists, URLs that may carry
 * credentials. Every error names the flag, so the operator knows what to fix, and never
 * echoes a password.
 */

export interface FlagFileOptions {
  /** Added after the reason: how to fix it. */
  hint?: string;
  /** A file that holds nothing but white space fails as `the file is empty`. */
  requireText?: boolean;
}

/**
 * The bytes of a file a flag names (a PEM file, a token file). A file that cannot be read
 * fails with one line, `cannot read {what}: {code}[; {hint}]`; `what` names the flag and
 * the path as the plugin shows them.
 */
export function readFlagFile(path: string, what: string, { hint, requireText = false }: FlagFileOptions = {}): Buffer {
  // The operator named a file that cannot serve: a usage error (exit 1, kind usage in --json).
  const failure = (reason: string) => new UsageError(`cannot read ${what}: ${reason}`, hint ? { hint } : {});
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw failure((error as NodeJS.ErrnoException).code ?? (error as Error).message);
  }
  if (requireText && bytes.toString('utf8').trim() === '') throw failure('the file is empty');
  return bytes;
}

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port,host:port` (IPv6 as `[::1]:port`) → addresses; a bad entry is a usage error naming its flag. */
export function parseHostPorts(list: string, flag: string): HostPort[] {
  const addresses = list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      if (item.includes('@'))
        throw new UsageError(`${flag}: expected host:port, got an address with user:password@ in it; give the password with its own flag`);
      const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(item);
      const port = match ? Number(match[3]) : 0;
      if (!match || port < 1 || port > 65535) throw new UsageError(`${flag}: expected host:port, got '${item}'`);
      return { host: match[1] ?? match[2], port };
    });
  if (addresses.length === 0) throw new UsageError(`${flag}: expected at least one host:port`);
  return addresses;
}

/** Addresses back as `host:port,host:port`, IPv6 in brackets: for `describe()`. */
export function formatHostPorts(addresses: HostPort[]): string {
  return addresses.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(',');
}

export { withoutUserinfo } from '../core/secrets';

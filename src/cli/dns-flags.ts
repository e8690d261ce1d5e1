import * as Flags from '@oclif/core/flags';
import { parseDnsServer, splitDnsServers } from '../engine/node-txt-resolver';
import { timeoutSecondsUpTo } from '../plugin-kit/flags';

const dnsServer = Flags.custom<string>({
  // Comma-separated lists too: an environment variable gives one string for every server.
  parse: async (input) => {
    for (const server of splitDnsServers([input])) parseDnsServer(server); // throws one line naming the value and the fix
    return input.trim();
  },
});

const seconds = timeoutSecondsUpTo(60);

/** --verify-dns and its settings (verify, reap): the plugin's TXT ownership record, re-checked. */
export const dnsFlags = {
  'verify-dns': Flags.boolean({
    description:
      "also require the plugin's TXT record bovine-pages-verification=<sha256 of owner/repo> at the custom domain of every mapping Forgejo proves live; without it: stale (ownership lost)",
    env: 'REAPER_VERIFY_DNS',
    default: false,
    helpGroup: 'DNS',
  }),
  'dns-server': dnsServer({
    description: "resolver to ask, IP[:port] (repeatable, or comma-separated) [default: the system's]",
    env: 'REAPER_DNS_SERVER',
    multiple: true,
    helpGroup: 'DNS',
  }),
  'dns-timeout': seconds({
    description: 'seconds to wait for the first attempt of a TXT lookup (2 attempts, the second waits twice as long)',
    env: 'REAPER_DNS_TIMEOUT',
    default: 5,
    helpGroup: 'DNS',
  }),
  'dns-concurrency': Flags.integer({
    description: 'TXT lookups in flight',
    env: 'REAPER_DNS_CONCURRENCY',
    default: 16,
    min: 1,
    max: 256,
    helpGroup: 'DNS',
  }),
};

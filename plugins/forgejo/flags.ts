import * as Flags from '@oclif/core/flags';
import { requestRate, timeoutSeconds } from '../../src/plugin-kit/flags';

/**
 * The Forgejo source's flags; each reaches `ForgejoSettings` camel-cased, with seconds
 * turned into ms (`timeout`) by the CLI.
 */
export const forgejoFlags = {
  'forgejo-host': Flags.string({
    description: 'Forgejo base URL, e.g. https://git.example.com',
    env: 'FORGEJO_HOST',
    helpGroup: 'FORGEJO',
  }),
  'forgejo-token': Flags.string({
    description: 'Forgejo API token (read access to the repositories)',
    env: 'FORGEJO_TOKEN',
    helpGroup: 'FORGEJO',
  }),
  'forgejo-token-file': Flags.string({
    description: 'file holding the Forgejo API token',
    env: 'FORGEJO_TOKEN_FILE',
    helpGroup: 'FORGEJO',
  }),
  concurrency: Flags.integer({
    description: 'Forgejo requests in flight',
    env: 'REAPER_CONCURRENCY',
    default: 16,
    min: 1,
    max: 256,
    helpGroup: 'FORGEJO',
  }),
  'rate-limit': requestRate({
    description: 'Forgejo requests per second at most (default: no limit)',
    env: 'REAPER_RATE_LIMIT',
    helpGroup: 'FORGEJO',
  }),
  timeout: timeoutSeconds({
    description: 'seconds to wait for one Forgejo answer, whole (headers and body)',
    env: 'REAPER_TIMEOUT',
    default: 10,
    helpGroup: 'FORGEJO',
  }),
  retries: Flags.integer({
    description: 'retries for 429, 502, 503, 504 and network errors',
    env: 'REAPER_RETRIES',
    default: 3,
    min: 0,
    max: 10,
    helpGroup: 'FORGEJO',
  }),
  'retry-delay': Flags.integer({
    description: 'first retry backoff in ms (doubles, with jitter)',
    env: 'REAPER_RETRY_DELAY',
    default: 250,
    min: 0,
    max: 60_000,
    hidden: true,
    helpGroup: 'FORGEJO',
  }),
};

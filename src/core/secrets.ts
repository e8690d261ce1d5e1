/**
 * Keeping secrets out of every message: the CLI scrubs each fatal line with these, and the
 * store plugins scrub their clients' errors with the same rules before they are thrown.
 */

/** Every secret the settings hold (passwords, the token, a URL's userinfo), in the forms a message may show. */
export function secretsOf(settings: Record<string, unknown>): string[] {
  const secrets = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value !== 'string' || value === '') return;
    secrets.add(value);
    secrets.add(encodeURIComponent(value));
    try {
      secrets.add(decodeURIComponent(value));
    } catch {
      // not percent-encoded
    }
  };
  for (const name of ['redisPassword', 'etcdPassword', 'forgejoToken']) add(settings[name]);
  for (const name of ['redisUrl', 'redisHost', 'etcdEndpoints', 'forgejoHost', 'redisCluster', 'redisSentinels']) {
    const text = settings[name];
    if (typeof text === 'string') for (const secret of secretsInAddresses(text)) add(secret);
  }
  return ordered(secrets);
}

/**
 * Secrets as `scrubSecrets` takes them: shorter than 3 characters would blank out digits of
 * ports and counts, and the longest go first (one may hold another).
 */
export function ordered(secrets: Iterable<string>): string[] {
  return [...secrets].filter((secret) => secret.length >= 3).sort((a, b) => b.length - a.length);
}

/**
 * An address's userinfo: everything before its last `@`, after the scheme if it has one,
 * so that a `/` in a password (`http://root:pa/ss@host`) does not end it.
 */
const USERINFO = /^((?:[a-z][a-z0-9+.-]*:)?\/\/)?([^]*)@/i;

/**
 * A URL's text without its user name and password: the user name goes too, since
 * `redis://s3cr3t@host` is a password written in its place.
 */
export function withoutUserinfo(text: string): string {
  return text.replace(USERINFO, '$1');
}

/**
 * The user names and passwords a URL or a list of addresses holds, with or without a
 * scheme (see `USERINFO`), and any `?password=` parameter.
 */
function secretsInAddresses(text: string): string[] {
  const found: string[] = [];
  for (const entry of text.split(',')) {
    const userinfo = USERINFO.exec(entry.trim())?.[2];
    if (userinfo !== undefined) {
      const colon = userinfo.indexOf(':');
      found.push(...(colon === -1 ? [userinfo] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)]));
    }
    for (const password of entry.matchAll(/[?&]password=([^&#\s]*)/gi)) found.push(password[1]);
  }
  return found;
}

/** Flags whose value is a secret, and flags whose value may hold one (userinfo). */
const SECRET_FLAGS = new Set(['--redis-password', '--etcd-password', '--forgejo-token']);
const ADDRESS_FLAGS = new Set([
  '--redis-url',
  '--redis-host',
  '--etcd-endpoints',
  '--forgejo-host',
  '--redis-cluster',
  '--redis-sentinels',
]);
const SECRET_ENV = ['REDIS_PASSWORD', 'ETCD_PASSWORD', 'FORGEJO_TOKEN'];
const ADDRESS_ENV = ['REDIS_URL', 'REDIS_HOST', 'ETCD_ENDPOINTS', 'FORGEJO_HOST', 'REDIS_CLUSTER', 'REDIS_SENTINELS'];

/**
 * The secrets a command line and its environment hold, for a failure that comes before
 * any setting is read (oclif's parse errors: `Unexpected argument: …`). With `strayWords`
 * (a parse error), the words right after a secret flag's value count too: an unquoted
 * password with a space in a cron line (`--redis-password pa ss`) reaches the parser as a
 * stray argument. Otherwise they are arguments (restore's FILE), and are named.
 */
export function secretsOfCommandLine(argv: readonly string[], env: Record<string, string | undefined>, strayWords = false): string[] {
  const secrets = new Set<string>();
  const add = (value: string | undefined) => value && secrets.add(value);
  for (const name of SECRET_ENV) add(env[name]);
  for (const name of ADDRESS_ENV) if (env[name]) secretsInAddresses(env[name]!).forEach(add);
  for (let i = 0; i < argv.length; i++) {
    const equals = argv[i].indexOf('=');
    const flag = argv[i].startsWith('--') && equals !== -1 ? argv[i].slice(0, equals) : argv[i];
    if (!SECRET_FLAGS.has(flag) && !ADDRESS_FLAGS.has(flag)) continue;
    let value = equals !== -1 && flag !== argv[i] ? argv[i].slice(equals + 1) : argv[++i];
    if (value === undefined) break;
    if (ADDRESS_FLAGS.has(flag)) {
      secretsInAddresses(value).forEach(add);
      continue;
    }
    add(value);
    for (; strayWords && i + 1 < argv.length && !argv[i + 1].startsWith('-'); i++) {
      value = argv[i + 1];
      add(value);
    }
  }
  return ordered(secrets);
}

/** A message with every known secret, and any URL userinfo, taken out. */
export function scrubSecrets(message: string, secrets: readonly string[]): string {
  // Userinfo runs from `//` to the last `@` of the address: a password may hold a `/`.
  let text = message.replace(/\/\/[^\s'"`,@[\]]*@/g, '//');
  for (const secret of secrets) text = text.split(secret).join('***');
  return text;
}

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
  for (const name of ['redisUrl', 'etcdEndpoints', 'forgejoHost']) {
    const text = settings[name];
    if (typeof text !== 'string') continue;
    for (const userinfo of text.matchAll(/\/\/([^@/\s]*)@/g)) for (const part of userinfo[1].split(':')) add(part);
    for (const password of text.matchAll(/[?&]password=([^&#\s]*)/gi)) add(password[1]);
  }
  // Shorter than 3 characters would blank out digits of ports and counts.
  return [...secrets].filter((secret) => secret.length >= 3).sort((a, b) => b.length - a.length);
}

/** A message with every known secret, and any URL userinfo, taken out. */
export function scrubSecrets(message: string, secrets: readonly string[]): string {
  let text = message.replace(/\/\/[^@/\s[\]]*@/g, '//');
  for (const secret of secrets) text = text.split(secret).join('***');
  return text;
}

import { createHmac, timingSafeEqual } from 'node:crypto';

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/**
 * Forgejo's (and Gitea's) delivery signature: the bare hex HMAC-SHA256 of the exact
 * body bytes under the hook's secret. Compared in constant time; a header that is not
 * 64 hex digits fails without comparing. Checked before the body is parsed.
 */
export function signatureMatches(secret: Buffer, body: Buffer, header: string | undefined): boolean {
  if (header === undefined || !HEX_SHA256.test(header)) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(header, 'hex'));
}

/** The hex signature Forgejo sends for `body` (the test stand-in and the bench sign with it). */
export function sign(secret: Buffer | string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

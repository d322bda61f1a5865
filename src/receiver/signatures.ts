import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Hex HMAC of the raw request body, as Sentry (sha256) and Vercel (sha1) sign their webhooks. */
export function hmacHex(algorithm: 'sha256' | 'sha1', secret: string, body: Buffer | string): string {
  return createHmac(algorithm, secret).update(body).digest('hex');
}

/** Compares a signature header with the expected HMAC in constant time. */
export function verifyHmac(algorithm: 'sha256' | 'sha1', secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const given = Buffer.from(header.trim().toLowerCase(), 'utf8');
  const expected = Buffer.from(hmacHex(algorithm, secret, body), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const digest = (s: string) => createHash('sha256').update(s).digest();
/** The expected token's digest, recomputed only when the token (read from the environment per request) changes. */
let tokenDigest: { token: string; digest: Buffer } | undefined;

/** `Authorization: Bearer <token>`, compared through digests so neither length nor content leaks by timing. */
export function verifyBearer(token: string, authorization: string | undefined): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
  if (!match) return false;
  if (tokenDigest?.token !== token) tokenDigest = { token, digest: digest(token) };
  return timingSafeEqual(digest(match[1]), tokenDigest.digest);
}

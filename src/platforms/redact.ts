/** Keeps secrets out of error messages and logs. */

const MASK = '<redacted>';

/** Replaces every occurrence of the given secret values (ignores short ones that would mangle text). */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 6) out = out.split(s).join(MASK);
  return out;
}

/**
 * A URL safe to print: Telegram's bot token in the path, Slack webhook paths, credentials in
 * userinfo and token-like query parameters are masked.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw.replace(/\/bot[^/\s]+/g, `/bot${MASK}`);
  }
  if (url.username) url.username = MASK;
  if (url.password) url.password = MASK;
  url.pathname = url.pathname.replace(/\/bot[^/]+/, `/bot${MASK}`).replace(/^\/services\/.+$/, `/services/${MASK}`);
  for (const key of [...url.searchParams.keys()]) {
    if (/token|key|secret|signature|sig|password|auth/i.test(key)) url.searchParams.set(key, MASK);
  }
  return url.toString().replaceAll(encodeURIComponent(MASK), MASK);
}

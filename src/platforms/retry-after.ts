/**
 * How long a rate-limited platform asked us to wait, in ms: `Retry-After` (seconds or an HTTP date),
 * Telegram's `parameters.retry_after` (seconds), then `X-RateLimit-Reset` (epoch seconds; Vercel, Netlify).
 * Undefined when the answer gives no hint, so the retry policy's own backoff applies.
 */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, body: unknown, now = Date.now()): number | undefined {
  const retryAfter = firstHeader(headers, 'retry-after');
  if (retryAfter !== undefined) {
    const parsed = parseRetryAfter(retryAfter, now);
    if (parsed !== undefined) return parsed;
  }
  const telegram = (body as { parameters?: { retry_after?: unknown } } | null)?.parameters?.retry_after;
  if (typeof telegram === 'number' && Number.isFinite(telegram) && telegram >= 0) return Math.round(telegram * 1000);
  const reset = firstHeader(headers, 'x-ratelimit-reset');
  if (reset !== undefined && /^\d+(\.\d+)?$/.test(reset.trim())) {
    const value = Number(reset);
    // Epoch seconds; a small number can only be a delta in seconds.
    return value > 1e9 ? Math.max(0, Math.round(value * 1000 - now)) : Math.round(value * 1000);
  }
  return undefined;
}

/** `Retry-After: <seconds>` or `Retry-After: <HTTP-date>` (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string, now = Date.now()): number | undefined {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function firstHeader(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

import type { FastifyReply } from 'fastify';
import type { Vendor } from './calls';

/** Where each imitated API is mounted on the sandbox; the call log strips this base from paths. */
export const MOUNTS: ReadonlyArray<{ vendor: Vendor; base: string }> = [
  { vendor: 'vercel', base: '/vercel' },
  { vendor: 'netlify', base: '/netlify/api/v1' },
  { vendor: 'supabase-project', base: '/supabase-project' },
  { vendor: 'supabase', base: '/supabase' },
  { vendor: 'statuspage', base: '/statuspage/v1' },
  { vendor: 'pagerduty', base: '/pagerduty' },
  { vendor: 'slack', base: '/slack' },
  { vendor: 'telegram', base: '/telegram' },
  { vendor: 'status', base: '/status' },
  { vendor: 'ai', base: '/ai' },
  { vendor: 'app', base: '/_apps' },
];

export function mountOf(urlPath: string): { vendor: Vendor; path: string } | undefined {
  for (const m of MOUNTS) {
    if (urlPath === m.base || urlPath.startsWith(m.base + '/')) {
      let path = urlPath.slice(m.base.length) || '/';
      // The bot token is part of Telegram's path; keep it out of the log.
      if (m.vendor === 'telegram') path = path.replace(/^\/bot[^/]*/, '/bot[redacted]');
      return { vendor: m.vendor, path };
    }
  }
  return undefined;
}

const VERCEL_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  422: 'unprocessable_entity',
  429: 'rate_limited',
};

/** Sends an error in the vendor's own error format. */
export function sendError(reply: FastifyReply, vendor: Vendor, status: number, message: string, code?: string): FastifyReply {
  reply.code(status);
  switch (vendor) {
    case 'vercel':
      return reply.send({ error: { code: code ?? VERCEL_CODES[status] ?? 'internal_server_error', message } });
    case 'netlify':
    case 'supabase-project':
      return reply.send({ code: status, message });
    case 'supabase':
      return reply.send({ message });
    case 'statuspage':
      return reply.send({ error: message });
    case 'pagerduty':
      return reply.send({ status: code ?? (status === 429 ? 'throttle event' : 'invalid event'), message, errors: [message] });
    case 'telegram':
      return reply.send({ ok: false, error_code: status, description: message });
    case 'ai':
      return reply.send({ error: { message, type: status === 429 ? 'rate_limit_error' : 'api_error', code: code ?? null } });
    case 'slack':
    case 'status':
    case 'app':
      return reply.type('text/plain; charset=utf-8').send(code ?? message);
  }
}

/** 429 as each vendor sends it: headers and body. */
export function sendRateLimited(reply: FastifyReply, vendor: Vendor, retryAfterSeconds: number): FastifyReply {
  const resetSec = Math.ceil(Date.now() / 1000) + retryAfterSeconds;
  switch (vendor) {
    case 'vercel':
      reply.headers({
        'retry-after': String(retryAfterSeconds),
        'x-ratelimit-limit': '100',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(resetSec),
      });
      return reply.code(429).send({
        error: {
          code: 'rate_limited',
          message: `Rate limit exceeded. Try again in ${retryAfterSeconds} seconds.`,
          limit: { remaining: 0, reset: resetSec, resetMs: resetSec * 1000, total: 100 },
        },
      });
    case 'netlify':
      // Netlify sends no Retry-After, only the reset time.
      reply.headers({ 'x-ratelimit-limit': '500', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(resetSec) });
      return reply.code(429).send({ code: 429, message: 'API rate limit exceeded' });
    case 'telegram':
      reply.header('retry-after', String(retryAfterSeconds));
      return reply.code(429).send({
        ok: false,
        error_code: 429,
        description: `Too Many Requests: retry after ${retryAfterSeconds}`,
        parameters: { retry_after: retryAfterSeconds },
      });
    default:
      reply.header('retry-after', String(retryAfterSeconds));
      return sendError(reply, vendor, 429, 'Too many requests');
  }
}

export function unauthorizedMessage(vendor: Vendor): string {
  switch (vendor) {
    case 'vercel':
      return 'The request is missing an authentication token or the token is invalid';
    case 'netlify':
      return 'Access Denied: Invalid token';
    case 'supabase':
      return 'Unauthorized';
    case 'supabase-project':
      return 'Invalid JWT';
    case 'statuspage':
      return 'Could not authenticate';
    case 'pagerduty':
      return 'Invalid routing key';
    case 'telegram':
      return 'Unauthorized';
    default:
      return 'invalid_token';
  }
}

import { PLATFORM_LABEL, PlatformError, type Credential, type PlatformErrorKind, type PlatformName } from './errors';
import { retryAfterMs } from './retry-after';

export interface StatusContext {
  platform: PlatformName;
  endpoint: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed error body, if it was JSON. */
  body?: unknown;
  vendorCode?: string;
  /** Already redacted. */
  vendorMessage?: string;
  credential?: Credential;
  resource?: string;
  hints?: Partial<Record<number, string>>;
  defaultRetryAfterMs?: number;
  now?: number;
}

/**
 * One classification for every platform: 429/420 rate limits (retry after what the answer says),
 * 5xx retryable, other 4xx final with a hint saying what to fix.
 */
export function classifyStatus(ctx: StatusContext): PlatformError {
  const { status } = ctx;
  const said = ctx.vendorMessage ? ` (${PLATFORM_LABEL[ctx.platform]} said: ${ctx.vendorMessage})` : '';
  const base = { platform: ctx.platform, endpoint: ctx.endpoint, status, code: ctx.vendorCode };
  const override = ctx.hints?.[status];
  if (status === 429 || status === 420 || status >= 500) {
    const rateLimited = status === 429 || status === 420;
    const waitMs = retryAfterMs(ctx.headers, ctx.body, ctx.now) ?? (rateLimited ? ctx.defaultRetryAfterMs : undefined);
    const when = waitMs === undefined ? 'with backoff' : `in ${Math.ceil(waitMs / 1000)} s`;
    return new PlatformError({
      ...base,
      kind: rateLimited ? 'rate-limited' : 'unavailable',
      retryable: true,
      retryAfterMs: waitMs,
      hint: override ?? `${rateLimited ? 'rate limited' : 'server error'}${said}; will be retried ${when}`,
    });
  }
  const { kind, hint } = finalHint(ctx, said);
  return new PlatformError({ ...base, kind, retryable: false, hint: override ? `${override}${said}` : hint });
}

function finalHint(ctx: StatusContext, said: string): { kind: PlatformErrorKind; hint: string } {
  const cred = ctx.credential ? `the ${ctx.credential.noun} in ${ctx.credential.env}` : 'the credentials';
  const what = ctx.resource ?? 'the requested resource';
  switch (ctx.status) {
    case 401:
      return {
        kind: 'auth',
        hint: `${cred} was rejected (missing, expired or revoked)${said}: put a valid one in ${ctx.credential?.env ?? 'the environment'}`,
      };
    case 403:
      return { kind: 'auth', hint: `${cred} lacks access to ${what}${said}: grant it access or use one that has it` };
    case 404:
      return { kind: 'not-found', hint: `${what} was not found${said}: check the id in the configuration or input` };
    case 410:
      return { kind: 'not-found', hint: `${what} is gone${said}: it was revoked or deleted; replace it` };
    case 409:
      return { kind: 'rejected', hint: `conflict on ${what}${said}: it already exists or changed meanwhile` };
    default:
      return { kind: 'rejected', hint: `the request was rejected as invalid${said}: fix the input or configuration` };
  }
}

/** Vendor error bodies: Vercel {error:{code,message}}, Netlify {code,message}, Supabase {message}, Statuspage {error}, PagerDuty {status,message,errors}, Telegram {error_code,description}. */
export function vendorProblem(text: string): { body?: unknown; code?: string; message?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const plain = text.trim();
    return { message: plain && plain.length <= 200 && !plain.startsWith('<') ? plain : undefined };
  }
  if (!body || typeof body !== 'object') return { body };
  const b = body as Record<string, unknown>;
  const err = b.error;
  const nested = err && typeof err === 'object' && !Array.isArray(err) ? (err as Record<string, unknown>) : undefined;
  const code = str(nested?.code) ?? str(b.code);
  const errors = Array.isArray(b.errors) ? b.errors.filter((e) => typeof e === 'string').join('; ') : undefined;
  const message =
    str(nested?.message) ??
    str(b.message) ??
    str(b.description) ??
    (typeof err === 'string' ? err : Array.isArray(err) ? err.join('; ') : undefined);
  return { body, code, message: [message, errors].filter(Boolean).join(': ').slice(0, 300) || undefined };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** A failed platform call, classified once so activities can map it onto Temporal's retry policy. */

export type PlatformName =
  'vercel' | 'netlify' | 'supabase' | 'statuspage' | 'pagerduty' | 'slack' | 'telegram' | 'provider-status' | 'app';

export const PLATFORM_LABEL: Record<PlatformName, string> = {
  vercel: 'Vercel',
  netlify: 'Netlify',
  supabase: 'Supabase',
  statuspage: 'Statuspage',
  pagerduty: 'PagerDuty',
  slack: 'Slack',
  telegram: 'Telegram',
  'provider-status': 'Provider status page',
  app: 'The application',
};

/** rate-limited (429/420), unavailable (5xx, network, timeout, unreadable body), auth (401/403), not-found (404/410), rejected (other 4xx), contract (answer does not match the schema). */
export type PlatformErrorKind = 'rate-limited' | 'unavailable' | 'auth' | 'not-found' | 'rejected' | 'contract';

export interface PlatformErrorFields {
  platform: PlatformName;
  /** Method and path template, e.g. "GET /v13/deployments/{id}"; never a token. */
  endpoint: string;
  /** HTTP status, or undefined when no answer came. */
  status?: number;
  kind: PlatformErrorKind;
  retryable: boolean;
  retryAfterMs?: number;
  /** What to fix or what happens next, in words. */
  hint: string;
  /** The vendor's error code, when it gave one. */
  code?: string;
}

export class PlatformError extends Error implements PlatformErrorFields {
  readonly platform: PlatformName;
  readonly endpoint: string;
  readonly status?: number;
  readonly kind: PlatformErrorKind;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly hint: string;
  readonly code?: string;

  constructor(fields: PlatformErrorFields) {
    const answered = fields.status === undefined ? 'gave no answer' : `answered ${fields.status}${fields.code ? ` ${fields.code}` : ''}`;
    super(`${PLATFORM_LABEL[fields.platform]} ${answered} to ${fields.endpoint}: ${fields.hint}`);
    this.name = 'PlatformError';
    this.platform = fields.platform;
    this.endpoint = fields.endpoint;
    this.status = fields.status;
    this.kind = fields.kind;
    this.retryable = fields.retryable;
    this.retryAfterMs = fields.retryAfterMs;
    this.hint = fields.hint;
    this.code = fields.code;
  }

  toJSON(): PlatformErrorFields & { message: string } {
    const { platform, endpoint, status, kind, retryable, retryAfterMs, hint, code } = this;
    return { message: this.message, platform, endpoint, status, kind, retryable, retryAfterMs, hint, code };
  }
}

/** A call refused before any request: the configuration lacks what it needs, and `hint` says what to set. */
export function notConfigured(platform: PlatformName, endpoint: string, hint: string): PlatformError {
  return new PlatformError({ platform, endpoint, kind: 'rejected', retryable: false, hint });
}

/** A secret a platform call uses, named by where it comes from. */
export interface Credential {
  /** The environment variable holding it; hints name it, never its value. */
  env: string;
  /** "token", "API key", "webhook URL", … */
  noun: string;
}

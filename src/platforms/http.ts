import { FormData, request } from 'undici';
import type { z } from 'zod';
import { secretFromEnv } from '../config/load';
import { describeIssues } from '../workflows/common/failures';
import { requestSignal } from './activity-context';
import { PlatformError, type Credential, type PlatformName } from './errors';

export type { Credential };
import { classifyStatus, vendorProblem } from './classify';
import { redactSecrets } from './redact';

/**
 * The one request policy every platform call goes through: a timeout on every request, cancellation
 * with the running activity, the answer validated with zod, and failures classified as PlatformError.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type QueryValue = string | number | boolean | undefined | readonly (string | number)[];

export interface HttpTarget {
  platform: PlatformName;
  baseUrl: string;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
  /** Where the secret goes: a header, a `{param}` of the path (Telegram), or it is the base URL (Slack). */
  credential?: Credential & { header?: (secret: string) => Record<string, string>; pathParam?: string; isBaseUrl?: boolean };
  headers?: Record<string, string>;
  /** Wait after a 429 that names none (Supabase blocks for the rest of the minute). */
  defaultRetryAfterMs?: number;
}

export interface PlatformRequest {
  method: HttpMethod;
  /** Path template under the base URL, e.g. "/v13/deployments/{id}"; the template names the endpoint in errors. */
  path: string;
  params?: Record<string, string | number>;
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** What the call acts on, for hints: "project crav-javari". */
  resource?: string;
  /** Status-specific hints replacing the generic ones. */
  hints?: Partial<Record<number, string>>;
  headers?: Record<string, string>;
  /** A secret sent in the body (PagerDuty routing key): named in hints and redacted. */
  credential?: Credential & { value: string };
  /** Replaces the base URL (absolute URLs of app probes). */
  baseUrl?: string;
  /**
   * For streamed NDJSON (Vercel runtime logs): stop after this many lines; a stream still open when the
   * request timeout fires yields the complete lines that arrived instead of an error.
   */
  maxLines?: number;
}

export interface ReadRequest<S extends z.ZodType> extends PlatformRequest {
  schema: S;
  /** How the body is read: JSON (default), plain text, or newline-delimited JSON into an array. */
  read?: 'json' | 'text' | 'ndjson';
}

export class PlatformHttp {
  constructor(readonly target: HttpTarget) {}

  /** Calls the endpoint and returns the validated answer. */
  async request<S extends z.ZodType>(req: ReadRequest<S>): Promise<z.output<S>> {
    const { endpoint, status, text, secrets } = await this.exchange(req);
    let raw: unknown;
    try {
      raw = decode(text, req.read ?? 'json');
    } catch (err) {
      throw new PlatformError({
        platform: this.target.platform,
        endpoint,
        status,
        kind: 'unavailable',
        retryable: true,
        hint: `the answer is not readable ${req.read === 'ndjson' ? 'NDJSON' : 'JSON'} (${redactSecrets((err as Error).message, secrets).slice(0, 120)}); will be retried`,
      });
    }
    const parsed = req.schema.safeParse(raw);
    if (parsed.success) return parsed.data;
    const problems = describeIssues(parsed.error.issues).slice(0, 5);
    throw new PlatformError({
      platform: this.target.platform,
      endpoint,
      status,
      kind: 'contract',
      retryable: false,
      hint: `the answer does not match the expected shape: ${redactSecrets(problems.join('; '), secrets)}`,
    });
  }

  /** Calls an endpoint whose answer body is not used (201/202/204 without a body). */
  async send(req: PlatformRequest): Promise<void> {
    await this.exchange(req);
  }

  /** The credential's value; a missing one fails the call (not the worker start) with the variable to set. */
  secret(endpoint: string, credential: Credential | undefined = this.target.credential): string | undefined {
    if (!credential) return undefined;
    const value = secretFromEnv(credential.env, this.target.env);
    if (value) return value;
    throw new PlatformError({
      platform: this.target.platform,
      endpoint,
      kind: 'auth',
      retryable: false,
      hint: `${credential.env} is not set: put the ${credential.noun} in the worker's environment`,
    });
  }

  private async exchange(req: PlatformRequest): Promise<{ endpoint: string; status: number; text: string; secrets: string[] }> {
    const { platform, credential, timeoutMs } = this.target;
    const endpoint = `${req.method} ${credential?.isBaseUrl ? `<${credential.noun} from ${credential.env}>` : ''}${req.path}`;
    const secret = this.secret(endpoint);
    const secrets = [secret, req.credential?.value].filter((s): s is string => !!s);
    const url = this.url(req, secret);
    const headers: Record<string, string> = {
      accept: req.headers?.accept ?? 'application/json',
      'user-agent': 'durable-runbooks (operations runbooks as Temporal workflows)',
      ...this.target.headers,
      ...(secret && credential?.header ? credential.header(secret) : {}),
      ...req.headers,
    };
    // A FormData body sets its own multipart content type with the boundary.
    const form = req.body instanceof FormData;
    if (req.body !== undefined && !form) headers['content-type'] = 'application/json';

    const { signal, timedOut, rethrowIfCancelled } = requestSignal(timeoutMs);
    let status: number;
    let responseHeaders: Record<string, string | string[] | undefined>;
    let text: string;
    try {
      const res = await request(url, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : form ? (req.body as FormData) : JSON.stringify(req.body),
        signal,
      });
      status = res.statusCode;
      responseHeaders = res.headers;
      text = status < 400 && req.maxLines !== undefined ? await readLines(res.body, req.maxLines, timedOut) : await res.body.text();
    } catch (err) {
      rethrowIfCancelled();
      throw new PlatformError({
        platform,
        endpoint,
        kind: 'unavailable',
        retryable: true,
        hint: timedOut()
          ? `no answer within ${timeoutMs} ms (platforms.requestTimeout); will be retried`
          : `request failed (${redactSecrets(networkReason(err), secrets)}); will be retried`,
      });
    }
    if (status >= 400) {
      const problem = vendorProblem(text);
      throw classifyStatus({
        platform,
        endpoint,
        status,
        headers: responseHeaders,
        body: problem.body,
        vendorCode: problem.code,
        vendorMessage: problem.message && redactSecrets(problem.message, secrets),
        credential: req.credential ?? credential,
        resource: req.resource,
        hints: req.hints,
        defaultRetryAfterMs: this.target.defaultRetryAfterMs,
      });
    }
    return { endpoint, status, text, secrets };
  }

  private url(req: PlatformRequest, secret: string | undefined): string {
    const { credential } = this.target;
    const base = (req.baseUrl ?? (credential?.isBaseUrl ? secret! : this.target.baseUrl)).replace(/\/+$/, '');
    const params: Record<string, string | number> = { ...req.params };
    const path = req.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      // Bot tokens ("123:abc") go into the path as they are.
      if (name === credential?.pathParam && secret) return secret;
      const v = params[name];
      if (v === undefined) throw new Error(`${req.method} ${req.path}: no value for {${name}}`);
      return encodeURIComponent(String(v));
    });
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) search.append(key, String(v));
      else search.append(key, String(value));
    }
    const qs = search.toString();
    return `${base}${path}${qs ? `${path.includes('?') ? '&' : '?'}${qs}` : ''}`;
  }
}

async function readLines(body: AsyncIterable<Buffer> & { destroy(): unknown }, maxLines: number, timedOut: () => boolean): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of body) {
      text += decoder.decode(chunk, { stream: true });
      const lines = text.split('\n');
      if (lines.length > maxLines) {
        body.destroy();
        return lines.slice(0, maxLines).join('\n');
      }
    }
    return text + decoder.decode();
  } catch (err) {
    if (!timedOut()) throw err;
    // Cut off mid-stream: keep the complete lines only.
    return text.slice(0, text.lastIndexOf('\n') + 1);
  }
}

function decode(text: string, read: 'json' | 'text' | 'ndjson'): unknown {
  if (read === 'text') return text.trim();
  if (read === 'json') return JSON.parse(text);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (err) {
        throw new Error(`line ${i + 1}: ${(err as Error).message}`);
      }
    });
}

function networkReason(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
}

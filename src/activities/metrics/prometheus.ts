import { request } from 'undici';
import { z } from 'zod';

/**
 * The prometheus provider: one PromQL instant query (GET /api/v1/query) that must come back as a single
 * number. An empty vector, or NaN (0/0 of a rate ratio over a quiet window), is no data.
 */

const sample = z.tuple([z.number(), z.string()]);
const answer = z.object({
  status: z.string(),
  error: z.string().optional(),
  data: z
    .discriminatedUnion('resultType', [
      z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sample })) }),
      z.object({ resultType: z.literal('scalar'), result: sample }),
    ])
    .optional(),
});

/** PromQL regex string literal matching exactly `id` (the watch substitutes `$deployment` with it). */
export function promRegexLiteral(id: string): string {
  return id
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"');
}

/** `$deployment` (a regex: `deployment=~"$deployment"`; every deployment outside a watch) and `$window` (e.g. 60s). */
export function promQuery(template: string, vars: { deployment?: string; windowMs: number }): string {
  const deployment = vars.deployment === undefined ? '.+' : promRegexLiteral(vars.deployment);
  return template.replaceAll('$deployment', deployment).replaceAll('$window', `${Math.max(1, Math.round(vars.windowMs / 1000))}s`);
}

export async function queryPrometheus(
  baseUrl: string,
  query: string,
  opts: { token?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<number | null> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  url.searchParams.set('query', query);
  let res;
  try {
    res = await request(url, {
      headers: { accept: 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      signal: opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout,
    });
  } catch (err) {
    if (timeout.aborted) throw new Error(`Prometheus at ${url.origin} did not answer within ${opts.timeoutMs} ms`);
    const e = err as { code?: string; message?: string };
    throw new Error(`Prometheus at ${url.origin} unreachable: ${e.code ?? e.message}`);
  }
  const text = await res.body.text();
  let parsed;
  try {
    parsed = answer.safeParse(JSON.parse(text));
  } catch {
    throw new Error(`Prometheus at ${url.origin} answered ${res.statusCode} with a body that is not JSON`);
  }
  if (!parsed.success) throw new Error(`Prometheus at ${url.origin} answered ${res.statusCode} with an unexpected body`);
  const body = parsed.data;
  if (body.status !== 'success' || !body.data)
    throw new Error(`Prometheus refused the query (${res.statusCode}): ${body.error ?? body.status}`);
  let raw: string;
  if (body.data.resultType === 'scalar') raw = body.data.result[1];
  else {
    const series = body.data.result;
    if (!series.length) return null;
    if (series.length > 1) throw new Error(`the query returned ${series.length} series; aggregate it to one number (sum, max)`);
    raw = series[0].value[1];
  }
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}

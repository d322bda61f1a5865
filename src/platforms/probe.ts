import { request } from 'undici';
import type { RunbookConfig } from '../config/schema';
import { describeIssues } from '../workflows/common/failures';
import { requestSignal } from './activity-context';
import { PlatformHttp } from './http';
import { redactUrl } from './redact';
import { APP_METRICS_PATH, appHealth, appMetrics } from './schemas';
import type { AppProbe, ProbeResult } from './types';
import { joinUrl } from './urls';

const BODY_LIMIT = 4096;

/** Plain HTTP checks of the application's own URLs (production URL and deployment URLs). */
export function createAppProbe(config: RunbookConfig, env: NodeJS.ProcessEnv): AppProbe {
  const timeoutMs = config.platforms.requestTimeout;
  const http = new PlatformHttp({ platform: 'app', baseUrl: '', timeoutMs, env });

  async function get(url: string, headers: Record<string, string> = {}): Promise<ProbeResult> {
    const { signal, timedOut, rethrowIfCancelled } = requestSignal(timeoutMs);
    const started = performance.now();
    try {
      const res = await request(url, {
        method: 'GET',
        headers: { accept: 'application/json, text/html;q=0.9, */*;q=0.5', ...headers },
        signal,
      });
      const body = (await res.body.text()).slice(0, BODY_LIMIT);
      return { url: redactUrl(url), status: res.statusCode, latencyMs: Math.round(performance.now() - started), body };
    } catch (err) {
      rethrowIfCancelled();
      const e = err as { code?: string; message?: string; cause?: { code?: string } };
      return {
        url: redactUrl(url),
        status: null,
        latencyMs: Math.round(performance.now() - started),
        body: '',
        error: timedOut() ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.code ?? e.message ?? String(err)),
      };
    }
  }

  return {
    get,
    async health(baseUrl, healthPath = '/api/health') {
      const result = await get(joinUrl(baseUrl, healthPath));
      if (result.status === null) return result;
      let json: unknown;
      try {
        json = JSON.parse(result.body);
      } catch {
        return { ...result, problem: 'the health answer is not JSON' };
      }
      const parsed = appHealth.safeParse(json);
      return parsed.success ? { ...result, health: parsed.data } : { ...result, problem: describeIssues(parsed.error.issues).join('; ') };
    },
    metrics: (baseUrl) =>
      http.request({ method: 'GET', baseUrl, path: APP_METRICS_PATH, resource: `metrics of ${redactUrl(baseUrl)}`, schema: appMetrics }),
  };
}

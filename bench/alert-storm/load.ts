import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { Planned } from './shapes';

export interface StormResult {
  requests: number;
  alertsSent: number;
  /** Alerts of the deliveries answered 2xx. */
  alertsAccepted: number;
  seconds: number;
  /** Per delivery, until its 2xx (including retries after a 503), ms. */
  latencies: Float64Array;
  statuses: Record<string, number>;
}

/** Alertmanager's notification retries: exponential backoff after a failed delivery, capped. */
const RETRY_MS = { first: 100, max: 2_000, attempts: 30 };

/** Posts the deliveries with `connections` requests in flight; a 503 (or a refused connection) is retried as Alertmanager does. */
export async function storm(url: string, requests: Planned[], connections: number): Promise<StormResult> {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const latencies = new Float64Array(requests.length);
  const statuses: Record<string, number> = {};
  let next = 0;
  let accepted = 0;
  let sent = 0;
  const started = performance.now();
  async function lane(): Promise<void> {
    for (;;) {
      const i = next++;
      if (i >= requests.length) return;
      const r = requests[i];
      sent += r.alerts;
      const t0 = performance.now();
      for (let attempt = 0, wait = RETRY_MS.first; ; attempt++, wait = Math.min(wait * 2, RETRY_MS.max)) {
        let status = 0;
        try {
          const res = await pool.request({ path: r.path, method: 'POST', headers: r.headers, body: r.body });
          await res.body.text();
          status = res.statusCode;
        } catch {
          status = 0; // connection refused or reset
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status >= 200 && status < 300) {
          accepted += r.alerts;
          break;
        }
        if ((status !== 503 && status !== 0) || attempt >= RETRY_MS.attempts) break;
        await new Promise((done) => setTimeout(done, wait));
      }
      latencies[i] = performance.now() - t0;
    }
  }
  await Promise.all(Array.from({ length: connections }, lane));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { requests: requests.length, alertsSent: sent, alertsAccepted: accepted, seconds, latencies, statuses };
}

export function percentile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPrometheus, type RunningServer } from '../../src/stack/prometheus';

/**
 * The services[].metrics the metric suites give the first runbook's service: the error rate and p99 of
 * the deployment the watch judges, from the sandbox's sample app as a real Prometheus scraped it.
 */
export const PROM_ERROR_RATE =
  '100 * (sum(rate(http_requests_total{deployment=~"$deployment",status=~"5.."}[$window])) or vector(0))' +
  ' / sum(rate(http_requests_total{deployment=~"$deployment"}[$window]))';
export const PROM_P99_MS =
  '1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{deployment=~"$deployment"}[$window])))';

export function promMetrics(window = '5s', extra: Record<string, unknown> = {}) {
  return [
    { name: 'error-rate', provider: 'prom', query: PROM_ERROR_RATE, warning: 1, critical: 5, unit: '%', window, ...extra },
    { name: 'p99', provider: 'prom', query: PROM_P99_MS, warning: 5_000, critical: 10_000, unit: 'ms', window },
  ];
}

/** A real Prometheus (Debian) scraping the sandbox every second, in a temp dir removed by stop(). */
export async function prometheusFor(sandboxUrl: string): Promise<RunningServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prometheus-test-'));
  const prom = await startPrometheus({ dir, targets: [new URL(sandboxUrl).host], scrapeInterval: '1s' });
  return {
    ...prom,
    async stop() {
      await prom.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until Prometheus has scraped the sandbox at least once (the target is up). */
export async function scraped(prometheusUrl: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = (await (await fetch(`${prometheusUrl}/api/v1/query?query=up`)).json()) as { data: { result: { value: [number, string] }[] } };
    if (r.data.result.some((s) => s.value[1] === '1')) return;
    if (Date.now() > until) throw new Error('Prometheus never scraped the sandbox');
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** Waits until `query` (an instant PromQL query for one number) answers above `min`. */
export async function promAbove(prometheusUrl: string, query: string, min: number, timeoutMs = 30_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = (await (await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as {
      data: { result: { value: [number, string] }[] };
    };
    const value = Number(r.data.result[0]?.value[1]);
    if (value > min) return value;
    if (Date.now() > until) throw new Error(`Prometheus never answered above ${min}: ${query}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

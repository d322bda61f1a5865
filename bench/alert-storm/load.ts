import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { BENCH_TOKEN } from './config';

export interface StormOptions {
  url: string;
  alerts: number;
  groups: number;
  connections: number;
  /** Alerts per POST (all of one group, as Alertmanager groups them). */
  perRequest: number;
  /** `grouped`: a group's alerts arrive together, as in a cascading failure; `shuffled`: groups interleave at random. */
  order: 'grouped' | 'shuffled';
  /** Prefix that keeps each storm's groups (and so its incidents) apart. */
  run: string;
}

export interface StormResult {
  requests: number;
  alertsSent: number;
  alertsAccepted: number;
  seconds: number;
  /** Per request, until its 202 (including retries after a 503), ms. */
  latencies: Float64Array;
  statuses: Record<string, number>;
}

/** `run` keeps the workflow ids of one storm under a common prefix (see incidentPrefix). */
export const groupKey = (run: string, g: number) => `{}:{run="${run}", alertname="StormGroup${g}"}`;
export const incidentPrefix = (run: string) => `incident-alertmanager-run-${run.toLowerCase()}-`;

interface Planned {
  body: string;
  alerts: number;
}

/** Every request body of the storm, built before the clock starts. */
function plan(o: StormOptions): Planned[] {
  const startsAt = new Date().toISOString();
  const out: Planned[] = [];
  for (let g = 0; g < o.groups; g++) {
    const count = Math.floor(o.alerts / o.groups) + (g < o.alerts % o.groups ? 1 : 0);
    const alertname = `StormGroup${g}`;
    for (let i = 0; i < count; i += o.perRequest) {
      const alerts = [];
      for (let j = i; j < Math.min(count, i + o.perRequest); j++) {
        alerts.push({
          status: 'firing',
          labels: { alertname, instance: `node-${j}.bench:9100`, job: 'node', service: 'javari-web', severity: 'warning' },
          annotations: { summary: `${alertname}: node-${j} unhealthy`, description: 'Synthetic alert of the alert-storm benchmark.' },
          startsAt,
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.bench:9090/graph?g0.expr=up%3D%3D0',
          fingerprint: `${o.run}.${g}.${j}`,
        });
      }
      out.push({
        alerts: alerts.length,
        body: JSON.stringify({
          version: '4',
          groupKey: groupKey(o.run, g),
          truncatedAlerts: 0,
          status: 'firing',
          receiver: 'durable-runbooks',
          groupLabels: { alertname },
          commonLabels: { alertname, job: 'node', service: 'javari-web', severity: 'warning' },
          commonAnnotations: {},
          externalURL: 'http://alertmanager.bench:9093',
          alerts,
        }),
      });
    }
  }
  if (o.order === 'shuffled') {
    let seed = 42;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
  }
  return out;
}

/** Posts the storm with `connections` requests in flight; a 503 is retried like a source would, after 100 ms. */
export async function storm(o: StormOptions): Promise<StormResult> {
  const requests = plan(o);
  const pool = new Pool(o.url, { connections: o.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const latencies = new Float64Array(requests.length);
  const statuses: Record<string, number> = {};
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` };
  let next = 0;
  let accepted = 0;
  const started = performance.now();
  async function lane(): Promise<void> {
    for (;;) {
      const i = next++;
      if (i >= requests.length) return;
      const t0 = performance.now();
      for (let attempt = 0; ; attempt++) {
        const res = await pool.request({ path: '/webhooks/alertmanager', method: 'POST', headers, body: requests[i].body });
        const text = await res.body.text();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === 202) {
          accepted += (JSON.parse(text) as { accepted: number }).accepted;
          break;
        }
        if (res.statusCode !== 503 || attempt >= 50) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      latencies[i] = performance.now() - t0;
    }
  }
  await Promise.all(Array.from({ length: o.connections }, lane));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { requests: requests.length, alertsSent: o.alerts, alertsAccepted: accepted, seconds, latencies, statuses };
}

export function percentile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

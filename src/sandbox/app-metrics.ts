import { Counter, Histogram, Registry } from 'prom-client';
import type { AppInstance, ProductionRoute } from './apps';
import { mulberry32, requestOutcome, type Rng } from './sample-apps';

/**
 * The sample app's Prometheus metrics, as its production traffic would produce them: a request counter
 * by status and a latency histogram, labelled by project and deployment (the canary and the stable one
 * apart during a rolling release). The requests are simulated at scrape time for the time since the
 * previous scrape, each taking the status and latency of the deployment that served it (its profile:
 * degrade it and the counters show it), so nothing runs between scrapes.
 */

export interface ServedRoutes {
  routeList(): Array<ProductionRoute & { projectId: string }>;
  instance(deploymentId: string): AppInstance | undefined;
}

/** Requests per second each project's production serves in the simulation (RUNBOOK_SANDBOX_METRICS_RPS). */
export const DEFAULT_METRICS_RPS = 20;
/** Longer gaps between scrapes are simulated as this much traffic at most (a sandbox left alone for a day). */
const MAX_GAP_MS = 60_000;

export const LATENCY_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15, 30];

export class AppRequestMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'http_requests_total',
    help: 'Requests served by the sample app, by project, deployment and HTTP status',
    labelNames: ['project', 'deployment', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Request latency of the sample app, by project and deployment',
    labelNames: ['project', 'deployment'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  private last = Date.now();
  private carry = 0;
  private readonly rng: Rng;

  constructor(
    private readonly source: ServedRoutes,
    private readonly rps = DEFAULT_METRICS_RPS,
    seed = Date.now() % 2 ** 31,
  ) {
    this.rng = mulberry32(seed);
  }

  observe(project: string, deployment: string, status: number, latencyMs: number): void {
    this.requests.inc({ project, deployment, status: String(status) });
    this.duration.observe({ project, deployment }, latencyMs / 1000);
  }

  /** Serves the traffic of every production route since the previous call. */
  simulate(now = Date.now()): void {
    const due = (this.rps * Math.min(Math.max(0, now - this.last), MAX_GAP_MS)) / 1000 + this.carry;
    this.last = now;
    const count = Math.floor(due);
    this.carry = due - count;
    if (!count) return;
    for (const route of this.source.routeList()) {
      if (!route.current) continue;
      // Noise is per scrape (a busy minute, a slow dependency), on top of the sampling noise of the requests themselves.
      const jitter = new Map<string, number>();
      for (let i = 0; i < count; i++) {
        const id = route.canary && this.rng() * 100 < route.canaryPercent ? route.canary : route.current;
        const inst = this.source.instance(id);
        if (!inst || inst.phase !== 'ready') continue;
        const p = inst.profile;
        if (p.maintenance) {
          this.observe(route.projectId, id, 503, 5);
          continue;
        }
        if (!jitter.has(id)) jitter.set(id, p.noise > 0 ? 1 + (this.rng() * 2 - 1) * p.noise : 1);
        const j = jitter.get(id)!;
        const out = requestOutcome(this.rng, {
          deploymentId: id,
          errorRate: p.errorRate * j,
          p50Ms: p.p50Ms * j,
          p99Ms: p.p99Ms * j,
          delayMs: p.delayMs,
          healthy: p.healthy,
          status500: p.status500,
        });
        this.observe(route.projectId, id, out.status, out.latency);
      }
    }
  }

  /** The text exposition format, with the traffic up to now. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    this.simulate();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

export function metricsRpsFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.RUNBOOK_SANDBOX_METRICS_RPS;
  if (raw === undefined || raw === '') return DEFAULT_METRICS_RPS;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 10_000)
    throw new Error(`RUNBOOK_SANDBOX_METRICS_RPS: must be requests per second from 0 to 10000, got "${raw}"`);
  return n;
}

import type { HealthProbeResult, PlatformClients } from '../../platforms';
import type { MetricReading } from '../../workflows/common/metrics';

export interface HealthSample {
  healthy: boolean;
  status: number | null;
  errorRate: number | null;
  p99Ms: number | null;
  detail: string;
  /** The service's configured metrics (services[].metrics), when it has any: then errorRate/p99Ms stay null. */
  metrics?: MetricReading[];
}

/**
 * A health document in the first runbook's shape decides by its `status`; any other answer (the second
 * runbook checks its frontend with a plain GET) counts as up when it is a 2xx.
 */
export function isHealthy(h: HealthProbeResult): boolean {
  if (h.status === null) return false;
  if (h.health) return h.status === 200 && h.health.status === 'healthy';
  return h.status >= 200 && h.status < 300;
}

/**
 * One sample of an app: its health endpoint plus, unless `endpointMetrics` is false (the service has
 * configured metrics instead), its /api/metrics. A down app is an observation, not an error.
 */
export async function sampleApp(
  probe: PlatformClients['probe'],
  baseUrl: string,
  healthPath: string,
  { endpointMetrics = true } = {},
): Promise<HealthSample> {
  const [health, metrics] = await Promise.all([
    probe.health(baseUrl, healthPath),
    endpointMetrics
      ? probe.metrics(baseUrl).then(
          (m) => m,
          (err: unknown) => err as Error,
        )
      : undefined,
  ]);
  const healthy = isHealthy(health);
  const detail = [
    health.status === null
      ? `health: no answer (${health.error})`
      : `health: ${health.status}${health.health ? ` ${health.health.status}` : ''}${health.problem ? ` (${health.problem})` : ''}`,
    ...(metrics === undefined
      ? []
      : [
          metrics instanceof Error
            ? `metrics unavailable: ${metrics.message}`
            : `error rate ${metrics.errorRate}%, p99 ${metrics.p99Ms} ms`,
        ]),
  ].join('; ');
  const m = metrics instanceof Error ? undefined : metrics;
  return { healthy, status: health.status, errorRate: m?.errorRate ?? null, p99Ms: m?.p99Ms ?? null, detail };
}

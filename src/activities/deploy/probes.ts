import type { HealthProbeResult, PlatformClients } from '../../platforms';

export interface HealthSample {
  healthy: boolean;
  status: number | null;
  errorRate: number | null;
  p99Ms: number | null;
  detail: string;
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

/** One sample of an app: its health endpoint plus its request metrics. A down app is an observation, not an error. */
export async function sampleApp(probe: PlatformClients['probe'], baseUrl: string, healthPath: string): Promise<HealthSample> {
  const [health, metrics] = await Promise.all([
    probe.health(baseUrl, healthPath),
    probe.metrics(baseUrl).then(
      (m) => m,
      (err: unknown) => err as Error,
    ),
  ]);
  const healthy = isHealthy(health);
  const detail = [
    health.status === null
      ? `health: no answer (${health.error})`
      : `health: ${health.status}${health.health ? ` ${health.health.status}` : ''}${health.problem ? ` (${health.problem})` : ''}`,
    metrics instanceof Error ? `metrics unavailable: ${metrics.message}` : `error rate ${metrics.errorRate}%, p99 ${metrics.p99Ms} ms`,
  ].join('; ');
  return {
    healthy,
    status: health.status,
    errorRate: metrics instanceof Error ? null : metrics.errorRate,
    p99Ms: metrics instanceof Error ? null : metrics.p99Ms,
    detail,
  };
}

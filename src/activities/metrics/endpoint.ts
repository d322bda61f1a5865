import type { PlatformClients } from '../../platforms';

/** The endpoint provider: a field of the app's own GET /api/metrics (optional; neither runbook's app serves it). */
export const ENDPOINT_FIELDS = ['errorRate', 'p50Ms', 'p95Ms', 'p99Ms'] as const;
type EndpointField = (typeof ENDPOINT_FIELDS)[number];

export async function endpointValue(probe: PlatformClients['probe'], baseUrl: string, field: string): Promise<number | null> {
  if (!(ENDPOINT_FIELDS as readonly string[]).includes(field))
    throw new Error(`the endpoint provider's query must be one of ${ENDPOINT_FIELDS.join(', ')}, not "${field}"`);
  const m = await probe.metrics(baseUrl);
  return m[field as EndpointField];
}

import { groupKey } from '../alert-storm/shapes';
import { BENCH_TOKEN } from '../alert-storm/config';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';

/** One Alertmanager notification of a run's group `g` carrying one alert per fingerprint. */
export function notification(run: string, g: number, fingerprints: string[], severity = 'warning'): string {
  const alertname = `StormGroup${g}`;
  const now = new Date().toISOString();
  return JSON.stringify({
    version: '4',
    groupKey: groupKey(run, g),
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'durable-runbooks',
    groupLabels: { alertname },
    commonLabels: { alertname, service: 'javari-web', severity },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test:9093',
    alerts: fingerprints.map((fingerprint) => ({
      status: 'firing',
      labels: { alertname, instance: fingerprint, service: 'javari-web', severity },
      annotations: { summary: `${alertname} on ${fingerprint}` },
      startsAt: now,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.test:9090/graph',
      fingerprint,
    })),
  });
}

/** The incident the receivers open for group `g` of a run (Alertmanager's dedup key is its group key). */
export const incidentId = (run: string, g: number) => incidentWorkflowId(`alertmanager:${groupKey(run, g)}`);

/** POSTs a notification with the bench's bearer token; a 503 is retried as Alertmanager would. */
export async function post(url: string, body: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${url}/webhooks/alertmanager`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` },
      body,
    });
    await res.text();
    if (res.status !== 503 || attempt >= 100) return res.status;
    await new Promise((r) => setTimeout(r, 200));
  }
}

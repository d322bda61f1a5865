import { amHeaders, amNotification, groupKey } from '../alert-storm/shapes';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';

/** One Alertmanager notification of a run's group `g` carrying one alert per fingerprint (each firing on a node of its name). */
export function notification(run: string, g: number, fingerprints: string[], severity = 'warning'): string {
  const alerts = fingerprints.map((fingerprint) => ({ fingerprint, node: fingerprint }));
  return amNotification(run, g, alerts, { startsAt: new Date().toISOString(), peer: 'http://alertmanager.test:9093', severity });
}

/** The incident the receivers open for group `g` of a run (Alertmanager's dedup key is its group key). */
export const incidentId = (run: string, g: number) => incidentWorkflowId(`alertmanager:${groupKey(run, g)}`);

/** POSTs a notification with the bench's bearer token; a 503 is retried as Alertmanager would. */
export async function post(url: string, body: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${url}/webhooks/alertmanager`, {
      method: 'POST',
      headers: amHeaders,
      body,
    });
    await res.text();
    if (res.status !== 503 || attempt >= 100) return res.status;
    await new Promise((r) => setTimeout(r, 200));
  }
}

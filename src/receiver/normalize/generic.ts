import { z } from 'zod';
import { raisedAlertSchema, type Alert, type RaisedAlert } from '../../workflows/common/alerts';
import { finishAlert, parseBody, type NormalizeContext, type Normalized } from './common';

/** The project's own format: one alert, or `{"alerts": [...]}` (README, "Webhooks"). */
export const genericPayload = z.union([z.object({ alerts: z.array(raisedAlertSchema).min(1).max(1000) }), raisedAlertSchema]);

/** Fills what a raised alert may leave out: the fingerprint is the dedup key, times are now (receivedAt always is). */
export function completeAlert(a: RaisedAlert, defaultSource: string, now: Date): Alert {
  const receivedAt = now.toISOString();
  return finishAlert({
    ...a,
    source: a.source ?? defaultSource,
    fingerprint: a.fingerprint ?? a.dedupKey,
    startsAt: a.startsAt ?? receivedAt,
    receivedAt,
  });
}

export function normalizeGeneric(body: unknown, ctx: NormalizeContext): Normalized {
  // Parse the list form first when `alerts` is present, so problems name `alerts.N.field`.
  const schema = body && typeof body === 'object' && 'alerts' in body ? genericPayload.options[0] : genericPayload.options[1];
  const parsed = parseBody(schema, body);
  if (!parsed.ok) return parsed.result;
  const list = 'alerts' in parsed.data ? parsed.data.alerts : [parsed.data];
  return { ok: true, alerts: list.map((a) => completeAlert(a, 'generic', ctx.now)) };
}

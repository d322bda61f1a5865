import { z } from 'zod';
import { amAlertSchema, amEnvelopeShape, normalizeGroup } from './alertmanager';
import { parseBody, type NormalizeContext, type Normalized } from './common';

const grafanaAlert = amAlertSchema.extend({
  fingerprint: amAlertSchema.shape.fingerprint.optional(),
  silenceURL: z.string().optional(),
  /** Query results that crossed the threshold, e.g. `{"B": 44.2}`. */
  values: z.record(z.string(), z.number().nullable()).nullable().optional(),
  valueString: z.string().optional(),
  imageURL: z.string().optional(),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
});

/** Grafana alerting's webhook contact point: the Alertmanager envelope, version "1", plus org, title, state and message. */
export const grafanaPayload = z.object({
  version: z.literal('1'),
  ...amEnvelopeShape,
  orgId: z.number().int(),
  title: z.string(),
  state: z.string(),
  message: z.string().optional(),
  alerts: z.array(grafanaAlert).min(1),
});

function valuesLine(values: Record<string, number | null> | null | undefined): string | undefined {
  if (!values) return undefined;
  const parts = Object.entries(values).map(([k, v]) => `${k}=${v ?? 'null'}`);
  return parts.length ? `Values: ${parts.join(', ')}` : undefined;
}

export function normalizeGrafana(body: unknown, ctx: NormalizeContext): Normalized {
  const parsed = parseBody(grafanaPayload, body);
  if (!parsed.ok) return parsed.result;
  const g = parsed.data;
  const alerts = normalizeGroup('grafana', `grafana:${g.orgId}`, g, g.alerts, ctx, {
    url: (a) => a.panelURL || a.dashboardURL || a.generatorURL || undefined,
    description: (a) => {
      const text = a.annotations.description ?? g.commonAnnotations.description ?? a.annotations.message;
      const values = valuesLine(a.values);
      return [text, values].filter(Boolean).join('\n') || undefined;
    },
  });
  return { ok: true, alerts };
}

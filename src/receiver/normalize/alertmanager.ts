import { z } from 'zod';
import type { Alert } from '../../workflows/common/alerts';
import {
  boolLabel,
  boundedKey,
  finishAlert,
  isoTime,
  labelsFingerprint,
  parseBody,
  serviceFromLabels,
  type NormalizeContext,
  type Normalized,
} from './common';

const labelSet = z.record(z.string(), z.string());

/** One alert of an Alertmanager (or Grafana) notification. */
export const amAlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet,
  annotations: labelSet.default({}),
  startsAt: z.iso.datetime({ offset: true }),
  /** `0001-01-01T00:00:00Z` while firing. */
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1).max(255),
});

/** The notification envelope shared by Alertmanager (version "4") and Grafana (version "1"). */
export const amEnvelopeShape = {
  groupKey: z.string().min(1),
  truncatedAlerts: z.number().int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().optional(),
};

export const alertmanagerPayload = z.object({
  version: z.literal('4'),
  ...amEnvelopeShape,
  alerts: z.array(amAlertSchema).min(1),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayload>;

type Envelope = Omit<AlertmanagerPayload, 'version' | 'alerts'>;
/** An alert of either source; Grafana may omit the fingerprint. */
type AmAlert = Omit<z.infer<typeof amAlertSchema>, 'fingerprint'> & { fingerprint?: string };

/**
 * The dedup key of one alert: the group key (stable across repeats and across the members of an HA pair),
 * or, when `incidents.dedupLabels` is configured, those labels' values, so every source keyed on the same
 * labels joins one incident.
 */
export function groupDedupKey(prefix: string, env: Envelope, alert: AmAlert, ctx: NormalizeContext): string {
  const labels = ctx.config.incidents.dedupLabels;
  if (labels && labels.length > 0) {
    const values = labels.map((l) => `${l}=${alert.labels[l] ?? env.groupLabels[l] ?? env.commonLabels[l] ?? ''}`);
    return boundedKey('labels', values.join(','));
  }
  return boundedKey(prefix, env.groupKey);
}

/** Per-source extras on top of the common mapping (Grafana adds values, dashboard and panel links). */
export interface GroupExtras<A extends AmAlert> {
  url?(alert: A): string | undefined;
  description?(alert: A): string | undefined;
}

export function normalizeGroup<A extends AmAlert>(
  source: string,
  keyPrefix: string,
  env: Envelope,
  alerts: A[],
  ctx: NormalizeContext,
  extras: GroupExtras<A> = {},
): Alert[] {
  const receivedAt = ctx.now.toISOString();
  // Alerts dropped by max_alerts are still firing at the source: say so, so nobody reads the list as complete.
  const truncated =
    env.truncatedAlerts > 0 ? `\n\n(${env.truncatedAlerts} more alerts of this group were not sent: ${source} max_alerts)` : '';
  return alerts.map((a) => {
    const annotations = { ...env.commonAnnotations, ...a.annotations };
    const description = extras.description?.(a) ?? annotations.description ?? annotations.message;
    return finishAlert({
      source,
      dedupKey: groupDedupKey(keyPrefix, env, a, ctx),
      fingerprint: a.fingerprint ?? labelsFingerprint(a.labels),
      status: a.status,
      service: serviceFromLabels(a.labels, env.commonLabels),
      summary: annotations.summary ?? annotations.title ?? a.labels.alertname ?? env.groupKey,
      description: description !== undefined || truncated ? `${description ?? ''}${truncated}`.trim() : undefined,
      labels: a.labels,
      url: extras.url?.(a) ?? a.generatorURL ?? undefined,
      customerFacing: boolLabel(a.labels.customer_facing),
      startsAt: isoTime(a.startsAt) ?? receivedAt,
      endsAt: a.status === 'resolved' ? isoTime(a.endsAt) : undefined,
      receivedAt,
    });
  });
}

export function normalizeAlertmanager(body: unknown, ctx: NormalizeContext): Normalized {
  const parsed = parseBody(alertmanagerPayload, body);
  if (!parsed.ok) return parsed.result;
  return { ok: true, alerts: normalizeGroup('alertmanager', 'alertmanager', parsed.data, parsed.data.alerts, ctx) };
}

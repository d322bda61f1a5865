import { z } from 'zod';
import { severity } from './severity';

/**
 * The one normalized alert every source becomes: Alertmanager, Grafana, Sentry, Vercel, generic JSON, and
 * the service's own health checks, deploy watch and backup verification. Alerts with the same `dedupKey`
 * belong to the same incident; `fingerprint` tells alerts of one group apart.
 */
export const alertSchema = z.object({
  source: z.string().min(1).max(64),
  dedupKey: z.string().min(1).max(255),
  fingerprint: z.string().min(1).max(255),
  status: z.enum(['firing', 'resolved']),
  /** Set when the source states it; otherwise the incident maps labels to a severity by config. */
  severity: severity.optional(),
  service: z.string().max(200).optional(),
  summary: z.string().min(1).max(1024),
  description: z.string().max(8192).optional(),
  labels: z.record(z.string(), z.string()).default({}),
  url: z.string().max(2048).optional(),
  customerFacing: z.boolean().optional(),
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.iso.datetime({ offset: true }).optional(),
  receivedAt: z.iso.datetime({ offset: true }),
});
export type Alert = z.infer<typeof alertSchema>;
export type AlertInput = z.input<typeof alertSchema>;

/** 32-bit FNV-1a, hex: deterministic and dependency-free, so workflows and the receiver derive the same id. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** `incident-<readable slug>-<hash>`: findable in the Temporal UI, and unique per dedup key. */
export function incidentWorkflowId(dedupKey: string): string {
  const slug = dedupKey
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `incident-${slug || 'alert'}-${fnv1a(dedupKey)}`;
}

/**
 * An alert as raised by the service itself or posted in the generic JSON format: the normalized alert with
 * the fields the receiver can fill in optional (`source`, `fingerprint` defaults to the dedup key, times to now).
 * Every complete `AlertInput` is also a valid raised alert.
 */
export const raisedAlertSchema = alertSchema.extend({
  source: alertSchema.shape.source.optional(),
  fingerprint: alertSchema.shape.fingerprint.optional(),
  startsAt: alertSchema.shape.startsAt.optional(),
  receivedAt: alertSchema.shape.receivedAt.optional(),
});
export type RaisedAlertInput = z.input<typeof raisedAlertSchema>;
export type RaisedAlert = z.infer<typeof raisedAlertSchema>;

/** What tracking needs to know of an alert already seen. */
export interface KnownAlert {
  status: Alert['status'];
  episodeStartsAt: string;
}

/**
 * Whether a delivery changes anything for an alert already seen: the same status is a repeat (it only counts
 * a delivery), and a firing of an episode already resolved (same startsAt) is stale. The incident workflow
 * tracks alerts by this rule, and the webhook receiver answers such deliveries itself by the same rule.
 */
export function isRepeat(known: KnownAlert, a: Pick<Alert, 'status' | 'startsAt'>): boolean {
  return known.status === a.status || (a.status === 'firing' && a.startsAt === known.episodeStartsAt);
}

/** What accepting alerts answers: the incidents they joined or opened, and how many alerts were recorded. */
export interface AlertsAccepted {
  incidents: string[];
  accepted: number;
}

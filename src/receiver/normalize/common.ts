import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { RunbookConfig } from '../../config/schema';
import { alertSchema, type Alert } from '../../workflows/common/alerts';
import { describeIssues } from '../../workflows/common/failures';

export interface NormalizeContext {
  config: RunbookConfig;
  now: Date;
}

/** Alerts to record, or why a well-formed delivery holds none (e.g. a Vercel `deployment.created`). */
export type Normalized = { ok: true; alerts: Alert[]; ignored?: string } | { ok: false; problems: string[] };

export function invalid(issues: readonly z.core.$ZodIssue[], prefix: (string | number)[] = []): Normalized {
  return { ok: false, problems: describeIssues(issues.map((i) => ({ ...i, path: [...prefix, ...i.path] }))) };
}

/** Parses with `schema`, or the 400 answer naming every bad field. */
export function parseBody<S extends z.ZodType>(
  schema: S,
  body: unknown,
): { ok: true; data: z.infer<S> } | { ok: false; result: Normalized } {
  const r = schema.safeParse(body);
  return r.success ? { ok: true, data: r.data } : { ok: false, result: invalid(r.error.issues) };
}

const LIMITS = { summary: 1024, description: 8192, service: 200, url: 2048, label: 1024 };

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Sources send longer texts than an alert keeps; clipping is better than refusing an alert that fires.
 * The result is checked against the shared schema so nothing malformed reaches a workflow.
 */
export function finishAlert(alert: Omit<Alert, 'labels'> & { labels: Record<string, string> }): Alert {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(alert.labels)) labels[k] = clip(v, LIMITS.label);
  return alertSchema.parse({
    ...alert,
    summary: clip(alert.summary.trim() || alert.dedupKey, LIMITS.summary),
    ...(alert.description !== undefined ? { description: clip(alert.description, LIMITS.description) } : {}),
    ...(alert.service !== undefined ? { service: clip(alert.service, LIMITS.service) } : {}),
    ...(alert.url !== undefined && alert.url.length <= LIMITS.url ? { url: alert.url } : { url: undefined }),
    labels,
  });
}

/** `<prefix>:<raw>`, hashed when it would exceed the 255 characters a dedup key may have. */
export function boundedKey(prefix: string, raw: string): string {
  const key = `${prefix}:${raw}`;
  if (key.length <= 255) return key;
  const digest = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  return `${prefix}:${raw.slice(0, 200)}#${digest}`;
}

/** A stable fingerprint from a label set when a source sends none. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join('\u0000');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** ISO time, or undefined for Alertmanager's "zero" time (0001-01-01…) and unparseable values. */
export function isoTime(value: string | number | undefined | null): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1970) return undefined;
  return d.toISOString();
}

/** Service named by the usual labels, if any. */
export function serviceFromLabels(...sets: (Record<string, string> | undefined)[]): string | undefined {
  for (const labels of sets) {
    const v = labels?.service ?? labels?.app ?? labels?.job;
    if (v) return v;
  }
  return undefined;
}

export function boolLabel(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  return ['true', 'yes', '1'].includes(value.toLowerCase());
}

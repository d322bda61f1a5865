import { z } from 'zod';
import { finishAlert, isoTime, parseBody, type NormalizeContext, type Normalized } from './common';

const id = z.union([z.string().min(1), z.number().int()]).transform(String);

/** Sentry integration platform, resource `event_alert`: an issue alert rule fired for an event. */
export const sentryEventAlertPayload = z.object({
  action: z.string().min(1),
  data: z.object({
    event: z.object({
      event_id: z.string().min(1),
      issue_id: id,
      title: z.string().min(1),
      level: z.string().optional(),
      culprit: z.string().nullable().optional(),
      issue_url: z.string().optional(),
      web_url: z.string().optional(),
      url: z.string().optional(),
      project: id.optional(),
      environment: z.string().nullable().optional(),
      release: z.string().nullable().optional(),
      datetime: z.string().optional(),
      /** `[["environment", "production"], …]` */
      tags: z.array(z.tuple([z.string(), z.string().nullable()])).optional(),
    }),
    triggered_rule: z.string().optional(),
    issue_alert: z.object({ title: z.string(), settings: z.array(z.unknown()).optional() }).optional(),
  }),
  installation: z.object({ uuid: z.string().min(1) }),
});

/** Sentry resource `issue`: only `resolved` matters here, it resolves the issue's alert. */
export const sentryIssuePayload = z.object({
  action: z.string().min(1),
  data: z.object({
    issue: z.object({ id, title: z.string().optional(), web_url: z.string().optional(), permalink: z.string().nullable().optional() }),
  }),
  installation: z.object({ uuid: z.string().min(1) }),
});

export const SENTRY_RESOURCES = ['event_alert', 'issue'] as const;

/** Sentry's event levels in the words `incidents.severityFromLabels` maps (fatal is the worst). */
const LEVEL_TO_SEVERITY: Record<string, string> = { fatal: 'critical', error: 'error', warning: 'warning', info: 'info', debug: 'info' };

export const sentryDedupKey = (issueId: string) => `sentry:issue:${issueId}`;

export function normalizeSentry(resource: string | undefined, body: unknown, ctx: NormalizeContext): Normalized {
  const receivedAt = ctx.now.toISOString();
  if (resource === 'issue') {
    const parsed = parseBody(sentryIssuePayload, body);
    if (!parsed.ok) return parsed.result;
    const { action, data } = parsed.data;
    if (action !== 'resolved') return { ok: true, alerts: [], ignored: `issue action "${action}" is not an alert` };
    return issueAlert(data.issue.id, {
      status: 'resolved',
      summary: data.issue.title ?? `Sentry issue ${data.issue.id}`,
      labels: { issue_id: data.issue.id },
      url: data.issue.web_url ?? data.issue.permalink ?? undefined,
      startsAt: receivedAt,
      endsAt: receivedAt,
      receivedAt,
    });
  }
  if (resource !== 'event_alert') return { ok: true, alerts: [], ignored: `resource "${resource ?? '(none)'}" is not an alert` };

  const parsed = parseBody(sentryEventAlertPayload, body);
  if (!parsed.ok) return parsed.result;
  const { action, data } = parsed.data;
  if (action !== 'triggered') return { ok: true, alerts: [], ignored: `event_alert action "${action}" is not an alert` };
  const ev = data.event;
  const tags = Object.fromEntries((ev.tags ?? []).filter(([, v]) => v !== null).map(([k, v]) => [`tag_${k}`, v as string]));
  const level = ev.level ?? 'error';
  const labels: Record<string, string> = {
    ...tags,
    alertname: data.triggered_rule ?? data.issue_alert?.title ?? 'Sentry issue alert',
    severity: LEVEL_TO_SEVERITY[level] ?? level,
    issue_id: ev.issue_id,
    event_id: ev.event_id,
    ...(ev.project !== undefined ? { project: ev.project } : {}),
    ...(ev.environment ? { environment: ev.environment } : {}),
    ...(ev.release ? { release: ev.release } : {}),
  };
  return issueAlert(ev.issue_id, {
    status: 'firing',
    service: tags.tag_service,
    summary: ev.title,
    description: ev.culprit ?? undefined,
    labels,
    url: ev.web_url ?? ev.issue_url ?? ev.url,
    startsAt: isoTime(ev.datetime) ?? receivedAt,
    receivedAt,
  });
}

/** One alert per issue: every event of the issue is the same alert firing again, and resolving the issue resolves it. */
function issueAlert(issueId: string, alert: Omit<Parameters<typeof finishAlert>[0], 'source' | 'dedupKey' | 'fingerprint'>): Normalized {
  const key = sentryDedupKey(issueId);
  return { ok: true, alerts: [finishAlert({ source: 'sentry', dedupKey: key, fingerprint: key, ...alert })] };
}

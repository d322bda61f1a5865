import { z } from 'zod';
import { vercelCreatedAtProblem } from '../deliveries';
import { finishAlert, invalid, parseBody, type NormalizeContext, type Normalized } from './common';

/** Every Vercel webhook: delivery id, event type, and a type-specific payload. */
export const vercelEnvelope = z.object({
  id: z.string().min(1).max(255),
  type: z.string().min(1),
  createdAt: z.number(),
  region: z.string().nullable().optional(),
  payload: z.record(z.string(), z.unknown()),
});

/** The payload of `deployment.*` events. */
export const vercelDeploymentPayload = z.object({
  team: z.object({ id: z.string() }).nullable().optional(),
  user: z.object({ id: z.string() }).optional(),
  deployment: z.object({
    id: z.string().min(1),
    url: z.string(),
    name: z.string().min(1),
    meta: z.record(z.string(), z.unknown()).optional(),
  }),
  links: z.object({ deployment: z.string(), project: z.string() }).partial().optional(),
  /** production, staging (a custom environment), or null for previews. */
  target: z.string().nullable().optional(),
  project: z.object({ id: z.string().min(1) }),
});

/**
 * A failed deployment fires; a later successful or promoted deployment of the same project and target
 * resolves it. Created, canceled and rollback are steps a person or this service took, not alerts.
 */
const FIRES = new Set(['deployment.error']);
const RESOLVES = new Set(['deployment.succeeded', 'deployment.promoted']);

export const vercelDedupKey = (projectId: string, type: string) => `vercel:${projectId}:${type}`;

export function normalizeVercel(body: unknown, ctx: NormalizeContext): Normalized & { deliveryId?: string } {
  const env = parseBody(vercelEnvelope, body);
  if (!env.ok) return env.result;
  const { id: deliveryId, type } = env.data;
  const hooks = ctx.config.webhooks;
  const stale = vercelCreatedAtProblem(env.data.createdAt, ctx.now.getTime(), hooks.vercelReplayWindow, hooks.timestampTolerance);
  if (stale) return { ok: false, problems: [`createdAt: ${stale}`] };
  if (!FIRES.has(type) && !RESOLVES.has(type)) return { ok: true, alerts: [], ignored: `event type "${type}" is not an alert`, deliveryId };

  const p = vercelDeploymentPayload.safeParse(env.data.payload);
  if (!p.success) return invalid(p.error.issues, ['payload']);
  const { deployment, project, target, links, team } = p.data;
  const environment = target ?? 'preview';
  const receivedAt = ctx.now.toISOString();
  const at = new Date(env.data.createdAt);
  const firing = FIRES.has(type);
  const alert = finishAlert({
    source: 'vercel',
    // Keyed on the failure type either way, so a success resolves the failure's incident.
    dedupKey: vercelDedupKey(project.id, 'deployment.error'),
    // One alert per project and environment: the next deployment there settles it.
    fingerprint: `vercel:${project.id}:${environment}`,
    status: firing ? 'firing' : 'resolved',
    service: deployment.name,
    summary: firing
      ? `Vercel ${environment} deployment of ${deployment.name} failed`
      : `Vercel ${environment} deployment of ${deployment.name} ${type.split('.')[1]}`,
    labels: {
      alertname: 'VercelDeploymentFailed',
      // A failed production build leaves the previous deployment serving; it still needs attention.
      severity: environment === 'production' ? 'error' : 'warning',
      project_id: project.id,
      deployment_id: deployment.id,
      deployment_url: deployment.url,
      environment,
      event: type,
      ...(team?.id ? { team_id: team.id } : {}),
    },
    url: links?.deployment,
    customerFacing: false,
    startsAt: Number.isNaN(at.getTime()) ? receivedAt : at.toISOString(),
    ...(firing ? {} : { endsAt: Number.isNaN(at.getTime()) ? receivedAt : at.toISOString() }),
    receivedAt,
  });
  return { ok: true, alerts: [alert], deliveryId };
}

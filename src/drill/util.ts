import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  alertsSignal,
  completePostmortemUpdate,
  incidentStartOptions,
  incidentStateQuery,
  resolveUpdate,
  type IncidentState,
} from '../workflows/incident/contract';
import { incidentWorkflowId, type Alert } from '../workflows/common/alerts';
import type { DrillWorld, ScenarioRun } from './types';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something other than undefined/false, or throws `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${lastError ? ` (last error: ${messageOf(lastError)})` : ''}`,
      );
    await sleep(everyMs);
  }
}

export function messageOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  return e?.cause?.message ? `${e.message ?? ''}: ${e.cause.message}` : (e?.message ?? String(err));
}

export function shortId(): string {
  return Math.random().toString(16).slice(2, 8);
}

/** The incident's state, or undefined while it does not exist or is still opening. */
export async function incidentState(client: Client, id: string): Promise<IncidentState | undefined> {
  try {
    return await client.workflow.getHandle(id).query(incidentStateQuery);
  } catch {
    return undefined;
  }
}

export function waitForIncident(
  world: DrillWorld,
  id: string,
  ok: (s: IncidentState) => boolean,
  what: string,
  timeoutMs: number,
): Promise<IncidentState> {
  return waitFor(
    what,
    async () => {
      const s = await incidentState(world.client, id);
      return s && ok(s) ? s : undefined;
    },
    timeoutMs,
  );
}

/** A generic-format alert (README "Generic JSON format"), as a monitor would send it. */
export interface GenericAlert {
  dedupKey: string;
  status: 'firing' | 'resolved';
  summary: string;
  severity?: 'P0' | 'P1' | 'P2' | 'P3';
  service?: string;
  description?: string;
  labels?: Record<string, string>;
  fingerprint?: string;
  source?: string;
}

export async function postJson(url: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return { status: res.status, body: parsed };
}

/**
 * Sends alerts the way monitoring would: to the webhook receiver's generic route when the drill knows it
 * (and its token), else straight to Temporal by signal-with-start, which is what the receiver does.
 * Returns the incident workflow id.
 */
export async function sendAlert(
  world: DrillWorld,
  alert: GenericAlert,
  taskQueue = world.taskQueue,
): Promise<{ incidentId: string; via: 'receiver' | 'signal' }> {
  const incidentId = incidentWorkflowId(alert.dedupKey);
  if (world.receiver?.token && taskQueue === world.taskQueue) {
    const res = await postJson(`${world.receiver.url}/webhooks/generic`, { source: 'drill', ...alert }, world.receiver.token);
    if (res.status !== 202 && res.status !== 200)
      throw new Error(`the webhook receiver answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
    return { incidentId, via: 'receiver' };
  }
  const now = new Date().toISOString();
  const normalized: Alert = {
    source: alert.source ?? 'drill',
    dedupKey: alert.dedupKey,
    fingerprint: alert.fingerprint ?? alert.dedupKey,
    status: alert.status,
    summary: alert.summary,
    ...(alert.severity ? { severity: alert.severity } : {}),
    ...(alert.service ? { service: alert.service } : {}),
    ...(alert.description ? { description: alert.description } : {}),
    labels: alert.labels ?? {},
    startsAt: now,
    ...(alert.status === 'resolved' ? { endsAt: now } : {}),
    receivedAt: now,
  } as Alert;
  await world.client.workflow.signalWithStart('incident', {
    workflowId: incidentId,
    taskQueue,
    args: [{ dedupKey: alert.dedupKey }],
    signal: alertsSignal,
    signalArgs: [[normalized]],
    ...incidentStartOptions({ dedupKey: alert.dedupKey, title: alert.summary, severity: alert.severity, service: alert.service }),
  });
  return { incidentId, via: 'signal' };
}

/**
 * Ends an incident a drill opened: resolved now (no flap guard), the post-mortem marked done, so the
 * workflow completes and PagerDuty and the status page are resolved. Returns when the run has closed.
 */
export async function closeIncident(world: DrillWorld, id: string, by: string, timeoutMs = 60_000): Promise<IncidentState | undefined> {
  const handle: WorkflowHandle = world.client.workflow.getHandle(id);
  let desc;
  try {
    desc = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (desc.status.name !== 'RUNNING') return undefined;
  const s = await waitForIncident(world, id, (x) => Boolean(x.policy), 'the incident to open', timeoutMs);
  if (s.phase === 'response') {
    try {
      await handle.executeUpdate(resolveUpdate, { args: [{ by, reason: 'game day over' }] });
    } catch (err) {
      // Resolved meanwhile (alerts cleared through the flap guard): fine.
      const now = await incidentState(world.client, id);
      if (now?.phase === 'response') throw err;
    }
  }
  const resolved = await waitForIncident(
    world,
    id,
    (x) => x.phase !== 'response' && Boolean(x.postmortem.draftedAt),
    'the post-mortem draft',
    timeoutMs,
  );
  await handle.executeUpdate(completePostmortemUpdate, { args: [{ by, rootCause: 'Game day (runbook drill): injected fault' }] });
  await waitFor('the incident workflow to close', async () => (await handle.describe()).status.name !== 'RUNNING', timeoutMs);
  return resolved;
}

/** "1.2s", "45s", "3m05s". */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    return `${m}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
  }
  const h = Math.floor(ms / 3_600_000);
  const m = Math.round((ms % 3_600_000) / 60_000);
  return m ? `${h}h${m}m` : `${h}h`;
}

/** The response SLA of a severity in milliseconds (next-business-day counts as 24 h for a drill). */
export function slaMs(world: DrillWorld, severity: string): number {
  const v = world.config.incidents.sla[severity as 'P0'];
  return typeof v === 'number' ? v : 86_400_000;
}

/** Waits until the incident has paged, then measures the run by it, the first page against its severity's response SLA. */
export async function waitForFirstPage(run: ScenarioRun, incidentId: string): Promise<IncidentState> {
  const s = await waitForIncident(run.world, incidentId, (x) => x.escalation.pages.length > 0, 'the incident to page', 60_000);
  run.firstPage.slaMs = slaMs(run.world, s.severity);
  run.firstPage.sla = `${s.severity} response`;
  measureIncident(run, s);
  return s;
}

/** Incident measures of a run: detection, first page, mitigation, resolution, from its state. */
export function measureIncident(run: ScenarioRun, s: IncidentState): void {
  run.detection.ms ??= run.since(s.detectedAt);
  run.firstPage.ms ??= run.since(s.escalation.pages[0]?.at);
  run.mitigation.ms ??= run.since(s.mitigatedAt);
  run.resolution.ms ??= run.since(s.resolvedAt);
}

/**
 * The incident's mitigation playbooks (Incident Response → Mitigation; Common Incidents & Playbooks 1–3):
 * proposed, approved by a person or by config `incidents.autoMitigate`, run, and undone where the runbook undoes them.
 */
import { executeChild, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { DeployActivities } from '../../activities/deploy';
import type { IncidentActivities } from '../../activities/incident';
import { rollbackStartOptions, rollbackWorkflowId, type RollbackInput } from '../deploy/contract';
import { invalidInput, messageOf } from '../common';
import {
  describePlaybook,
  playbook as playbookSchema,
  RUNBOOK_ACTOR,
  type IncidentState,
  type IncidentStatus,
  type Mitigation,
  type Playbook,
  type PlaybookInput,
  type TimelineKind,
} from './contract';
import type { rollback } from '../deploy/rollback';

/**
 * Environment playbooks make their build serve production (and check it does) after it is READY, and note the
 * rollback target production had before the rebuild. Histories recorded before this read currentProduction,
 * stopped at READY and have no serveProductionBuild call.
 */
const SERVE_BUILD_PATCH = 'incident-playbook-serve-build';

/** Mitigations poll and heartbeat (redeploys wait for READY). */
const long = proxyActivities<IncidentActivities & Pick<DeployActivities, 'currentProduction' | 'previousProduction'>>({
  startToCloseTimeout: '20m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 3 },
});

/** What the playbooks need of the running incident. */
export interface PlaybookContext {
  s: IncidentState;
  now(): number;
  event(kind: TimelineKind, text: string, by?: string, data?: Record<string, unknown>): void;
  chat(text: string): Promise<void>;
  statuspage(status: 'investigating' | 'identified' | 'monitoring' | 'resolved', body: string): Promise<void>;
  setStatus(status: IncidentStatus): void;
  poke(): void;
  /** Runs work in the background, counted so continue-as-new waits for it. */
  background(work: () => Promise<void>): Promise<void>;
  /** Counts work awaited in an update handler. */
  adjustBusy(delta: number): void;
}

export function createPlaybooks(ctx: PlaybookContext) {
  const { s, now, event, chat, statuspage } = ctx;
  const iso = () => new Date(now()).toISOString();

  /** Rejects, before it reaches history, a playbook this incident cannot run. */
  function check(p: Playbook): void {
    const service = 'service' in p && p.service ? p.service : s.service;
    const svc = s.policy.services.find((x) => x.name === service);
    if (!svc) throw invalidInput(`playbook.service: no service "${service}" in the configuration`);
    if ((p.kind === 'switch-provider' || p.kind === 'read-only') && svc.platform !== 'vercel') {
      throw invalidInput(`playbook.kind: ${p.kind} sets a Vercel environment variable; ${svc.name} runs on ${svc.platform}`);
    }
    if ((p.kind === 'terminate-query' || p.kind === 'limit-user') && !p.database && !svc.database) {
      throw invalidInput(`playbook.database: service ${svc.name} names no database; pass one`);
    }
  }

  /**
   * The tag a playbook's production build carries, so a retried activity makes no second build. The incident's
   * first run id is part of it: a later incident of the same alert group runs under the same workflow id and
   * mitigation ids, and must get a build of its own. Runs from before the patch keep their old tag, so a build
   * they already made is still found.
   */
  const buildIdentity = (m: Mitigation, what?: string) =>
    [s.incidentId, ...(patched(SERVE_BUILD_PATCH) ? [workflowInfo().firstExecutionRunId] : []), m.id, ...(what ? [what] : [])].join('/');

  function propose(raw: PlaybookInput, reason: string, by: string): Mitigation {
    const playbook = playbookSchema.parse(raw);
    const m: Mitigation = {
      id: `m${s.mitigations.length + 1}`,
      playbook,
      status: 'awaiting-approval',
      reason,
      requestedBy: by,
      requestedAt: iso(),
    };
    s.mitigations.push(m);
    event('mitigation', `Proposed ${m.id}: ${describePlaybook(playbook, s)} — ${reason}`, by, { mitigationId: m.id, playbook });
    if (s.policy.autoMitigate[s.severity]?.includes(playbook.kind)) approve(m, `config incidents.autoMitigate.${s.severity}`);
    else
      void chat(
        `:hammer_and_wrench: ${s.incidentId}: proposed ${m.id} — ${describePlaybook(playbook, s)}. Approve with \`runbook incident mitigate ${s.incidentId} --approve ${m.id}\``,
      );
    return m;
  }

  function approve(m: Mitigation, by: string, comment?: string): void {
    m.status = 'approved';
    m.approvedBy = by;
    m.approvedAt = iso();
    event('mitigation', `Approved ${m.id}: ${describePlaybook(m.playbook, s)}${comment ? ` (${comment})` : ''}`, by, {
      mitigationId: m.id,
    });
    void ctx.background(() => carryOut(m));
  }

  /** Runs an approved playbook; the status page says "identified" meanwhile and "monitoring" once it worked. */
  async function carryOut(m: Mitigation): Promise<void> {
    m.status = 'running';
    if (s.status === 'open' || s.status === 'acknowledged') ctx.setStatus('mitigating');
    await statuspage('identified', 'The issue has been identified and a fix is being implemented.');
    try {
      const { outcome, result } = await run(m);
      m.status = 'succeeded';
      m.outcome = outcome;
      m.result = result;
      s.mitigatedAt ??= iso();
      event('mitigation', `${m.id} succeeded: ${outcome}`, RUNBOOK_ACTOR, { mitigationId: m.id, ...result });
      await chat(`:white_check_mark: ${s.incidentId}: ${describePlaybook(m.playbook, s)} — ${outcome}`);
      await statuspage('monitoring', 'A fix has been implemented and we are monitoring the results.');
    } catch (err) {
      m.status = 'failed';
      m.error = messageOf(err);
      event('mitigation', `${m.id} failed: ${m.error}`, RUNBOOK_ACTOR, { mitigationId: m.id });
      await chat(`:x: ${s.incidentId}: ${describePlaybook(m.playbook, s)} failed — ${m.error}`);
    } finally {
      m.finishedAt = iso();
      ctx.poke();
    }
  }

  async function run(m: Mitigation): Promise<{ outcome: string; result: Record<string, unknown> }> {
    const p = m.playbook;
    const identity = buildIdentity(m);
    switch (p.kind) {
      case 'rollback': {
        // Rolling Back Deployment is the deploy runbook's own workflow; the incident starts it as a child.
        const service = p.service ?? s.service;
        const toDeploymentId = p.toDeploymentId ?? rollbackTargetBeforeRebuilds(service);
        const request: RollbackInput = {
          service,
          ...(toDeploymentId ? { toDeploymentId } : {}),
          reason: `incident ${s.incidentId}: ${m.reason}`.slice(0, 1024),
          requestedBy: m.approvedBy ?? m.requestedBy,
          incidentId: s.incidentId,
        };
        // One rollback workflow per mitigation: an incident may roll back twice.
        const start = {
          ...rollbackStartOptions(request, new Date(now())),
          workflowId: rollbackWorkflowId({ service, incidentId: `${s.incidentId}-${m.id}` }, new Date(now())),
        };
        const r = await executeChild<typeof rollback>('rollback', { ...start, args: [request] });
        return {
          outcome: `rolled back ${service} to ${r.to.id}${r.alreadyCurrent ? ' (it already served production)' : ''}; health ${r.verified ? 'verified' : `NOT verified: ${r.health?.detail ?? 'unknown'}`}`,
          result: { rollbackWorkflowId: start.workflowId, from: r.from?.id ?? null, to: r.to.id, verified: r.verified },
        };
      }
      case 'switch-provider':
        return setEnvAndRedeploy(p.service ?? s.service, 'FORCE_PROVIDER', p.provider ?? s.policy.fallbackProvider, identity);
      case 'read-only':
        return setEnvAndRedeploy(p.service ?? s.service, 'READ_ONLY_MODE', 'true', identity);
      case 'terminate-query': {
        const r = await long.terminateBackend({ database: p.database ?? serviceDatabase(), pid: p.pid });
        return { outcome: `terminated backend ${p.pid} (${r.usename}, running ${r.runningFor}): ${r.query}`, result: r };
      }
      case 'limit-user': {
        const database = p.database ?? serviceDatabase();
        const previous = await long.readUserLimits({ database, userId: p.userId });
        const change =
          p.action === 'block'
            ? { blocked: true, blocked_reason: `incident ${s.incidentId}: ${m.reason}`.slice(0, 500) }
            : { rate_limit: p.rateLimit };
        await long.setUserLimits({ database, userId: p.userId, limits: change });
        return {
          outcome: p.action === 'block' ? `blocked user ${p.userId}` : `rate limit of user ${p.userId} set to ${p.rateLimit}`,
          result: { previous, change },
        };
      }
    }
  }

  /** The runbook's `vercel env add KEY=value` + `vercel --prod`; the previous value is kept for the undo. */
  async function setEnvAndRedeploy(service: string, key: string, value: string, identity: string) {
    const { value: previous } = await long.readProductionEnv({ service, key });
    await long.setProductionEnv({ service, key, value });
    const deployment = await redeploy(service, identity);
    return {
      outcome: `${key}=${value} on ${service}, ${redeployed(deployment)}`,
      result: {
        service,
        key,
        value,
        previous,
        deploymentId: deployment.deploymentId,
        ...(deployment.via ? { served: deployment.via } : {}),
        ...(deployment.rollbackTarget ? { rollbackTarget: deployment.rollbackTarget } : {}),
      },
    };
  }

  /**
   * A playbook's build is a rebuild of what production served, so it must not become the deployment a rollback
   * "goes back" to: once this incident's rebuilds serve production, a rollback without a target goes where it
   * would have gone before the first of them (the deployment before the release that was rebuilt).
   */
  function rollbackTargetBeforeRebuilds(service: string): string | undefined {
    let target: string | undefined;
    for (const m of s.mitigations) {
      if (m.playbook.kind === 'rollback' && m.status === 'succeeded') target = undefined;
      else if (m.result?.service === service && typeof m.result.rollbackTarget === 'string') target ??= m.result.rollbackTarget;
    }
    return target;
  }

  /**
   * `vercel --prod`: a new production build of what production serves now, so it picks up the changed variable;
   * then that build is made to serve production (a project with rolling releases only stages it) and checked.
   */
  async function redeploy(service: string, identity: string): Promise<{ deploymentId: string; via?: string; rollbackTarget?: string }> {
    if (!patched(SERVE_BUILD_PATCH)) {
      const current = await long.currentProduction({ service });
      return long.redeployProduction({ service, identity, ...(current ? { fromDeploymentId: current.id } : {}) });
    }
    const { current, previous } = await long.previousProduction({ service });
    const built = await long.redeployProduction({ service, identity, ...(current ? { fromDeploymentId: current.id } : {}) });
    const served = await long.serveProductionBuild({ service, deploymentId: built.deploymentId });
    return { ...served, ...(previous ? { rollbackTarget: previous.id } : {}) };
  }

  function redeployed(d: { deploymentId: string; via?: string }): string {
    if (!d.via) return `redeployed as ${d.deploymentId}`;
    const how = d.via === 'rolling-release' ? ', its rolling release completed at once' : d.via === 'already-serving' ? '' : ` (${d.via})`;
    return `redeployed as ${d.deploymentId}, now serving production${how}`;
  }

  /** Environment switches go back to their previous value; a user's limits are restored. */
  async function undo(m: Mitigation, by: string): Promise<void> {
    m.status = 'undoing';
    event('mitigation', `Undoing ${m.id}: ${describePlaybook(m.playbook, s)}`, by, { mitigationId: m.id });
    ctx.adjustBusy(1);
    try {
      const r = m.result ?? {};
      if (m.playbook.kind === 'limit-user') {
        await long.setUserLimits({
          database: m.playbook.database ?? serviceDatabase(),
          userId: m.playbook.userId,
          limits: r.previous as Record<string, unknown>,
        });
        m.outcome = `restored the limits of user ${m.playbook.userId}`;
      } else {
        const service = String(r.service);
        const key = String(r.key);
        const previous = (r.previous as string | null | undefined) ?? null;
        await long.setProductionEnv({ service, key, value: previous });
        const deployment = await redeploy(service, buildIdentity(m, 'undo'));
        m.outcome = `${previous === null ? `removed ${key}` : `${key}=${previous} restored`} on ${service}, ${redeployed(deployment)}`;
      }
      m.status = 'undone';
      m.undoneBy = by;
      m.undoneAt = iso();
      event('mitigation', `${m.id} undone: ${m.outcome}`, by, { mitigationId: m.id });
    } catch (err) {
      m.status = 'undo-failed';
      m.error = messageOf(err);
      event('mitigation', `Undo of ${m.id} failed: ${m.error}`, by, { mitigationId: m.id });
    } finally {
      ctx.adjustBusy(-1);
    }
  }

  function serviceDatabase(): string {
    const db = s.policy.services.find((x) => x.name === s.service)?.database;
    if (!db) throw invalidInput(`service ${s.service} names no database`);
    return db;
  }

  return { check, propose, approve, undo };
}

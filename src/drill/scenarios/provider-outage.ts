import { approveMitigationUpdate, undoMitigationUpdate, type IncidentState, type Mitigation } from '../../workflows/incident/contract';
import { healthCheckWorkflowId, type HealthCheckInput, type HealthCheckResult } from '../../workflows/health/contract';
import { incidentWorkflowId } from '../../workflows/common/alerts';
import type { Scenario, ScenarioRun } from '../types';
import { closeIncident, measureIncident, shortId, waitForFirstPage, waitForIncident } from '../util';

async function healthRun(run: ScenarioRun, why: string): Promise<HealthCheckResult> {
  const { world } = run;
  const input: HealthCheckInput = { requestedBy: `${run.opts.actor}: ${why}` };
  return (await world.client.workflow.execute('healthCheck', {
    taskQueue: world.taskQueue,
    workflowId: `${healthCheckWorkflowId(new Date())}-drill-${shortId()}`,
    args: [input],
  })) as HealthCheckResult;
}

/**
 * AI provider outage (first runbook, Troubleshooting → Chat Not Responding; second runbook, Complete System
 * Outage → check dependencies): the provider's status page goes to a major outage. Expected: the health
 * check raises an alert, the incident's diagnosis finds the provider down and proposes switch-provider
 * (run at once where incidents.autoMitigate allows it, else approved here as the on-call would), and once
 * the provider recovers the switch is undone.
 */
export const providerOutage: Scenario = {
  name: 'provider-outage',
  description: "the AI provider's status page goes major → alert → diagnosis → switch-provider (approved) → undone after recovery",
  async run(run) {
    const { world, opts } = run;
    const fallback = world.config.incidents.fallbackProvider;
    const provider = Object.keys(world.config.platforms.providers).find((p) => p !== fallback);
    if (!provider) throw new Error(`needs an AI provider other than the fallback ${fallback} in platforms.providers`);
    const incidentId = incidentWorkflowId(`health:provider:${provider}`);
    run.incidentId = incidentId;

    await world.sandbox.setProvider(provider, 'major', 'Partial System Outage (game day)');
    run.injectedAt = Date.now();
    run.cleanup.push({ what: `${provider} status page back to operational`, run: () => world.sandbox.setProvider(provider, 'none') });
    run.cleanup.push({ what: `close incident ${incidentId}`, run: async () => void (await closeIncident(world, incidentId, opts.actor)) });

    // The 5-minute health check, now rather than at its next tick.
    const first = await healthRun(run, `${provider} outage`);
    run.check(
      first.failing.some((f) => f.key === `health:provider:${provider}`),
      `the health check fails health:provider:${provider}`,
    );
    // The outage also degrades the app's own health answer: those incidents are the drill's too.
    const others = first.transitions.filter((t) => t.to !== 'ok' && t.key !== `health:provider:${provider}`).map((t) => t.key);
    for (const key of others) {
      const other = incidentWorkflowId(key);
      run.cleanup.push({ what: `close incident ${other}`, run: async () => void (await closeIncident(world, other, opts.actor)) });
    }
    if (others.length) run.note(`the health check also raised ${others.join(', ')}`);
    const paged = await waitForFirstPage(run, incidentId);

    const proposed = await waitForIncident(
      world,
      incidentId,
      (s) => s.mitigations.some((m) => m.playbook.kind === 'switch-provider'),
      'the diagnosis to propose switch-provider',
      60_000,
    );
    let m = proposed.mitigations.find((x) => x.playbook.kind === 'switch-provider')!;
    const switchIn = (s: IncidentState | undefined) => s?.mitigations.find((x) => x.id === m.id);
    const handle = world.client.workflow.getHandle(incidentId);
    if (m.status === 'awaiting-approval') {
      m = (await handle.executeUpdate(approveMitigationUpdate, {
        args: [{ mitigationId: m.id, by: opts.actor, comment: 'game day: approved as the on-call' }],
      })) as Mitigation;
      run.note(
        `switch-provider proposed by the diagnosis, approved by ${opts.actor} (incidents.autoMitigate does not list it for ${paged.severity})`,
      );
    } else {
      run.note(`switch-provider proposed by the diagnosis and run at once (incidents.autoMitigate)`);
    }
    const done = await waitForIncident(
      world,
      incidentId,
      (s) => ['succeeded', 'failed'].includes(switchIn(s)?.status ?? ''),
      'switch-provider to finish',
      120_000,
    );
    const after = switchIn(done)!;
    run.check(after.status === 'succeeded', `switch-provider succeeded (got ${after.status}${after.error ? `: ${after.error}` : ''})`);
    measureIncident(run, done);
    if (after.outcome) run.note(after.outcome);
    const svc = world.config.services.find((x) => x.name === done.service) ?? world.config.services[0];
    if (after.status === 'succeeded' && svc?.platform === 'vercel') {
      // The switch only takes effect through a new production build carrying FORCE_PROVIDER.
      const project = (await world.sandbox.vercelProjects()).find((x) => x.name === svc.projectId || x.id === svc.projectId);
      const serving = (await world.sandbox.vercelDeployments()).find((x) => x.id === project?.productionDeploymentId);
      run.check(
        Boolean(serving && serving.createdAt >= run.injectedAt!),
        `production serves a build made for the switch (serves ${project?.productionDeploymentId ?? 'nothing'}, built ${serving ? new Date(serving.createdAt).toISOString() : '?'}, before the outage began)`,
      );
    }

    // Recovery: the provider is back; the next health check resolves the alert, and the switch is undone.
    await world.sandbox.setProvider(provider, 'none');
    const second = await healthRun(run, `${provider} recovered`);
    run.check(
      !second.failing.some((f) => f.key === `health:provider:${provider}`),
      `the health check passes health:provider:${provider} again`,
    );
    if (after.status === 'succeeded') {
      const undone = (await handle.executeUpdate(undoMitigationUpdate, { args: [{ mitigationId: m.id, by: opts.actor }] })) as Mitigation;
      const final = await waitForIncident(
        world,
        incidentId,
        (s) => ['undone', 'undo-failed'].includes(switchIn(s)?.status ?? ''),
        'the undo',
        120_000,
      ).catch(() => undefined);
      const status = switchIn(final)?.status ?? undone.status;
      run.check(status === 'undone', `switch-provider undone after recovery (got ${status})`);
      run.note(`undone after recovery: ${status}`);
    }
    const closed = await closeIncident(world, incidentId, opts.actor);
    if (closed) measureIncident(run, closed);
  },
};

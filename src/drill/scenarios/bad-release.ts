import { randomBytes } from 'node:crypto';
import { deployStartOptions, type DeployInput, type DeployProgress, type DeployResult } from '../../workflows/deploy/contract';
import type { Scenario } from '../types';
import { closeIncident, formatMs, measureIncident, waitFor, waitForFirstPage } from '../util';

/**
 * Bad release: a deployment with staged promotion (10 → 50 → 100 %) whose new release degrades while it
 * serves 10 % of traffic. Expected: the canary watch sees the breach, rolls production back to the
 * deployment it replaced, and opens an incident that pages.
 */
export const badRelease: Scenario = {
  name: 'bad-release',
  description: 'a staged deploy whose release degrades at 10 % → watch breach → rollback → incident',
  async run(run) {
    const { world, opts } = run;
    const service = world.config.services.find((s) => s.rollingRelease?.stages.length) ?? world.config.services[0];
    if (!service) throw new Error('no service in the configuration');
    const stages = service.rollingRelease?.stages ?? [];
    const firstStage = stages[0] ?? 100;
    const critical = world.config.thresholds.errorRate.critical;
    const sha = randomBytes(20).toString('hex');
    const input: DeployInput = {
      service: service.name,
      ref: 'main',
      sha,
      requestedBy: opts.actor,
      durations: {
        watch: opts.watchMs,
        stageWatch: opts.watchMs,
        sampleInterval: opts.sampleIntervalMs,
        pollInterval: 200,
        activityTimeout: 10_000,
        approvalTimeout: 600_000,
      },
    };
    const o = deployStartOptions(input);
    const handle = await world.client.workflow.start('deploy', { taskQueue: world.taskQueue, ...o, args: [input] });
    run.note(`deploy ${handle.workflowId}${stages.length ? ` (stages ${stages.join('/')} %)` : ''}`);
    run.cleanup.push({
      what: `stop deploy ${handle.workflowId}`,
      run: async () => {
        const d = await handle.describe();
        if (d.status.name === 'RUNNING') await handle.terminate('game day over');
      },
    });

    const progress = () => handle.query<DeployProgress>('progress');
    const p = await waitFor(
      `the deploy to watch its ${firstStage} % stage`,
      async () => {
        const x = await progress();
        if (x.verdict) throw new Error(`the deploy ended before the watch: ${x.verdict} (${x.verdictReason ?? ''})`);
        return x.stage === 'watching' && x.watch?.percent === firstStage && x.production ? x : undefined;
      },
      opts.scenarioTimeoutMs,
      100,
    );
    const before = p.previousProduction?.id;
    const canary = p.production!.id;
    // The release goes bad: 8 % errors against the runbook's 5 % critical threshold.
    const errorRate = Math.max(critical * 1.6, critical + 1);
    await world.sandbox.degrade(canary, { errorRate });
    run.injectedAt = Date.now();
    run.cleanup.push({ what: `restore deployment ${canary}`, run: async () => void (await world.sandbox.restore(canary)) });
    run.note(`canary ${canary} degraded to ${errorRate}% errors at ${firstStage} %`);

    const result = (await waitFor(
      'the deploy verdict',
      async () => {
        const d = await handle.describe();
        return d.status.name === 'RUNNING' ? undefined : ((await handle.result()) as DeployResult);
      },
      opts.scenarioTimeoutMs,
    )) as DeployResult;
    run.check(result.verdict === 'rolled-back', `verdict rolled-back (got ${result.verdict}: ${result.verdictReason ?? ''})`);
    run.check(result.rollback?.status === 'done', `rollback done (got ${result.rollback?.status ?? 'none'})`);
    run.check(
      !result.rollback || !before || result.rollback.to === before,
      `rolled back to the deployment it replaced (${before}; got ${result.rollback?.to})`,
    );
    run.detection.ms = run.since(result.rollback?.decidedAt);
    run.mitigation.ms = run.since(result.finishedAt);
    const prod = (await world.sandbox.vercelProjects()).find((x) => x.name === service.projectId || x.id === service.projectId);
    if (service.platform === 'vercel')
      run.check(
        !before || prod?.productionDeploymentId === before,
        `production serves ${before} again (serves ${prod?.productionDeploymentId})`,
      );

    const incidentId = result.incident?.workflowId;
    run.check(Boolean(incidentId), `an incident opened (${result.incident?.error ?? 'none recorded'})`);
    if (!incidentId) return;
    run.incidentId = incidentId;
    run.cleanup.push({ what: `close incident ${incidentId}`, run: async () => void (await closeIncident(world, incidentId, opts.actor)) });
    const s = await waitForFirstPage(run, incidentId);
    run.note(`rolled back ${formatMs(run.mitigation.ms)} after the fault; incident ${s.severity}, paged ${s.escalation.pages[0]?.name}`);
    const final = await closeIncident(world, incidentId, opts.actor);
    if (final) measureIncident(run, final);
  },
};

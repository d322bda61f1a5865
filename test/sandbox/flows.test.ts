import { startSandbox, type Sandbox } from '../../src/sandbox';
import { bearer, call, until } from './http';

/** The sandbox's asynchronous state machines and sample apps, driven over HTTP like the clients drive them. */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('sandbox state machines', () => {
  let sb: Sandbox;
  const v = (path: string) => `${sb.baseUrls.vercel}${path}`;
  const deploy = async (body: Json) =>
    (await call(v('/v13/deployments'), { method: 'POST', headers: bearer, body: { name: 'shop', ...body } })).json as Json;
  const getDeployment = async (id: string) => (await call(v(`/v13/deployments/${id}`), { headers: bearer })).json as Json;
  const hits = async (url: string, n: number) => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const res = await fetch(url);
      await res.text();
      const id = res.headers.get('x-sandbox-deployment') ?? 'none';
      seen[id] = (seen[id] ?? 0) + 1;
    }
    return seen;
  };

  beforeEach(async () => {
    sb = await startSandbox({ timing: { buildStepMs: 5, aliasStepMs: 5, restoreStepMs: 1500, stageMinuteMs: 40 } });
  });
  afterEach(() => sb.stop());

  it('a build ends in ERROR or CANCELED when meta, the git ref or failNextBuild ask for it', async () => {
    const byMeta = await deploy({ target: 'production', meta: { sandboxOutcome: 'ERROR' } });
    const byRef = await deploy({ gitSource: { type: 'github', org: 'o', repo: 'r', ref: 'sandbox-cancel-me' } });
    sb.apps.failNextBuild('shop');
    const byControl = await deploy({ target: 'production' });
    const fine = await deploy({ target: 'production' });
    await sb.idle();
    expect((await getDeployment(byMeta.id)).readyState).toBe('ERROR');
    expect((await getDeployment(byMeta.id)).errorMessage).toMatch(/exited with 1/);
    expect((await getDeployment(byRef.id)).readyState).toBe('CANCELED');
    expect((await getDeployment(byControl.id)).readyState).toBe('ERROR');
    expect((await getDeployment(fine.id)).readyState).toBe('READY');
    expect((await call(`${sb.apps.deploymentUrl(byMeta.id)}/`)).status).toBe(404);
  });

  it('an automatic rolling release splits production traffic by stage, reflects the canary in metrics, then completes', async () => {
    await call(v('/v9/projects/shop'), { headers: bearer });
    const before = sb.apps.production('shop')!.current!;
    await call(v('/v1/projects/shop/rolling-release/config'), {
      method: 'PATCH',
      headers: bearer,
      body: {
        enabled: true,
        advancementType: 'automatic',
        stages: [{ targetPercentage: 10, duration: 50 }, { targetPercentage: 50, duration: 1 }, { targetPercentage: 100 }],
      },
    });
    const canary = await deploy({ target: 'production' });
    await sb.idle();
    expect((await getDeployment(canary.id)).readySubstate).toBe('STAGED');
    sb.apps.degrade(canary.id, { errorRate: 20, p99Ms: 9000 });
    const started = await call(v('/v1/projects/shop/rolling-release/start'), {
      method: 'POST',
      headers: bearer,
      body: { canaryDeploymentId: canary.id },
    });
    expect((started.json as Json).rollingRelease.activeStage.targetPercentage).toBe(10);

    const split = await hits(sb.apps.productionUrl('shop') + '/', 50);
    expect(split).toEqual({ [before]: 45, [canary.id]: 5 });
    const metrics = (await call(sb.apps.productionUrl('shop') + '/api/metrics')).json as Json;
    expect(metrics.errorRate).toBeCloseTo(0.9 * 0.02 + 0.1 * 20, 3);

    await sb.idle();
    const rr = (await call(v('/v1/projects/shop/rolling-release'), { headers: bearer })).json as Json;
    expect(rr.rollingRelease).toMatchObject({ state: 'COMPLETE', activeStage: { isFinalStage: true } });
    expect(sb.apps.production('shop')).toEqual({ current: canary.id, canary: undefined, canaryPercent: 0 });
    expect((await getDeployment(canary.id)).readySubstate).toBe('PROMOTED');
  });

  it('rolling back to the current deployment aborts a rolling release and takes the canary out of traffic', async () => {
    await call(v('/v9/projects/shop'), { headers: bearer });
    const current = sb.apps.production('shop')!.current!;
    await call(v('/v1/projects/shop/rolling-release/config'), {
      method: 'PATCH',
      headers: bearer,
      body: { enabled: true, advancementType: 'manual-approval', stages: [{ targetPercentage: 25 }, { targetPercentage: 100 }] },
    });
    const canary = await deploy({ target: 'production' });
    await sb.idle();
    await call(v('/v1/projects/shop/rolling-release/start'), { method: 'POST', headers: bearer, body: { canaryDeploymentId: canary.id } });
    const wrongStage = await call(v('/v1/projects/shop/rolling-release/approve-stage'), {
      method: 'POST',
      headers: bearer,
      body: { nextStageIndex: 2, canaryDeploymentId: canary.id },
    });
    expect(wrongStage.status).toBe(400);
    expect(sb.apps.production('shop')).toMatchObject({ canary: canary.id, canaryPercent: 25 });
    expect((await call(v(`/v1/projects/shop/rollback/${current}`), { method: 'POST', headers: bearer })).status).toBe(201);
    await sb.idle();
    const rr = (await call(v('/v1/projects/shop/rolling-release'), { headers: bearer })).json as Json;
    expect(rr.rollingRelease.state).toBe('ABORTED');
    expect(await hits(sb.apps.productionUrl('shop') + '/', 8)).toEqual({ [current]: 8 });
  });

  it('a degraded production recovers when rolled back to the previous deployment', async () => {
    const list = (await call(v('/v7/deployments?projectId=shop&target=production'), { headers: bearer })).json as Json;
    const [live, previous] = list.deployments as Json[];
    expect(sb.apps.production('shop')!.current).toBe(live.uid);
    expect(sb.apps.degrade('production/shop', { status500: true, healthy: false })).toEqual([live.uid]);
    expect((await call(`${sb.apps.productionUrl('shop')}/api/health`)).status).toBe(500);
    await call(v(`/v1/projects/shop/rollback/${previous.uid}`), { method: 'POST', headers: bearer });
    await sb.idle();
    const health = await call(`${sb.apps.productionUrl('shop')}/api/health`);
    expect(health.status).toBe(200);
    expect((health.json as Json).status).toBe('healthy');
  });

  it('health reports degraded when the app or an AI provider is; noise jitters metrics within bounds', async () => {
    await call(v('/v9/projects/shop'), { headers: bearer });
    sb.apps.degrade('production/shop', { healthy: false });
    const degraded = await call(`${sb.apps.productionUrl('shop')}/api/health`);
    expect(degraded.status).toBe(503);
    expect(degraded.json).toMatchObject({
      status: 'degraded',
      checks: { ai_providers: { status: 'degraded', anthropic: 'error', error: 'Connection timeout' } },
    });
    sb.apps.restore('production/shop');
    sb.providers.set('openai', { indicator: 'major' });
    expect((await call(`${sb.apps.productionUrl('shop')}/api/health`)).json).toMatchObject({
      checks: { ai_providers: { openai: 'error' } },
    });
    sb.providers.set('openai', { indicator: 'none' });

    sb.apps.degrade('production/shop', { noise: 0.2 });
    const samples = await Promise.all(
      Array.from({ length: 20 }, async () => (await call(`${sb.apps.productionUrl('shop')}/api/metrics`)).json as Json),
    );
    const p99s = samples.map((m) => m.p99Ms);
    expect(new Set(p99s).size).toBeGreaterThan(1);
    expect(Math.min(...p99s)).toBeGreaterThanOrEqual(480 * 0.8 - 1);
    expect(Math.max(...p99s)).toBeLessThanOrEqual(480 * 1.2 + 1);
    expect(Math.max(...samples.map((m) => m.errorRate))).toBeLessThan(0.1);
  });

  it('Netlify: a production build goes new → building → ready and is published; a branch build is not', async () => {
    const n = (path: string) => `${sb.baseUrls.netlify}${path}`;
    const first = (await call(n('/sites/site-a/deploys?production=true'), { headers: bearer })).json as Json[];
    const build = (await call(n('/sites/site-a/builds'), { method: 'POST', headers: bearer, body: { branch: 'main' } })).json as Json;
    const states = new Set<string>();
    await until(async () => {
      const d = (await call(n(`/deploys/${build.deploy_id}`), { headers: bearer })).json as Json;
      states.add(d.state);
      return d.state === 'ready' ? d : undefined;
    });
    expect(states.has('ready')).toBe(true);
    expect(sb.apps.production('site-a')!.current).toBe(build.deploy_id);
    const branch = sb.netlify.createDeploy('site-a', { branch: 'feature-x' });
    await sb.idle();
    expect(sb.apps.production('site-a')!.current).toBe(build.deploy_id);
    expect(((await call(n(`/deploys/${branch.id}`), { headers: bearer })).json as Json).context).toBe('branch-deploy');
    sb.apps.failNextBuild('site-a');
    const failing = sb.netlify.createDeploy('site-a');
    await sb.idle();
    expect(((await call(n(`/deploys/${failing.id}`), { headers: bearer })).json as Json).state).toBe('error');
    expect(first.length).toBe(2);
  });

  it('Supabase PITR: RESTORING then ACTIVE_HEALTHY, or RESTORE_FAILED when asked; the gateway is down meanwhile', async () => {
    const ref = 'abcdefghijklmnopqrst';
    sb.supabase.seedProject(ref, { functions: ['ai-query'] });
    const s = (path: string) => `${sb.baseUrls.supabase}/v1/projects/${ref}${path}`;
    const target = Math.floor(Date.now() / 1000) - 3600;
    const tooOld = await call(s('/database/backups/restore-pitr'), {
      method: 'POST',
      headers: bearer,
      body: { recovery_time_target_unix: target - 30 * 86_400 },
    });
    expect(tooOld.status).toBe(400);
    expect((tooOld.json as Json).message).toMatch(/recovery_time_target_unix/);

    expect(
      (await call(s('/database/backups/restore-pitr'), { method: 'POST', headers: bearer, body: { recovery_time_target_unix: target } }))
        .status,
    ).toBe(201);
    expect(((await call(s(''), { headers: bearer })).json as Json).status).toBe('RESTORING');
    expect(((await call(s('/health?services=db'), { headers: bearer })).json as Json[])[0].status).toBe('COMING_UP');
    expect(
      (
        await call(`${sb.baseUrls.supabaseProject}/${ref}/functions/v1/ai-query`, {
          method: 'POST',
          headers: { authorization: 'Bearer x' },
        })
      ).status,
    ).toBe(503);
    await sb.idle();
    expect(((await call(s(''), { headers: bearer })).json as Json).status).toBe('ACTIVE_HEALTHY');

    sb.supabase.failNextRestore(ref);
    await call(s('/database/backups/restore-pitr'), { method: 'POST', headers: bearer, body: { recovery_time_target_unix: target } });
    await sb.idle();
    expect(((await call(s(''), { headers: bearer })).json as Json).status).toBe('RESTORE_FAILED');
    expect(sb.supabase.restores(ref).map((r) => r.outcome)).toEqual(['ACTIVE_HEALTHY', 'RESTORE_FAILED']);
  });

  it("PagerDuty keeps each dedup_key's alert state", async () => {
    const send = (body: Json) => call(sb.baseUrls.pagerduty, { method: 'POST', body: { routing_key: 'rk', ...body } });
    await send({ event_action: 'trigger', dedup_key: 'inc-1', payload: { summary: 's', source: 'x', severity: 'error' } });
    await send({ event_action: 'trigger', dedup_key: 'inc-2', payload: { summary: 's', source: 'x', severity: 'info' } });
    await send({ event_action: 'acknowledge', dedup_key: 'inc-1' });
    await send({ event_action: 'resolve', dedup_key: 'inc-2' });
    expect(sb.pagerduty.alerts()).toEqual({ 'inc-1': 'acknowledged', 'inc-2': 'resolved' });
    expect(sb.pagerduty.events('inc-1').map((e) => e.event_action)).toEqual(['trigger', 'acknowledge']);
  });
});

import { FAST, openStage, ROLLBACK_FROM_INCIDENT, rollbackRequestTo, waitForProgress, type Stage } from './stage';

const SHA = '89abcdef0123456789abcdef0123456789abcdef';
/** Preview and production builds, the rolling release configured and started, and its 10 % stage approved. */
const RELEASED_TO_50 = [
  'POST /v13/deployments',
  'POST /v13/deployments',
  'PATCH /v1/projects/crav-javari/rolling-release/config',
  'POST /v1/projects/crav-javari/rolling-release/start',
  'POST /v1/projects/crav-javari/rolling-release/approve-stage',
];

describe('deploy: staged promotion (rolling releases) and the rollback workflow', () => {
  let stage: Stage;
  afterEach(async () => {
    await stage?.close();
  });

  it('advances 10 % → 50 % → 100 % with a watch at each stage, then watches production', async () => {
    stage = await openStage(); // the example project has rolling releases at 10, 50, 100
    const handle = await stage.start({ service: 'javari-web', ref: 'main', sha: SHA, requestedBy: 'roy', durations: FAST });
    const result = await stage.worker.run(() => handle.result());
    expect(result.verdict).toBe('succeeded');
    expect(result.promotion).toEqual({ stages: [10, 50, 100], percent: 100 });
    const canary = result.production!.id;
    expect(stage.sideEffects()).toEqual([...RELEASED_TO_50, 'POST /v1/projects/crav-javari/rolling-release/complete']);
    const config = stage.calls().find((c) => c.method === 'PATCH')!.body;
    expect(config).toEqual({
      enabled: true,
      advancementType: 'manual-approval',
      stages: [{ targetPercentage: 10 }, { targetPercentage: 50 }, { targetPercentage: 100 }],
    });
    expect(stage.sandbox.apps.production('crav-javari')).toMatchObject({ current: canary, canary: undefined });
    // Each stage watched the canary itself; the final watch, production.
    const percents = result.recentSamples.map((s) => s.percent);
    expect(percents).toEqual([10, 10, 50, 50, 100, 100, 100]);
  });

  it('a critical breach at the 50 % stage rolls back to the current deployment (aborting the release) and goes no further', async () => {
    stage = await openStage();
    const before = stage.sandbox.apps.production('crav-javari')!.current!;
    const handle = await stage.start({ service: 'javari-web', ref: 'main', sha: SHA, requestedBy: 'roy', durations: FAST });
    const result = await stage.worker.run(async () => {
      const p = await waitForProgress(handle, (x) => x.stage === 'watching' && x.watch?.percent === 50);
      expect(stage.sandbox.apps.production('crav-javari')).toMatchObject({ current: before, canary: p.production!.id, canaryPercent: 50 });
      stage.sandbox.apps.degrade(p.production!.id, { p99Ms: 14_000 });
      return handle.result();
    });
    expect(result.verdict).toBe('rolled-back');
    expect(result.verdictReason).toMatch(/^critical breach at 50%: p99 14000 ms > 10000 ms/);
    expect(result.promotion?.percent).toBe(50);
    expect(stage.sideEffects()).toEqual([...RELEASED_TO_50, `POST /v1/projects/crav-javari/rollback/${before}`]);
    expect(stage.sandbox.apps.production('crav-javari')).toMatchObject({ current: before, canary: undefined, canaryPercent: 0 });
    const release = await stage.deps.platforms!.vercel.getRollingRelease('crav-javari');
    expect(release.rollingRelease?.state).toBe('ABORTED');
  });

  it('rollback workflow: back to the deployment before the current one, once, then verified; a second request finds nothing to do', async () => {
    stage = await openStage({ service: { rollingRelease: undefined } });
    const list = await stage.deps.platforms!.vercel.listDeployments({ projectId: 'crav-javari', target: 'production' });
    const [current, older] = list.deployments.map((d) => d.uid);
    expect(stage.sandbox.apps.production('crav-javari')!.current).toBe(current);
    await stage.worker.run(async () => {
      const first = await stage.startRollback(ROLLBACK_FROM_INCIDENT);
      expect(first.workflowId).toBe('rollback-javari-web-incident-checkout-1');
      const r1 = await first.result();
      expect(r1).toMatchObject({ from: { id: current }, to: { id: older }, verified: true, alreadyCurrent: false, stage: 'done' });
      const second = await stage.startRollback(rollbackRequestTo(older));
      const r2 = await second.result();
      expect(r2).toMatchObject({ to: { id: older }, alreadyCurrent: true, verified: true });
    });
    expect(stage.sideEffects()).toEqual([`POST /v1/projects/crav-javari/rollback/${older}`]);
    expect(stage.sandbox.apps.production('crav-javari')!.current).toBe(older);
    const { rows } = await stage.ops.pool.query(
      `SELECT kind, incident_id, production_deployment_id, verdict FROM deployments ORDER BY finished_at`,
    );
    expect(rows).toEqual([
      { kind: 'rollback', incident_id: 'incident-checkout-1', production_deployment_id: older, verdict: 'rolled-back' },
      { kind: 'rollback', incident_id: null, production_deployment_id: older, verdict: 'rolled-back' },
    ]);
  });
});

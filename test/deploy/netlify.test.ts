import { FAST, openStage, waitForProgress, type Stage } from './stage';

const SHA = '2222222222222222222222222222222222222222';

describe('deploy on Netlify (the second runbook: the frontend deploys on git push)', () => {
  let stage: Stage;
  afterEach(async () => {
    await stage?.close();
  });

  it('finds the deploy of the pushed commit, records the previously published deploy, and a breach restores it', async () => {
    stage = await openStage({ example: 'netlify-supabase' });
    const site = 'aiqueryhub-site';
    const before = stage.sandbox.apps.production(site)!.current!;
    const handle = await stage.start({
      service: 'aiqueryhub-web',
      ref: 'main',
      sha: SHA,
      requestedBy: 'ops',
      durations: { ...FAST, watch: 10_000 },
    });
    const result = await stage.worker.run(async () => {
      await waitForProgress(handle, (p) => p.stage === 'preview');
      // `git push origin main`: Netlify builds the commit and, publishing automatically, puts it live.
      const pushed = stage.sandbox.netlify.createDeploy(site, { branch: 'main', commitRef: SHA, context: 'production' });
      const p = await waitForProgress(handle, (x) => x.stage === 'watching');
      expect(p.production?.id).toBe(pushed.id);
      expect(p.previousProduction?.id).toBe(before);
      expect(p.gates.find((g) => g.name === 'critical-env')).toMatchObject({ status: 'skipped' });
      stage.sandbox.apps.degrade(pushed.id, { status500: true, errorRate: 40 });
      return handle.result();
    });
    expect(result.verdict).toBe('rolled-back');
    expect(result.rollback).toMatchObject({ to: before, status: 'done', verified: true });
    expect(stage.sandbox.apps.production(site)!.current).toBe(before);
    // Already live on its own, so no publish was asked for it; one restore of the previous deploy.
    expect(stage.sideEffects('netlify')).toEqual([`POST /sites/${site}/deploys/${before}/restore`]);
  });
});

import { WorkflowFailedError } from '@temporalio/client';
import type { DeployResult } from '../../src/workflows/deploy/contract';
import { FAST, useStages, waitForProgress, type Stage } from './stage';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const plain = { rollingRelease: undefined };

describe("deploy: the runbook's standard deployment against the sandbox and a real Temporal server", () => {
  const stages = useStages();
  let stage: Stage;

  it('happy path: gates, preview, smoke tests, production build, one promotion, verification, a clean watch, recorded and announced', async () => {
    stage = await stages.forTest({ service: plain });
    const before = stage.sandbox.apps.production('crav-javari')!.current!;
    const handle = await stage.start({ service: 'javari-web', ref: 'main', sha: SHA, requestedBy: 'roy', durations: FAST });
    const result: DeployResult = await stage.worker.run(() => handle.result());

    expect(result.verdict).toBe('succeeded');
    expect(result.gates.map((g) => [g.name, g.status])).toEqual([
      ['critical-env', 'pass'],
      ['ci', 'skipped'],
      ['migrations', 'skipped'],
      ['approval', 'skipped'],
    ]);
    expect(result.previousProduction?.id).toBe(before);
    expect(result.watch).toMatchObject({ percent: 100, samplesTaken: 3, samplesPlanned: 3, warnings: 0 });
    expect(stage.sandbox.apps.production('crav-javari')!.current).toBe(result.production!.id);

    // The ordered side effects on Vercel: preview, production build, one promote. Nothing else.
    const effects = stage.sideEffects();
    expect(effects).toEqual([
      'POST /v13/deployments',
      'POST /v13/deployments',
      `POST /v10/projects/crav-javari/promote/${result.production!.id}`,
    ]);
    const [preview, production] = stage.calls().filter((c) => c.method === 'POST' && c.path === '/v13/deployments');
    expect(preview.body).not.toHaveProperty('target');
    expect(production.body).toMatchObject({
      target: 'production',
      gitSource: { ref: 'main', sha: SHA },
      meta: { runbookId: expect.stringContaining(handle.workflowId) },
    });
    // The previous production deployment was read before the promote was asked for.
    const calls = stage.calls();
    const promoteSeq = calls.find((c) => c.path.includes('/promote/'))!.seq;
    expect(
      calls.some((c) => c.method === 'GET' && c.path === '/v7/deployments' && c.seq < promoteSeq && c.query.target === 'production'),
    ).toBe(true);
    // The preview URL was smoke tested (health + critical paths) before production was built.
    const appCalls = stage.calls('app').map((c) => c.path);
    expect(appCalls).toEqual(expect.arrayContaining([`/${result.preview!.id}/api/health`, `/${result.preview!.id}/`]));

    const { rows } = await stage.ops.pool.query(
      'SELECT kind, service, sha, requested_by, verdict, production_deployment_id, previous_deployment_id, gates FROM deployments',
    );
    expect(rows).toEqual([
      expect.objectContaining({
        kind: 'deploy',
        service: 'javari-web',
        sha: SHA,
        requested_by: 'roy',
        verdict: 'succeeded',
        production_deployment_id: result.production!.id,
        previous_deployment_id: before,
      }),
    ]);
    expect(rows[0].gates).toHaveLength(4);
    const chat = stage.calls('slack').map((c) => (c.body as { text: string }).text);
    expect(chat).toEqual([expect.stringMatching(/^✅ javari-web: main@0123456 is live/)]);
  });

  it("a preview build ERROR fails the deployment with the platform's message and promotes nothing", async () => {
    stage = await stages.forTest({ service: plain });
    stage.sandbox.apps.failNextBuild('crav-javari', 'ERROR');
    const handle = await stage.start({ service: 'javari-web', ref: 'main', sha: SHA, requestedBy: 'roy', durations: FAST });
    const run = stage.worker.run(() => handle.result());
    await expect(run).rejects.toThrow(WorkflowFailedError);
    await expect(run).rejects.toMatchObject({
      cause: {
        type: 'DeployFailed',
        message: expect.stringContaining('preview build ERROR: BUILD_UTILS_SPAWN_1: Command "npm run build" exited with 1'),
      },
    });
    expect(stage.sideEffects()).toEqual(['POST /v13/deployments']);
    const { rows } = await stage.ops.pool.query('SELECT verdict, verdict_reason FROM deployments');
    expect(rows).toEqual([{ verdict: 'failed', verdict_reason: expect.stringContaining('preview build ERROR') }]);
  });

  it('a failing smoke test stops before any production deployment', async () => {
    stage = await stages.forTest({
      service: {
        ...plain,
        criticalPaths: [
          { path: '/', expectStatus: 200 },
          { path: '/api/health', expectStatus: 200, expectBody: 'no-such-text' },
        ],
      },
    });
    const handle = await stage.start({ service: 'javari-web', ref: 'main', sha: SHA, requestedBy: 'roy', durations: FAST });
    const progress = await stage.worker.run(async () => {
      await expect(handle.result()).rejects.toMatchObject({
        cause: { message: expect.stringContaining('preview smoke tests failed: /api/health body does not contain "no-such-text"') },
      });
      return handle.query<DeployResult>('progress');
    });
    expect(stage.sideEffects()).toEqual(['POST /v13/deployments']);
    expect(progress.preview?.smoke?.checks.map((c) => c.ok)).toEqual([true, true, false]);
  });

  it('hotfix: skips the preview and its smoke tests, never production verification or the watch', async () => {
    stage = await stages.forTest({ service: plain });
    const handle = await stage.start({
      service: 'javari-web',
      ref: 'hotfix/login',
      sha: SHA,
      requestedBy: 'roy',
      hotfix: { reason: 'login broken for all users' },
      durations: FAST,
    });
    const result = await stage.worker.run(() => handle.result());
    expect(result.verdict).toBe('succeeded');
    expect(result.preview).toBeUndefined();
    expect(result.watch?.samplesTaken).toBe(3);
    expect(stage.sideEffects()).toEqual(['POST /v13/deployments', `POST /v10/projects/crav-javari/promote/${result.production!.id}`]);
    expect((stage.calls()[stage.calls().findIndex((c) => c.method === 'POST')].body as { target?: string }).target).toBe('production');
    const production = stage.calls('app').filter((c) => c.path.startsWith('/production/crav-javari/api/health'));
    expect(production.length).toBeGreaterThanOrEqual(4); // verification + 3 watch samples
    const { rows } = await stage.ops.pool.query('SELECT hotfix_reason FROM deployments');
    expect(rows).toEqual([{ hotfix_reason: 'login broken for all users' }]);
  });

  it('a hotfix without a reason is refused before anything starts, naming the field', async () => {
    stage = await stages.forTest({ service: plain });
    const handle = await stage.start({ service: 'javari-web', ref: 'main', requestedBy: 'roy', hotfix: { reason: '' }, durations: FAST });
    await expect(stage.worker.run(() => handle.result())).rejects.toMatchObject({
      cause: { type: 'InvalidInput', message: expect.stringContaining('hotfix.reason') },
    });
    expect(stage.sideEffects()).toEqual([]);
  });

  it('a critical breach at minute 17 of the 30-minute watch rolls back to the recorded previous deployment and opens an incident', async () => {
    // The runbook's own figures (30 min, a sample every 30 s) on the time-skipping server; the app
    // degrades just before the sample taken at minute 17.
    let samples = 0;
    stage = await stages.forTest({
      service: plain,
      withAlerts: true,
      timeSkipping: true,
      activities: (real) => ({
        async sampleHealth(input) {
          if (++samples === 34) stage.sandbox.apps.degrade('production/crav-javari', { errorRate: 12 });
          return real.sampleHealth(input);
        },
      }),
    });
    const before = stage.sandbox.apps.production('crav-javari')!.current!;
    const handle = await stage.start({ service: 'javari-web', ref: 'main', sha: SHA, requestedBy: 'roy', durations: { pollInterval: 50 } });
    const result = await stage.worker.run(() => handle.result());
    expect(result.verdict).toBe('rolled-back');
    expect(result.verdictReason).toMatch(/critical breach during the watch: error rate 12% > 5%/);
    expect(result.watch).toMatchObject({ samplesPlanned: 60, samplesTaken: 34 });
    const breachAt = Date.parse(result.recentSamples.at(-1)!.at) - Date.parse(result.watch!.startedAt);
    expect(breachAt).toBeGreaterThanOrEqual(17 * 60_000);
    expect(breachAt).toBeLessThan(17 * 60_000 + 30_000);
    expect(result.rollback).toMatchObject({ to: before, from: result.production!.id, status: 'done', verified: true });
    expect(stage.sandbox.apps.production('crav-javari')!.current).toBe(before);
    expect(stage.sideEffects()).toEqual([
      'POST /v13/deployments',
      'POST /v13/deployments',
      `POST /v10/projects/crav-javari/promote/${result.production!.id}`,
      `POST /v1/projects/crav-javari/rollback/${before}`,
    ]);
    expect(result.incident?.workflowId).toMatch(/^incident-deploy-javari-web/);
    const incident = await stage.worker.client.workflow.getHandle(result.incident!.workflowId!).describe();
    expect(incident.type).toBe('incident');
  });

  it('a warning-only breach notifies once and carries on: no rollback', async () => {
    stage = await stages.forTest({ service: plain });
    const handle = await stage.start({
      service: 'javari-web',
      ref: 'main',
      sha: SHA,
      requestedBy: 'roy',
      durations: { ...FAST, watch: 5_000 },
    });
    const result = await stage.worker.run(async () => {
      const p = await waitForProgress(handle, (x) => x.stage === 'watching' && (x.watch?.samplesTaken ?? 0) >= 1);
      stage.sandbox.apps.degrade(p.production!.id, { errorRate: 2.5, p99Ms: 6_000 });
      return handle.result();
    });
    expect(result.verdict).toBe('succeeded');
    expect(result.watch!.warnings).toBeGreaterThanOrEqual(3);
    expect(result.rollback).toBeUndefined();
    expect(stage.sideEffects().filter((e) => e.includes('/rollback/'))).toEqual([]);
    const chat = stage.calls('slack').map((c) => (c.body as { text: string }).text);
    expect(chat.filter((t) => t.startsWith('⚠️'))).toEqual([expect.stringContaining('error rate 2.5% > 1%; p99 6000 ms > 5000 ms')]);
  });

  it('abort during the watch rolls back; endWatch ends a watch early with the reason', async () => {
    stage = await stages.forTest({ service: plain });
    const before = stage.sandbox.apps.production('crav-javari')!.current!;
    const aborted = await stage.start({
      service: 'javari-web',
      ref: 'main',
      sha: SHA,
      requestedBy: 'roy',
      durations: { ...FAST, watch: 60_000 },
    });
    await stage.worker.run(async () => {
      await waitForProgress(aborted, (x) => x.stage === 'watching');
      // A bad abort is refused by the validator, naming the field.
      await expect(aborted.executeUpdate('abort', { args: [{ by: 'roy', reason: '' }] })).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/reason: must give a reason/) },
      });
      const answer = await aborted.executeUpdate('abort', { args: [{ by: 'roy', reason: 'customers report slowness' }] });
      expect(answer).toMatchObject({ outcome: `production will be rolled back to ${before}` });
      const r1 = await aborted.result();
      expect(r1.verdict).toBe('rolled-back');
      expect(r1.verdictReason).toBe('aborted by roy: customers report slowness');
      expect(stage.sandbox.apps.production('crav-javari')!.current).toBe(before);

      const ended = await stage.start({
        service: 'javari-web',
        ref: 'release-2',
        requestedBy: 'ana',
        durations: { ...FAST, watch: 60_000 },
      });
      const p = await waitForProgress(ended, (x) => x.stage === 'watching' && (x.watch?.samplesTaken ?? 0) >= 2);
      expect(p.watch!.timeLeftMs).toBeGreaterThan(50_000);
      await ended.executeUpdate('endWatch', { args: [{ by: 'ana', reason: 'metrics look fine, freeing the channel' }] });
      const r2 = await ended.result();
      expect(r2.verdict).toBe('succeeded');
      expect(r2.verdictReason).toMatch(/watch ended early after \d+ sample\(s\) by ana: metrics look fine/);
      expect(r2.watch?.endedEarly).toEqual({ by: 'ana', reason: 'metrics look fine, freeing the channel' });
    });
    expect(stage.sideEffects().filter((e) => e.includes('/rollback/'))).toEqual([`POST /v1/projects/crav-javari/rollback/${before}`]);
  });
});

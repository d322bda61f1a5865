import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { trackingRows } from '../../src/activities/deploy/migrations/runner';
import type { DeployResult } from '../../src/workflows/deploy/contract';
import { scratchDatabase, type ScratchDatabase } from '../harness';
import { FAST, useStages, waitForProgress, type Stage } from './stage';

const SHA = 'fedcba9876543210fedcba9876543210fedcba98';
const plain = { rollingRelease: undefined };

function migrationsFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-migrations-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** GitHub's commit status and check-runs endpoints for one commit, answering what the test sets. */
async function fakeGithub(): Promise<{
  url: string;
  app: FastifyInstance;
  set(state: 'pending' | 'success' | 'failure'): void;
  hits: () => number;
}> {
  let state: 'pending' | 'success' | 'failure' = 'pending';
  let hits = 0;
  const app = Fastify();
  app.get('/repos/:org/:repo/commits/:ref/status', async () => {
    hits += 1;
    return { state, statuses: [{ context: 'ci/test', state, description: `tests ${state}` }] };
  });
  app.get('/repos/:org/:repo/commits/:ref/check-runs', async () => ({ check_runs: [] }));
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url: address, app, set: (s) => (state = s), hits: () => hits };
}

describe('deploy: pre-deployment checklist gates and migrations', () => {
  const stages = useStages();
  let stage: Stage;
  let app: ScratchDatabase | undefined;
  afterEach(async () => {
    await app?.drop();
    app = undefined;
  });

  it('a missing critical environment variable fails the checklist before any deployment is created', async () => {
    stage = await stages.forTest({ service: { ...plain, criticalEnv: ['NEXT_PUBLIC_SUPABASE_URL', 'STRIPE_SECRET_KEY'] } });
    // Someone renamed the variable on the project.
    const vercel = stage.deps.platforms!.vercel;
    const stripe = (await vercel.listEnv('crav-javari')).find((e) => e.key === 'STRIPE_SECRET_KEY')!;
    await vercel.patchEnv('crav-javari', stripe.id, { key: 'STRIPE_KEY' });
    stage.sandbox.clearCalls();
    const handle = await stage.start({ service: 'javari-web', ref: 'main', sha: SHA, requestedBy: 'roy', durations: FAST });
    const progress = await stage.worker.run(async () => {
      await expect(handle.result()).rejects.toMatchObject({
        cause: { type: 'DeployFailed', message: expect.stringContaining('critical-env: missing for production: STRIPE_SECRET_KEY') },
      });
      return handle.query<DeployResult>('progress');
    });
    expect(progress.gates[0]).toMatchObject({ name: 'critical-env', status: 'fail' });
    expect(stage.sideEffects()).toEqual([]);
  });

  it('CI gate: waits while the commit status is pending, passes on success', async () => {
    const gh = await fakeGithub();
    try {
      stage = await stages.forTest({ service: plain, deploy: { ci: { apiUrl: gh.url, requiredContexts: ['ci/test'] } } });
      const handle = await stage.start({ service: 'javari-web', ref: 'main', sha: SHA, requestedBy: 'roy', durations: FAST });
      const result = await stage.worker.run(async () => {
        await waitForProgress(handle, () => gh.hits() >= 2);
        expect(stage.sideEffects()).toEqual([]); // nothing deployed while CI runs
        gh.set('success');
        return handle.result();
      });
      expect(result.gates.find((g) => g.name === 'ci')).toMatchObject({ status: 'pass', reason: '1 check(s) passed: ci/test' });
      expect(result.verdict).toBe('succeeded');
    } finally {
      await gh.app.close();
    }
  });

  it('approval: the deployment waits before production until a person approves; an approval nobody needs is refused', async () => {
    stage = await stages.forTest({ service: plain, services: [{ name: 'other-web', projectId: 'other-web', rollingRelease: undefined }] });
    const handle = await stage.start({
      service: 'javari-web',
      ref: 'main',
      sha: SHA,
      requestedBy: 'roy',
      requireApproval: true,
      durations: FAST,
    });
    const other = await stage.start({
      service: 'other-web',
      ref: 'no-approval',
      requestedBy: 'roy',
      durations: { ...FAST, watch: 60_000 },
    });
    const result = await stage.worker.run(async () => {
      const p = await waitForProgress(handle, (x) => x.stage === 'awaiting-approval');
      expect(p.preview?.smoke?.passed).toBe(true);
      expect(stage.sideEffects().filter((e) => e.includes('promote'))).toEqual([]);
      const answer = await handle.executeUpdate('approve', { args: [{ by: 'ana', comment: 'preview looks right' }] });
      expect(answer).toEqual({ stage: 'awaiting-approval', outcome: 'approved: promotion to production goes ahead' });
      await expect(handle.executeUpdate('approve', { args: [{ by: 'bob' }] })).rejects.toMatchObject({
        cause: { message: 'already approved by ana' },
      });
      await waitForProgress(other, (x) => x.stage !== 'gates');
      await expect(other.executeUpdate('approve', { args: [{ by: 'bob' }] })).rejects.toMatchObject({
        cause: { message: expect.stringContaining('does not wait for approval') },
      });
      await other.executeUpdate('abort', { args: [{ by: 'roy', reason: 'only here to test approvals' }] });
      return handle.result();
    });
    expect(result.gates.find((g) => g.name === 'approval')).toMatchObject({
      status: 'pass',
      reason: 'approved by ana: preview looks right',
    });
    expect(result.verdict).toBe('succeeded');
  });

  it('migrations: pending ones are listed by the gate and applied before promotion, recorded in the target database', async () => {
    app = await scratchDatabase('deploy_app');
    const dir = migrationsFolder({
      '2025-11-08-add-user-preferences.sql':
        "CREATE TABLE javari_user_preferences (id int PRIMARY KEY, preferences jsonb NOT NULL DEFAULT '{}');",
      '2025-11-08-add-user-preferences-rollback.sql': 'DROP TABLE IF EXISTS javari_user_preferences;',
    });
    stage = await stages.forTest({ service: plain, deploy: { migrationsDir: dir }, databases: { app: app.url } });
    const handle = await stage.start({ service: 'javari-web', ref: 'main', sha: SHA, requestedBy: 'roy', durations: FAST });
    const result = await stage.worker.run(() => handle.result());
    expect(result.gates.find((g) => g.name === 'migrations')).toMatchObject({
      status: 'pass',
      reason: '1 pending: 2025-11-08-add-user-preferences',
    });
    expect(result.migrations).toEqual({ pending: ['2025-11-08-add-user-preferences'], applied: ['2025-11-08-add-user-preferences'] });
    const rows = await trackingRows(app.url);
    expect(rows.map((r) => [r.name, r.status, r.deploy_id])).toEqual([['2025-11-08-add-user-preferences', 'applied', handle.workflowId]]);
    const appliedAt = (await app.pool.query(`SELECT extract(epoch FROM applied_at) * 1000 AS t FROM runbook.schema_migrations`)).rows[0].t;
    const promotedAt = stage.calls().find((c) => c.path.includes('/promote/'))!.time;
    expect(Number(appliedAt)).toBeLessThan(promotedAt);
  });

  it('a failing migration runs its rollback file and stops the deployment before production', async () => {
    app = await scratchDatabase('deploy_app');
    const dir = migrationsFolder({
      '2025-11-08-a.sql': 'CREATE TABLE a (id int);',
      '2025-11-08-a-rollback.sql': 'DROP TABLE IF EXISTS a;',
      '2025-11-09-b.sql': 'CREATE TABLE b (id int);\nALTER TABLE b ADD COLUMN user_id int REFERENCES missing_users(id);',
      '2025-11-09-b-rollback.sql': 'DROP TABLE IF EXISTS b; CREATE TABLE rollback_of_b_ran ();',
    });
    stage = await stages.forTest({ service: plain, deploy: { migrationsDir: dir }, databases: { app: app.url } });
    const handle = await stage.start({ service: 'javari-web', ref: 'main', sha: SHA, requestedBy: 'roy', durations: FAST });
    await stage.worker.run(async () => {
      await expect(handle.result()).rejects.toMatchObject({
        cause: {
          message: expect.stringMatching(/^migration 2025-11-09-b failed: relation "missing_users" does not exist; its rollback file ran$/),
        },
      });
    });
    const tables = (
      await app.pool.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
    ).rows.map((r) => r.t);
    expect(tables).toEqual(['a', 'rollback_of_b_ran']);
    expect((await trackingRows(app.url)).map((r) => [r.name, r.status, r.rollback])).toEqual([
      ['2025-11-08-a', 'applied', null],
      ['2025-11-09-b', 'failed', 'ran'],
    ]);
    expect(stage.sideEffects()).toEqual(['POST /v13/deployments']); // the preview only
    const { rows } = await stage.ops.pool.query('SELECT verdict, migrations FROM deployments');
    expect(rows[0]).toMatchObject({
      verdict: 'failed',
      migrations: { applied: ['2025-11-08-a'], failed: { name: '2025-11-09-b', rollback: 'ran' } },
    });
  });
});

import { Client as PgClient } from 'pg';
import { approveMitigationUpdate, completePostmortemUpdate, resolveUpdate, type Finding } from '../../src/workflows/incident/contract';
import { startTestWorker, uniqueName, type TestWorker } from '../harness';
import { alert, incidentConfig, incidentStack, key, raise, recordHistory, waitForState, type IncidentStack } from './helpers';

/**
 * The troubleshooting "Diagnosis" steps run on their own when an incident opens, and what they find drives the
 * playbooks: down after a recent deployment → rollback proposed; AI provider down → provider switch, here allowed
 * to run without approval for P0 by config.
 */
describe('incident diagnosis', () => {
  let stack: IncidentStack;
  let worker: TestWorker;
  const config = incidentConfig({ autoMitigate: { P0: ['switch-provider'] }, longQueryThreshold: 1_000 });

  beforeAll(async () => {
    stack = await incidentStack({ ...config, deploy: { ...config.deploy, pollInterval: 100 } });
    worker = await startTestWorker({ deps: stack.deps });
  });
  afterAll(async () => {
    await worker?.close();
    await stack?.close();
  });

  it('finds the bad deployment, the provider outage and the runaway query, and acts on them', async () => {
    const { sandbox } = stack;
    const vercel = stack.deps.platforms!.vercel;
    // A release ten minutes ago that broke production.
    const before = sandbox.apps.production('crav-javari')!.current!;
    const release = await vercel.createDeployment({ name: 'crav-javari', project: 'crav-javari', target: 'production' });
    await vercel.waitForDeployment(release.id, { intervalMs: 50 });
    await vercel.promote('crav-javari', release.id);
    await vercel.waitForAliasJob('crav-javari', release.id, { intervalMs: 50 });
    expect(sandbox.apps.production('crav-javari')!.current).toBe(release.id);
    sandbox.apps.degrade('production/crav-javari', { healthy: false, errorRate: 35 });
    sandbox.providers.set('openai', { indicator: 'major', description: 'Elevated error rates on the API' });

    // A runaway query on the app database.
    const role = uniqueName('slow');
    await stack.app.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'x'`);
    const url = new URL(stack.app.url);
    url.username = role;
    url.password = 'x';
    const slow = new PgClient({ connectionString: url.toString() });
    slow.on('error', () => undefined);
    await slow.connect();
    const slowPid = (await slow.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const sleeping = slow.query('SELECT pg_sleep(120)').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1_500));

    try {
      await worker.run(async () => {
        const handle = await raise(worker.client, worker.taskQueue, [
          alert({ dedupKey: key('outage'), severity: 'P0', summary: 'javariai.com is down' }),
        ]);
        let s = await waitForState(
          handle,
          (x) => x.evidenceRuns === 1 && x.timeline.filter((e) => e.kind === 'evidence').length === 12,
          'the diagnosis',
        );
        const findings = Object.fromEntries(
          s.timeline.filter((e) => e.kind === 'evidence').map((e) => [e.data!.check as Finding['check'], e]),
        );
        expect(findings['health-endpoint']).toMatchObject({ data: { ok: false } });
        expect(findings['recent-deployments'].data).toMatchObject({
          ok: true,
          recentCount: 1,
          deployments: [expect.objectContaining({ id: release.id })],
        });
        expect(findings['provider-status'].text).toMatch(/openai major \(Elevated error rates on the API\), anthropic none/);
        expect(findings['provider-status'].data).toMatchObject({ ok: false, down: ['openai'] });
        expect(findings['long-running-queries'].data).toMatchObject({
          ok: false,
          queries: [expect.objectContaining({ pid: slowPid, usename: role })],
        });
        expect(findings['db-connections'].data).toMatchObject({ check: 'db-connections' });
        // The symptom looks run too; this app database has none of the runbook's tables, which they say.
        expect(findings['platform-status'].text).toMatch(/supabase none, vercel none/);
        expect(findings['ai-usage'].data).toMatchObject({ ok: null });
        expect(findings['lock-contention'].data).toMatchObject({ ok: true });

        // Playbook 1 proposed for a person; the provider switch allowed by config ran on its own.
        s = await waitForState(handle, (x) => x.mitigations.length === 2 && x.mitigations[1].status === 'succeeded', 'the provider switch');
        const [rollback, switched] = s.mitigations;
        expect(rollback).toMatchObject({ status: 'awaiting-approval', requestedBy: 'runbook', playbook: { kind: 'rollback' } });
        expect(rollback.reason).toMatch(/health endpoint failing and production was deployed recently/);
        expect(switched).toMatchObject({
          requestedBy: 'runbook',
          approvedBy: 'config incidents.autoMitigate.P0',
          result: { key: 'FORCE_PROVIDER', value: 'anthropic' },
        });

        // The switch's build (a rebuild of the bad release) serves production now.
        expect(sandbox.apps.production('crav-javari')!.current).toBe(switched.result!.deploymentId);

        // OpenAI recovers (the sample app's health reports its providers), then the rollback is approved: it goes back
        // past the rebuild and the release it rebuilt, to what served production before the release.
        sandbox.providers.set('openai', { indicator: 'none' });
        const done = await handle.executeUpdate(approveMitigationUpdate, { args: [{ mitigationId: rollback.id, by: 'roy' }] });
        expect(done).toMatchObject({ status: 'succeeded', result: { from: switched.result!.deploymentId, to: before, verified: true } });
        expect(sandbox.apps.production('crav-javari')!.current).toBe(before);
        // Resolved and closed, so the recorded history (escalation matrix, symptom diagnosis) ends as a real one does.
        await handle.executeUpdate(resolveUpdate, { args: [{ by: 'roy' }] });
        await waitForState(handle, (x) => x.status === 'postmortem', 'the post-mortem draft');
        await handle.executeUpdate(completePostmortemUpdate, { args: [{ by: 'roy' }] });
        expect((await handle.result()).status).toBe('closed');
        await recordHistory(handle, 'diagnosis');
      });
    } finally {
      await stack.app.pool.query('SELECT pg_terminate_backend($1)', [slowPid]);
      await sleeping;
      await slow.end().catch(() => undefined);
    }
  });
});

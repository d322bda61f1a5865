import { Client as PgClient } from 'pg';
import {
  approveMitigationUpdate,
  completePostmortemUpdate,
  requestMitigationUpdate,
  resolveUpdate,
  undoMitigationUpdate,
  type Mitigation,
} from '../../src/workflows/incident/contract';
import { uniqueName } from '../harness';
import { useStackWithWorker } from '../harness/fixtures';
import { enableRollingReleases } from '../harness/sandbox-stack';
import { alert, incidentConfig, incidentStack, key, raise, rejection, waitForState } from './helpers';

/** The mitigation playbooks against the sandbox and a real application database, with approval, auto-approval and undo. */
describe('mitigation playbooks', () => {
  // P1 incidents may switch to read-only without asking (config incidents.autoMitigate).
  const config = incidentConfig({ autoMitigate: { P1: ['read-only'] } });
  const t = useStackWithWorker(() => incidentStack({ ...config, deploy: { ...config.deploy, pollInterval: 100 } }), { workerPer: 'test' });

  beforeAll(async () => {
    await t.stack.app.pool.query(`
      CREATE TABLE users (id text PRIMARY KEY, email text, rate_limit integer, blocked boolean NOT NULL DEFAULT false, blocked_reason text);
      INSERT INTO users VALUES ('u-heavy', 'heavy@example.com', 1000, false, NULL), ('u-bot', 'bot@example.com', NULL, false, NULL);
    `);
  });

  const envOf = (key: string) => {
    const project = t.stack.sandbox.state.snapshot().vercel.projects.find((p) => p.name === 'crav-javari')!;
    return project.envs.find((e) => e.key === key && e.target.includes('production'))?.value;
  };
  const productionBuilds = () =>
    t.stack.sandbox.calls({ vendor: 'vercel', method: 'POST', pathPrefix: '/v13/deployments' }).filter((c) => c.status === 200);
  /** What production of the service serves, as the platform records it and as the sandbox routes its traffic. */
  const serving = () => {
    const state = t.stack.sandbox.state.snapshot();
    const project = state.vercel.projects.find((p) => p.name === 'crav-javari')!;
    return {
      platform: project.productionDeploymentId,
      route: state.apps.production[project.id],
      lastRelease: project.rollingReleases.at(-1),
    };
  };
  const servesOnly = (deploymentId: unknown) => ({ platform: deploymentId, route: { current: deploymentId, canaryPercent: 0 } });

  async function approve(handle: Awaited<ReturnType<typeof raise>>, m: Mitigation, by = 'dana'): Promise<Mitigation> {
    return handle.executeUpdate(approveMitigationUpdate, { args: [{ mitigationId: m.id, by }] });
  }

  it('switches the AI provider (FORCE_PROVIDER + one production build), read-only mode runs without approval for P1, and both undo', async () => {
    await t.worker.run(async () => {
      const handle = await raise(t.worker.client, t.worker.taskQueue, [
        alert({ dedupKey: key('provider'), severity: 'P1', summary: 'OpenAI completely down' }),
      ]);
      await waitForState(handle, (s) => s.escalation.pages.length === 1, 'the page');
      expect(envOf('FORCE_PROVIDER')).toBeUndefined();
      const builds = productionBuilds().length;

      const asked = await handle.executeUpdate(requestMitigationUpdate, {
        args: [{ playbook: { kind: 'switch-provider' }, by: 'roy', reason: 'OpenAI outage' }],
      });
      expect(asked.status).toBe('awaiting-approval');
      const switched = await approve(handle, asked);
      expect(switched).toMatchObject({ status: 'succeeded', result: { key: 'FORCE_PROVIDER', value: 'anthropic', previous: null } });
      expect(envOf('FORCE_PROVIDER')).toBe('anthropic');
      expect(productionBuilds()).toHaveLength(builds + 1);
      const build = productionBuilds().at(-1)!.body as { target: string; meta: Record<string, string> };
      expect(build.target).toBe('production');
      // Tagged with the incident's first run id: a later incident under the same workflow id gets a build of its own.
      const { runId } = await handle.describe();
      expect(Object.values(build.meta)).toContain(`${handle.workflowId}/${runId}/${asked.id}`);
      // Production serves it: the service releases in stages (rollingRelease 10/50/100), completed at once here.
      expect(serving()).toMatchObject(servesOnly(switched.result!.deploymentId));
      expect(switched.outcome).toMatch(/now serving production/);

      // P1 and config allows read-only without approval: it runs as soon as it is asked for.
      const ro = await handle.executeUpdate(requestMitigationUpdate, {
        args: [{ playbook: { kind: 'read-only' }, by: 'roy', reason: 'database overloaded' }],
      });
      expect(ro).toMatchObject({ status: 'running', approvedBy: 'config incidents.autoMitigate.P1' });
      const s = await waitForState(handle, (x) => x.mitigations.find((m) => m.id === ro.id)?.status === 'succeeded', 'read-only mode');
      expect(s.status).toBe('mitigating');
      expect(envOf('READ_ONLY_MODE')).toBe('true');
      expect(productionBuilds()).toHaveLength(builds + 2);

      // Undo: the variable goes back to what it was (unset reads as empty), with a build each.
      const undone = await handle.executeUpdate(undoMitigationUpdate, { args: [{ mitigationId: switched.id, by: 'roy' }] });
      expect(undone).toMatchObject({ status: 'undone', undoneBy: 'roy' });
      expect(envOf('FORCE_PROVIDER')).toBe('');
      await handle.executeUpdate(undoMitigationUpdate, { args: [{ mitigationId: ro.id, by: 'roy' }] });
      expect(envOf('READ_ONLY_MODE')).toBe('');
      expect(productionBuilds()).toHaveLength(builds + 4);
      expect(await rejection(handle.executeUpdate(undoMitigationUpdate, { args: [{ mitigationId: ro.id, by: 'roy' }] }))).toMatch(
        /is undone; only a succeeded one/,
      );
      await handle.terminate('test over');
    });
  });

  it('serves the switch build on a project with rolling releases, undoes it the same way, and gives a repeated incident of the alert group a build of its own', async () => {
    // As after any deploy of this service: production builds wait, STAGED, to be released in stages.
    expect(await enableRollingReleases(t.stack.sandbox, 'crav-javari')).toBeLessThan(300);
    const dedupKey = key('outage');
    const switchProvider = async (handle: Awaited<ReturnType<typeof raise>>) => {
      const asked = await handle.executeUpdate(requestMitigationUpdate, {
        args: [{ playbook: { kind: 'switch-provider' }, by: 'roy', reason: 'OpenAI outage' }],
      });
      const done = await approve(handle, asked);
      expect(done).toMatchObject({
        id: 'm1',
        status: 'succeeded',
        result: { key: 'FORCE_PROVIDER', value: 'anthropic', served: 'rolling-release' },
      });
      return done;
    };
    const close = async (handle: Awaited<ReturnType<typeof raise>>) => {
      await handle.executeUpdate(resolveUpdate, { args: [{ by: 'roy', reason: 'provider back' }] });
      await waitForState(handle, (x) => Boolean(x.postmortem.draftedAt), 'the post-mortem draft');
      await handle.executeUpdate(completePostmortemUpdate, { args: [{ by: 'roy', rootCause: 'provider outage' }] });
      await handle.result();
    };

    await t.worker.run(async () => {
      const first = await raise(t.worker.client, t.worker.taskQueue, [
        alert({ dedupKey, severity: 'P2', summary: 'OpenAI completely down' }),
      ]);
      await waitForState(first, (s) => s.chatOpened, 'the initial response');
      const before = serving().platform;
      const builds = productionBuilds().length;

      const switched = await switchProvider(first);
      const build = switched.result!.deploymentId as string;
      expect(build).not.toBe(before);
      expect(productionBuilds()).toHaveLength(builds + 1);
      // Not left STAGED: the build's rolling release completed, and all of production's traffic goes to it.
      expect(serving()).toMatchObject(servesOnly(build));
      expect(serving().lastRelease).toMatchObject({ state: 'COMPLETE', canaryDeployment: { id: build } });

      const undone = await first.executeUpdate(undoMitigationUpdate, { args: [{ mitigationId: switched.id, by: 'roy' }] });
      expect(undone.status).toBe('undone');
      expect(productionBuilds()).toHaveLength(builds + 2);
      const undoBuild = serving().platform;
      expect([before, build]).not.toContain(undoBuild);
      expect(serving()).toMatchObject(servesOnly(undoBuild));
      expect(undone.outcome).toContain(`redeployed as ${undoBuild}, now serving production`);
      await close(first);

      // The same alert fires again later: a new incident, the same workflow id and mitigation id m1.
      const second = await raise(t.worker.client, t.worker.taskQueue, [
        alert({ dedupKey, severity: 'P2', summary: 'OpenAI completely down again' }),
      ]);
      expect(second.workflowId).toBe(first.workflowId);
      await waitForState(second, (s) => s.chatOpened, 'the second incident');
      const again = await switchProvider(second);
      expect(productionBuilds()).toHaveLength(builds + 3);
      expect(again.result!.deploymentId).not.toBe(build);
      expect(serving()).toMatchObject(servesOnly(again.result!.deploymentId));
      await second.terminate('test over');
    });
  });

  it('terminates a runaway query, and refuses a superuser backend, its own connection or a bad pid', async () => {
    const role = uniqueName('runaway');
    await t.stack.app.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'x'; GRANT CONNECT ON DATABASE ${t.stack.app.name} TO ${role}`);
    const url = new URL(t.stack.app.url);
    url.username = role;
    url.password = 'x';
    const runaway = new PgClient({ connectionString: url.toString() });
    await runaway.connect();
    const { rows } = await runaway.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0].pid;
    const running = runaway.query('SELECT pg_sleep(600)').then(
      () => 'finished',
      (err: Error) => err.message,
    );
    runaway.on('error', () => undefined);
    // A superuser session (the test's own pool).
    const admin = await t.stack.app.pool.connect();
    const adminPid = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const adminBusy = admin.query('SELECT pg_sleep(600)').catch((err: Error) => err.message);
    try {
      await t.worker.run(async () => {
        const handle = await raise(t.worker.client, t.worker.taskQueue, [
          alert({ dedupKey: key('db'), severity: 'P1', summary: 'Database connections above 90%' }),
        ]);
        await waitForState(handle, (s) => s.escalation.pages.length === 1, 'the page');

        expect(
          await rejection(
            handle.executeUpdate(requestMitigationUpdate, {
              args: [{ playbook: { kind: 'terminate-query', pid: -4 }, by: 'roy', reason: 'x' }],
            }),
          ),
        ).toMatch(/playbook\.pid: must be a backend pid/);

        const su = await handle.executeUpdate(requestMitigationUpdate, {
          args: [{ playbook: { kind: 'terminate-query', pid: adminPid }, by: 'roy', reason: 'slow' }],
        });
        const refused = await approve(handle, su);
        expect(refused.status).toBe('failed');
        expect(refused.error).toMatch(/superuser/);

        const ghost = await handle.executeUpdate(requestMitigationUpdate, {
          args: [{ playbook: { kind: 'terminate-query', pid: 999_999 }, by: 'roy', reason: 'slow' }],
        });
        expect((await approve(handle, ghost)).error).toMatch(/no backend 999999/);

        const asked = await handle.executeUpdate(requestMitigationUpdate, {
          args: [{ playbook: { kind: 'terminate-query', pid }, by: 'roy', reason: 'pg_sleep hogging a connection' }],
        });
        const done = await approve(handle, asked);
        expect(done.status).toBe('succeeded');
        expect(done.outcome).toContain(`terminated backend ${pid} (${role}`);
        expect(await running).toMatch(/terminat/);
        // The superuser session was never touched.
        const alive = await t.stack.app.pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [adminPid]);
        expect(alive.rows[0].n).toBe(1);
        const s = await waitForState(handle, () => true, 'state');
        expect(
          s.timeline
            .filter((e) => e.kind === 'mitigation')
            .map((e) => e.text)
            .join('\n'),
        ).toMatch(/failed: .*superuser/);
        await handle.terminate('test over');
      });
    } finally {
      await t.stack.app.pool.query('SELECT pg_cancel_backend($1)', [adminPid]);
      await adminBusy;
      admin.release();
      await runaway.end().catch(() => undefined);
    }
  });

  it('rate-limits and blocks users by SQL, and restores them on undo', async () => {
    const user = async (id: string) =>
      (await t.stack.app.pool.query('SELECT rate_limit, blocked, blocked_reason FROM users WHERE id = $1', [id])).rows[0];
    await t.worker.run(async () => {
      const handle = await raise(t.worker.client, t.worker.taskQueue, [
        alert({ dedupKey: key('abuse'), severity: 'P2', summary: 'AI cost above $100 today' }),
      ]);
      await waitForState(handle, (s) => s.chatOpened, 'the initial response');

      const limit = await handle.executeUpdate(requestMitigationUpdate, {
        args: [{ playbook: { kind: 'limit-user', userId: 'u-heavy' }, by: 'roy', reason: '1000+ messages a day' }],
      });
      expect((await approve(handle, limit)).status).toBe('succeeded');
      expect(await user('u-heavy')).toEqual({ rate_limit: 10, blocked: false, blocked_reason: null });

      const block = await handle.executeUpdate(requestMitigationUpdate, {
        args: [
          { playbook: { kind: 'limit-user', userId: 'u-bot', action: 'block' }, by: 'roy', reason: 'Excessive usage - possible abuse' },
        ],
      });
      expect((await approve(handle, block)).status).toBe('succeeded');
      expect(await user('u-bot')).toMatchObject({
        blocked: true,
        blocked_reason: expect.stringContaining('Excessive usage - possible abuse'),
      });

      const missing = await handle.executeUpdate(requestMitigationUpdate, {
        args: [{ playbook: { kind: 'limit-user', userId: 'nobody' }, by: 'roy', reason: 'x' }],
      });
      expect((await approve(handle, missing)).error).toMatch(/no user "nobody"/);

      await handle.executeUpdate(undoMitigationUpdate, { args: [{ mitigationId: limit.id, by: 'roy' }] });
      await handle.executeUpdate(undoMitigationUpdate, { args: [{ mitigationId: block.id, by: 'roy' }] });
      expect(await user('u-heavy')).toEqual({ rate_limit: 1000, blocked: false, blocked_reason: null });
      expect(await user('u-bot')).toEqual({ rate_limit: null, blocked: false, blocked_reason: null });

      // Rejected before anything runs: an unknown playbook, a bad service.
      expect(
        await rejection(
          handle.executeUpdate(requestMitigationUpdate, { args: [{ playbook: { kind: 'reboot' } as never, by: 'roy', reason: 'x' }] }),
        ),
      ).toMatch(/playbook\.kind/);
      expect(
        await rejection(
          handle.executeUpdate(requestMitigationUpdate, {
            args: [{ playbook: { kind: 'read-only', service: 'nope' }, by: 'roy', reason: 'x' }],
          }),
        ),
      ).toMatch(/playbook\.service: no service "nope"/);
      await handle.terminate('test over');
    });
  });
});

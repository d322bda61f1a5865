import path from 'node:path';
import { Client as PgClient } from 'pg';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../src/activities';
import { connectionsCheck } from '../../src/activities/health/checks';
import type { RunbookConfig } from '../../src/config/schema';
import { prepareAppDatabase } from '../../src/stack/app-databases';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';
import { privatePostgres, scratchDatabase, startTestWorker, testConfig, testDeps, type ScratchDatabase, type TestWorker } from '../harness';
import { openSandboxStack, type SandboxStack } from '../harness/sandbox-stack';
import { waitForState } from '../incident/helpers';
import { runHealthCheck } from './helpers';

/**
 * The first runbook's three Custom Alerts (Monitoring & Alerts → Setting Up Alerts) as the example config
 * writes them, run by the health activity against the sample app's schema (examples/javari-ai) with rows
 * on both sides of each threshold; the pool-percentage thresholds (70 % / 90 % of the pool) on real
 * connections; and the connections rule and the pool check seeing one overload as one incident. The app databases live on
 * clusters of their own (privatePostgres): the rules count every backend of the server.
 */
const base = testConfig();
const rules = Object.fromEntries(base.maintenance.sqlAlertRules.map((r) => [r.name, r]));
const USER = '00000000-0000-4000-8000-0000000000a1';

describe('the first runbook SQL alert rules', () => {
  let pg: Awaited<ReturnType<typeof privatePostgres>>;
  let app: ScratchDatabase;
  let ops: ScratchDatabase;
  let config: RunbookConfig;
  let evaluate: () => ReturnType<ReturnType<typeof createActivities>['evaluateSqlRules']>;
  let checkDatabase: ReturnType<typeof createActivities>['checkDatabase'];
  const held: PgClient[] = [];

  /** Client backends on the cluster, as both the rule and the pool check count them. */
  const clientBackends = async () =>
    Number((await app.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend'`)).rows[0].n);
  /** Every backend, as the rule as written counts them (`count(*) FROM pg_stat_activity`). */
  const allBackends = async () => Number((await app.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity`)).rows[0].n);

  /** Opens (or closes) real connections until `count()` reads `target`. */
  async function holdUntil(count: () => Promise<number>, target: number): Promise<void> {
    for (let n = await count(); n !== target; n = await count()) {
      if (n < target) {
        const extra = await Promise.all(
          Array.from({ length: target - n }, async () => {
            const c = new PgClient({ connectionString: app.url, application_name: 'sql-rules-load' });
            c.on('error', () => undefined);
            await c.connect();
            return c;
          }),
        );
        held.push(...extra);
      } else {
        await Promise.all(held.splice(0, n - target).map((c) => c.end()));
      }
    }
  }
  const releaseAll = async () => void (await Promise.all(held.splice(0).map((c) => c.end())));

  const outcome = async (name: string) => (await evaluate()).find((r) => r.check === `rule-${name}`)!;

  beforeAll(async () => {
    // The app database on a cluster of its own: the rules count every backend of its server.
    pg = await privatePostgres('sql-rules');
    [app, ops] = await Promise.all([scratchDatabase('rules_app', { adminUrl: pg.adminUrl }), scratchDatabase('rules_ops', { ops: true })]);
    await prepareAppDatabase(app.url, path.resolve(__dirname, '..', '..', base.deploy.migrationsDir!), { historyDays: 0 });
    config = base;
    const activities = createActivities(testDeps(config, ops, { app: app.url }));
    evaluate = () => activities.evaluateSqlRules();
    checkDatabase = activities.checkDatabase;
    await app.pool.query(`INSERT INTO users (id, email) VALUES ($1, 'rules@example.com')`, [USER]);
  });
  afterAll(async () => {
    await releaseAll();
    await Promise.all([app?.drop(), ops?.drop()]);
    await pg?.stop();
  });

  it('has the three rules of the runbook, with their thresholds', () => {
    expect(Object.keys(rules)).toEqual(['high-connections', 'ai-cost-daily', 'api-error-rate']);
    expect(rules['high-connections'].query).toMatch(/> 180/);
    expect(rules['ai-cost-daily'].query).toMatch(/> 100/);
    expect(rules['api-error-rate'].query).toMatch(/> 1\.0/);
  });

  it('daily cost: $100.00 today stays quiet, $100.01 fires; yesterday does not count', async () => {
    const conv = (await app.pool.query(`INSERT INTO javari_conversations (user_id) VALUES ($1) RETURNING id`, [USER])).rows[0].id;
    const message = (cost: string, at = 'now()') =>
      app.pool.query(
        `INSERT INTO javari_messages (conversation_id, user_id, role, cost, created_at) VALUES ($1, $2, 'assistant', $3, ${at})`,
        [conv, USER, cost],
      );
    // Yesterday's spend, far above the threshold, is not today's.
    await message('500', `current_date - interval '1 hour'`);
    expect((await outcome('ai-cost-daily')).status).toBe('ok');
    await message('60');
    await message('40');
    let r = await outcome('ai-cost-daily');
    expect(r).toMatchObject({ status: 'ok', summary: 'ai-cost-daily: no rows' });
    await message('0.01');
    r = await outcome('ai-cost-daily');
    expect(r).toMatchObject({ status: 'warning', severity: 'P2' });
    expect(r.summary).toMatch(/AI cost above \$100 today \(date=.*total_cost=100\.01/);
  });

  it('error rate: none in the hour and exactly 1 % stay quiet, 11 in 1000 fires; older errors do not count', async () => {
    expect((await outcome('api-error-rate')).status).toBe('ok');
    const logs = (n: number, status: number, at = 'now()') =>
      app.pool.query(
        `INSERT INTO api_logs (endpoint, status, latency, created_at) SELECT '/api/chat', $1, 100, ${at} FROM generate_series(1, $2)`,
        [status, n],
      );
    // Two hours ago: all errors, outside the last hour.
    await logs(500, 503, `now() - interval '2 hours'`);
    await logs(990, 200);
    await logs(10, 500);
    expect((await outcome('api-error-rate')).status).toBe('ok');
    await app.pool.query(
      `UPDATE api_logs SET status = 502 WHERE id = (SELECT min(id) FROM api_logs WHERE status = 200 AND created_at > now() - interval '1 hour')`,
    );
    const r = await outcome('api-error-rate');
    expect(r).toMatchObject({ status: 'warning', severity: 'P1' });
    expect(r.summary).toMatch(/error_rate=1\.1/);
  });

  it('connections: 175 backends stay quiet, 186 fire, and back under it is quiet again', async () => {
    // A few backends away from 180 on either side: background workers come and go in pg_stat_activity.
    await holdUntil(allBackends, 175);
    expect((await outcome('high-connections')).status).toBe('ok');
    await holdUntil(allBackends, 186);
    const r = await outcome('high-connections');
    expect(r).toMatchObject({ status: 'warning', severity: 'P1', incidentKey: 'health:app:connections' });
    const seen = Number(/connections=(\d+)/.exec(r.summary)?.[1]);
    expect(seen).toBeGreaterThanOrEqual(185);
    expect(seen).toBeLessThanOrEqual(190);
    await releaseAll();
    expect((await outcome('high-connections')).status).toBe('ok');
  });

  it('pool thresholds: 70 % and 90 % of the pool of 200, on real connections', async () => {
    // The boundaries themselves: strictly above the percentage.
    const t = config.thresholds;
    expect(connectionsCheck('app', 140, 200, t).status).toBe('ok');
    expect(connectionsCheck('app', 141, 200, t).status).toBe('warning');
    expect(connectionsCheck('app', 180, 200, t).status).toBe('warning');
    expect(connectionsCheck('app', 181, 200, t).status).toBe('critical');
    // On the database: the check's own session is one more client backend.
    const pool = async (target: number) => {
      await holdUntil(clientBackends, target - 1);
      return (await checkDatabase({ database: 'app' })).find((r) => r.check === 'connections')!;
    };
    for (const [target, status] of [
      [120, 'ok'],
      [150, 'warning'],
      [190, 'critical'],
    ] as const) {
      const r = await pool(target);
      expect(r.status).toBe(status);
      const seen = Number(/^(\d+) connections/.exec(r.summary)?.[1]);
      expect(Math.abs(seen - target)).toBeLessThanOrEqual(2);
      expect(r.value).toBeCloseTo((100 * seen) / 200);
      expect(r.summary).toMatch(/of the pool of 200/);
    }
    await releaseAll();
  });
});

describe('one overload, one incident', () => {
  let pg: Awaited<ReturnType<typeof privatePostgres>>;
  let stack: SandboxStack;
  let client: Client;
  let worker: TestWorker;
  const held: PgClient[] = [];

  beforeAll(async () => {
    const config = testConfig({
      incidents: { ...base.incidents, flapGuard: 1_000 },
      maintenance: { ...base.maintenance, tlsHosts: [], cleanup: [] },
    });
    pg = await privatePostgres('overload');
    stack = await openSandboxStack(config, { prefix: 'overload', requestTimeoutMs: 3_000, appAdminUrl: pg.adminUrl });
    await prepareAppDatabase(stack.app.url, path.resolve(__dirname, '..', '..', base.deploy.migrationsDir!), { historyDays: 0 });
    worker = await startTestWorker({ deps: stack.deps, raisesAlerts: true });
    client = worker.client;
  });
  afterAll(async () => {
    await Promise.all(held.splice(0).map((c) => c.end()));
    await worker?.close();
    await stack?.close();
    await pg?.stop();
  });

  const run = () => runHealthCheck(worker);

  it('the connections rule and the pool check of the same overload open one incident with both alerts, and both resolve it', () =>
    worker.run(async () => {
      const n = Number((await stack.app.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity`)).rows[0].n);
      const extra = await Promise.all(
        Array.from({ length: 195 - n }, async () => {
          const c = new PgClient({ connectionString: stack.app.url, application_name: 'overload' });
          c.on('error', () => undefined);
          await c.connect();
          return c;
        }),
      );
      held.push(...extra);
      const r = await run();
      const keys = r.transitions.map((t) => t.key).sort();
      expect(keys).toEqual(['health:app:connections', 'health:app:rule-high-connections']);
      expect(r.transitions.find((t) => t.check === 'connections')).toMatchObject({ to: 'critical' });

      const handle = client.workflow.getHandle(incidentWorkflowId('health:app:connections'));
      const s = await waitForState(handle, (x) => Object.keys(x.alerts).length === 2 && x.chatOpened, 'both alerts in one incident');
      expect(Object.keys(s.alerts).sort()).toEqual(['health:app:connections', 'health:app:rule-high-connections']);
      expect(s.severity).toBe('P0');
      // No incident of the rule's own key.
      await expect(client.workflow.getHandle(incidentWorkflowId('health:app:rule-high-connections')).describe()).rejects.toThrow(
        /not found/i,
      );

      await Promise.all(held.splice(0).map((c) => c.end()));
      const recovered = await run();
      expect(recovered.transitions.map((t) => t.to)).toEqual(['ok', 'ok']);
      const resolved = await waitForState(handle, (x) => Boolean(x.resolvedAt), 'resolved once both alerts resolved', 30_000);
      expect(Object.values(resolved.alerts).map((a) => a.status)).toEqual(['resolved', 'resolved']);
      await handle.terminate('test over');
    }));
});

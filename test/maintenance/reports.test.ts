import { WorkflowNotFoundError } from '@temporalio/client';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { MaintenanceResult, MaintenanceStep } from '../../src/workflows/maintenance/contract';
import { maintenance } from '../../src/workflows';
import { startTestWorker, testConfig, testDeps, uniqueName, type TestWorker } from '../harness';
import { openSandboxStack, type SandboxStack } from '../harness/sandbox-stack';

/**
 * Weekly, monthly and quarterly maintenance on a real PostgreSQL without pg_stat_statements: statistics,
 * VACUUM, the runbooks' reports, a failing step that does not stop the others, and the report in the ops
 * database and in chat.
 */
describe('maintenance reports', () => {
  let stack: SandboxStack;
  let worker: TestWorker;

  beforeAll(async () => {
    const checkout = mkdtempSync(path.join(os.tmpdir(), 'app-checkout-'));
    writeFileSync(
      path.join(checkout, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'left-pad': '1.3.0' } }),
    );
    const config = testConfig({
      databases: { app: { urlEnv: 'DATABASE_URL', poolSize: 60 } },
      backup: { databases: [] },
      maintenance: { vacuumFullTables: ['bloated', 'not_here'], appCheckout: checkout },
    });
    stack = await openSandboxStack(config, {
      prefix: 'rep',
      // No internet: the registry address refuses connections, as it would offline.
      env: {
        npm_config_registry: 'http://127.0.0.1:9/',
        npm_config_fetch_retries: '0',
        npm_config_fetch_timeout: '3000',
        npm_config_audit: 'true',
      },
    });
    await stack.app.pool.query(`
      CREATE TABLE javari_messages (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, cost numeric(10, 4) NOT NULL);
      INSERT INTO javari_messages (created_at, cost) SELECT current_date + interval '1 hour', 0.5 FROM generate_series(1, 300);
      INSERT INTO javari_messages (created_at, cost) SELECT current_date - 1 + interval '1 hour', 0.25 FROM generate_series(1, 100);
      CREATE TABLE audit_logs (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, action_type text NOT NULL);
      INSERT INTO audit_logs (created_at, action_type) VALUES
        (now() - interval '1 hour', 'auth_failure'), (now() - interval '2 days', 'auth_failure'),
        (now() - interval '3 hours', 'rls_violation'), (now() - interval '3 days', 'suspicious_activity'),
        (now() - interval '20 days', 'security_violation'), (now() - interval '1 hour', 'login');
      CREATE TABLE lookups (id int, label text);
      INSERT INTO lookups SELECT g, 'l' || g FROM generate_series(1, 100) g;
      CREATE TABLE bloated (id serial PRIMARY KEY, payload text);
      INSERT INTO bloated (payload) SELECT repeat('x', 200) FROM generate_series(1, 20000);
      DELETE FROM bloated WHERE id % 10 <> 0;`);
    // A table read only by sequential scans; a backend flushes its statistics when it exits.
    const scanner = new Client({ connectionString: stack.app.url });
    await scanner.connect();
    for (let i = 0; i < 120; i++) await scanner.query('SELECT count(*) FROM lookups WHERE label = $1', [`l${i}`]);
    await scanner.end();
    // Last month's size, for the growth report.
    await stack.ops.pool.query(
      `INSERT INTO database_size_history (database, measured_on, size_bytes) VALUES ('app', current_date - 35, 1000000)`,
    );
    worker = await startTestWorker({ deps: stack.deps });
  });

  afterAll(async () => {
    await worker?.close();
    await stack?.close();
  });

  const stepsOf = async (reportId: number) => {
    const { rows } = await stack.ops.pool.query<{ steps: MaintenanceStep[]; markdown: string; failed_steps: number }>(
      'SELECT steps, markdown, failed_steps FROM maintenance_reports WHERE id = $1',
      [reportId],
    );
    return { ...rows[0], step: (name: string) => rows[0].steps.find((s) => s.name === name)! };
  };

  it(
    'runs weekly, monthly and quarterly maintenance and reports every step',
    () =>
      worker.run(async () => {
        const run = (kind: 'weekly' | 'monthly' | 'quarterly'): Promise<MaintenanceResult> =>
          worker.client.workflow.execute(maintenance, {
            taskQueue: worker.taskQueue,
            workflowId: uniqueName(`maintenance-${kind}`),
            args: [{ kind, requestedBy: 'jest', stepAttempts: 2, retryInterval: '100ms' }],
          });

        // Weekly: ANALYZE, then the performance check and the security audit.
        const weekly = await run('weekly');
        expect(weekly.failed).toBe(0);
        const w = await stepsOf(weekly.reportId);
        expect(w.step('app: ANALYZE')).toMatchObject({ status: 'ok', summary: expect.stringContaining('ANALYZE (SKIP_LOCKED) of "app"') });
        expect(w.step('app: slow queries')).toMatchObject({
          status: 'skipped',
          summary: 'pg_stat_statements is not installed in database "app": no slow-query report',
        });
        expect(w.markdown).toContain('CREATE EXTENSION pg_stat_statements');
        expect(w.step('app: security audit').data).toMatchObject({
          total: 4,
          byAction: { auth_failure: 2, rls_violation: 1, suspicious_activity: 1, security_violation: 0 },
          rlsViolations24h: 1,
        });
        expect(w.step('app: AI cost per day').data).toMatchObject({
          days: [expect.objectContaining({ cost: 150, messages: 300 }), expect.objectContaining({ cost: 25, messages: 100 })],
          overLimit: [expect.any(String)],
        });
        expect(w.step('app: sequential scans').data).toMatchObject({ tables: expect.arrayContaining(['public.lookups']) });
        expect(w.step('app: table sizes').data?.tables).toEqual(
          expect.arrayContaining([expect.objectContaining({ table: 'public.javari_messages', rows: 400 })]),
        );
        expect(w.step('app: connections').summary).toMatch(/of the pool of 60/);
        expect(w.step('post to slack')).toMatchObject({ status: 'ok' });
        const slack = stack.sandbox.slack.messages();
        expect(slack).toHaveLength(1);
        expect(JSON.stringify(slack[0])).toContain('weekly maintenance of javari-ai');

        // Monthly: VACUUM, VACUUM FULL only for the listed table, growth, dependencies (offline: fails, reported), reminders.
        const { rows: before } = await stack.app.pool.query<{ bytes: string }>(`SELECT pg_total_relation_size('bloated')::text AS bytes`);
        const monthly = await run('monthly');
        const m = await stepsOf(monthly.reportId);
        expect(m.step('app: VACUUM (ANALYZE)').status).toBe('ok');
        expect(m.step('VACUUM FULL bloated')).toMatchObject({
          status: 'ok',
          summary: expect.stringMatching(/^VACUUM FULL app: bloated [\d.]+ MB → [\d.]+ kB$/),
        });
        const { rows: after } = await stack.app.pool.query<{ bytes: string }>(`SELECT pg_total_relation_size('bloated')::text AS bytes`);
        expect(Number(after[0].bytes)).toBeLessThan(Number(before[0].bytes) / 3);
        expect(m.step('VACUUM FULL not_here')).toMatchObject({ status: 'skipped', summary: 'table not_here does not exist in app' });
        expect(m.step('app: database size growth').summary).toMatch(/\+.* since \d{4}-\d{2}-\d{2}$/);
        expect(m.step('backup verification')).toMatchObject({ status: 'skipped', summary: 'no databases under backup.databases' });
        const deps = m.step('dependencies');
        expect(deps.status).toBe('failed');
        expect(deps.summary).toMatch(/npm outdated failed: .+; npm audit failed: .+/);
        // The failure did not stop what came after it, and the report says which step failed and why.
        expect(m.step('monthly review').status).toBe('ok');
        expect(monthly.failed).toBe(1);
        expect(m.failed_steps).toBe(1);
        expect(m.markdown).toContain(`**1 of ${m.steps.length} steps failed:** dependencies (npm outdated failed`);

        // Quarterly: performance reports and the security review as tasks for people.
        const quarterly = await run('quarterly');
        const q = await stepsOf(quarterly.reportId);
        expect(q.steps.map((s) => s.name)).toEqual([
          'app: slow queries',
          'app: sequential scans',
          'app: table sizes',
          'security review',
          'post to slack',
        ]);
        expect(q.markdown).toContain('- [ ] Rotate encryption keys');
        expect(q.markdown).toContain('- [ ] Review access logs');

        const { rows: size } = await stack.ops.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM database_size_history WHERE database = 'app'`,
        );
        expect(size[0].n).toBe(2);
      }),
    240_000,
  );

  it('monthly: starts the verification of the latest backup of each backed-up database, and does not wait for it', async () => {
    const config = testConfig({
      databases: { app: { urlEnv: 'DATABASE_URL', poolSize: 60 } },
      backup: { databases: ['app'], store: { type: 'directory', path: mkdtempSync(path.join(os.tmpdir(), 'backups-')) } },
      notifications: {},
    });
    const second = await startTestWorker({ deps: testDeps(config, stack.ops, { app: stack.app.url }) });
    try {
      await second.run(async () => {
        const result = await second.client.workflow.execute(maintenance, {
          taskQueue: second.taskQueue,
          workflowId: uniqueName('maintenance-monthly'),
          args: [{ kind: 'monthly', requestedBy: 'jest', stepAttempts: 2, retryInterval: '100ms' }],
        });
        const step = result.steps.find((s) => s.name === 'backup verification')!;
        expect(step).toMatchObject({ status: 'ok', summary: expect.stringMatching(/^started verify-backup-latest-app-/) });
        const childId = step.summary.replace('started ', '');
        const child = await second.client.workflow.getHandle(childId).describe();
        expect(child.type).toBe('verifyBackup');
        // It may finish between the describe and the terminate.
        if (child.status.name === 'RUNNING') {
          await second.client.workflow
            .getHandle(childId)
            .terminate('test done')
            .catch((err: unknown) => {
              if (!(err instanceof WorkflowNotFoundError)) throw err;
            });
        }
      });
    } finally {
      await second.close();
    }
  }, 120_000);
});

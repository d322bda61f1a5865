import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from 'pg';
import { maintenance } from '../../src/workflows';
import { runCleanup } from '../../src/activities/maintenance/cleanup';
import type { CleanupResult, MaintenanceResult } from '../../src/workflows/maintenance/contract';
import { scratchDatabase, startTestWorker, testClient, testConfig, testDeps, testEnv, uniqueName, type ScratchDatabase } from '../harness';

/**
 * Database Operations → Data Cleanup on a real PostgreSQL: a million expired rows go in primary-key
 * batches while another connection keeps inserting, and a worker killed mid-cleanup resumes without
 * counting a row twice.
 */

const LOCK_TIMEOUT_MS = 5_000;

function cleanupConfig(batchSize: number) {
  return testConfig({
    databases: { app: { urlEnv: 'DATABASE_URL', poolSize: 200 } },
    backup: { databases: [] },
    notifications: {},
    maintenance: {
      cleanup: [
        { name: 'health-checks', table: 'javari_health_checks', timestampColumn: 'created_at', olderThan: '30d', batchSize },
        {
          name: 'failed-tasks',
          table: 'javari_task_queue',
          timestampColumn: 'completed_at',
          olderThan: '7d',
          where: "status = 'failed'",
          batchSize,
        },
        {
          name: 'conversation-summaries',
          table: 'javari_conversation_summaries',
          timestampColumn: 'created_at',
          olderThan: '90d',
          batchSize,
        },
      ],
      lockTimeout: LOCK_TIMEOUT_MS,
      statementTimeout: '30s',
    },
  });
}

/** `expired` rows 31–60 days old and `fresh` rows from today, written with generate_series. */
async function seedHealthChecks(db: ScratchDatabase, expired: number, fresh: number): Promise<void> {
  await db.pool.query(`
    CREATE TABLE javari_health_checks (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, status text NOT NULL, payload text);
    CREATE INDEX javari_health_checks_created_at ON javari_health_checks (created_at)`);
  await db.pool.query(
    `INSERT INTO javari_health_checks (created_at, status, payload)
     SELECT now() - interval '31 days' - (g % 2592000) * interval '1 second', 'healthy', 'p' || g FROM generate_series(1, $1) g`,
    [expired],
  );
  await db.pool.query(
    `INSERT INTO javari_health_checks (created_at, status, payload)
     SELECT now() - (g % 86400) * interval '1 second', 'healthy', 'f' || g FROM generate_series(1, $1) g`,
    [fresh],
  );
  // Failed tasks: 7-day policy with an extra condition; only failed ones older than 7 days go.
  await db.pool.query(`
    CREATE TABLE javari_task_queue (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), status text NOT NULL, completed_at timestamptz);
    INSERT INTO javari_task_queue (status, completed_at)
    SELECT CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'done' END, now() - (g % 20) * interval '1 day' FROM generate_series(1, 3000) g`);
  await db.pool.query('ANALYZE');
}

const cleanupStep = (r: MaintenanceResult, policy: string) => r.steps.find((s) => s.name === `cleanup ${policy}`);

describe('maintenance: batched cleanup on real PostgreSQL', () => {
  let ops: ScratchDatabase;
  let app: ScratchDatabase;
  beforeEach(async () => {
    [ops, app] = await Promise.all([scratchDatabase('mnt_ops', { ops: true }), scratchDatabase('mnt_app')]);
  });
  afterEach(async () => {
    await Promise.all([ops.drop(), app.drop()]);
  });

  it('deletes 1M expired rows in primary-key batches without blocking a concurrent inserter', async () => {
    const EXPIRED = 1_000_000;
    const FRESH = 50_000;
    const seeded = Date.now();
    await seedHealthChecks(app, EXPIRED, FRESH);
    const seedMs = Date.now() - seeded;
    const { rows: expiredTasks } = await app.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM javari_task_queue WHERE status = 'failed' AND completed_at < now() - interval '7 days'`,
    );
    const config = cleanupConfig(5_000);
    const worker = await startTestWorker({ deps: testDeps(config, ops, { app: app.url }) });

    // The inserter: one row at a time on its own connection, timing every insert.
    const inserter = new Client({ connectionString: app.url, application_name: 'test-inserter' });
    await inserter.connect();
    const { rows: pidRow } = await inserter.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const watcher = new Client({ connectionString: app.url });
    await watcher.connect();
    let running = true;
    let inserted = 0;
    let maxInsertMs = 0;
    let lockWaitSamples = 0;
    let samples = 0;
    const insertLoop = (async () => {
      while (running) {
        const t = performance.now();
        await inserter.query(`INSERT INTO javari_health_checks (created_at, status, payload) VALUES (now(), 'healthy', 'live')`);
        maxInsertMs = Math.max(maxInsertMs, performance.now() - t);
        inserted++;
      }
    })();
    // Samples whether the inserter is ever waiting on a lock (heavyweight lock wait = blocked by the cleanup).
    const watchLoop = (async () => {
      while (running) {
        const { rows } = await watcher.query<{ waiting: boolean }>(
          `SELECT COALESCE(wait_event_type = 'Lock', false) AS waiting FROM pg_stat_activity WHERE pid = $1`,
          [pidRow[0].pid],
        );
        samples++;
        if (rows[0]?.waiting) lockWaitSamples++;
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    let result: MaintenanceResult;
    const cleanupStarted = Date.now();
    try {
      result = await worker.run(() =>
        worker.client.workflow.execute(maintenance, {
          taskQueue: worker.taskQueue,
          workflowId: uniqueName('maintenance-daily'),
          args: [{ kind: 'daily', requestedBy: 'jest', retryInterval: '200ms' }],
        }),
      );
    } finally {
      running = false;
      await Promise.all([insertLoop, watchLoop]);
      await inserter.end();
      await watcher.end();
      await worker.close();
    }

    const step = cleanupStep(result, 'health-checks');
    expect(step).toMatchObject({ status: 'ok' });
    const { rows: report } = await ops.pool.query<{ steps: { name: string; data?: CleanupResult }[]; markdown: string }>(
      'SELECT steps, markdown FROM maintenance_reports',
    );
    const data = report[0].steps.find((s) => s.name === 'cleanup health-checks')!.data!;
    expect(data.deleted).toBe(EXPIRED);
    expect(data.batches).toBe(EXPIRED / 5_000);
    expect(data.resumed).toBe(false);

    // Every expired row is gone; every fresh row and every concurrent insert is still there.
    const { rows: left } = await app.pool.query<{ expired: number; total: number }>(
      `SELECT count(*) FILTER (WHERE created_at < now() - interval '30 days')::int AS expired, count(*)::int AS total FROM javari_health_checks`,
    );
    expect(left[0]).toEqual({ expired: 0, total: FRESH + inserted });
    // No batch was larger than the policy's batch size: never one huge DELETE.
    const { rows: batches } = await ops.pool.query<{ biggest: number; n: number }>(
      `SELECT max(rows_deleted)::int AS biggest, count(*)::int AS n FROM maintenance_cleanup_batches WHERE policy = 'health-checks' AND state = 'committed'`,
    );
    expect(batches[0]).toEqual({ biggest: 5_000, n: EXPIRED / 5_000 });

    // The inserter kept going and never waited on a lock held by the cleanup.
    expect(inserted).toBeGreaterThan(100);
    expect(samples).toBeGreaterThan(20);
    expect(lockWaitSamples).toBe(0);
    expect(maxInsertMs).toBeLessThan(LOCK_TIMEOUT_MS / 2);
    console.log(
      `seed ${seedMs} ms; cleanup run ${Date.now() - cleanupStarted} ms: ${EXPIRED} rows, ${inserted} concurrent inserts, longest insert ${maxInsertMs.toFixed(1)} ms, lock waits sampled ${lockWaitSamples}/${samples}`,
    );

    // The policy with an extra condition removed exactly the old failed tasks; a missing table is skipped, not failed.
    const tasks = report[0].steps.find((s) => s.name === 'cleanup failed-tasks')!.data!;
    expect(tasks.deleted).toBe(expiredTasks[0].n);
    const { rows: tasksLeft } = await app.pool.query<{ n: number; done: number }>(
      `SELECT count(*) FILTER (WHERE status = 'failed' AND completed_at < now() - interval '7 days')::int AS n,
              count(*) FILTER (WHERE status = 'done')::int AS done FROM javari_task_queue`,
    );
    expect(tasksLeft[0]).toEqual({ n: 0, done: 2000 });
    expect(cleanupStep(result, 'conversation-summaries')).toMatchObject({
      status: 'skipped',
      summary: expect.stringContaining('javari_conversation_summaries does not exist'),
    });
    expect(report[0].markdown).toContain(`deleted ${EXPIRED} rows`);
  }, 300_000);

  it('resumes after the worker process is killed mid-cleanup and counts every row exactly once', async () => {
    const EXPIRED = 300_000;
    await seedHealthChecks(app, EXPIRED, 1_000);
    const config = cleanupConfig(1_000);
    const taskQueue = uniqueName('kill');
    const spawnWorker = () => startWorkerProcess({ taskQueue, config, opsUrl: ops.url, databases: { app: app.url } });

    const { client, connection } = await testClient();
    let first: ChildProcess | undefined;
    let second: ChildProcess | undefined;
    try {
      first = await spawnWorker();
      const handle = await client.workflow.start(maintenance, {
        taskQueue,
        workflowId: uniqueName('maintenance-daily-kill'),
        args: [{ kind: 'daily', requestedBy: 'jest', heartbeatTimeout: '2s', retryInterval: '200ms' }],
      });
      // Wait until a good part of the cleanup has committed, then kill the worker without warning.
      await waitFor(async () => {
        const { rows } = await ops.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM maintenance_cleanup_batches WHERE policy = 'health-checks' AND state = 'committed'`,
        );
        return rows[0].n >= 40;
      }, 60_000);
      first.kill('SIGKILL');
      await new Promise((r) => first!.once('exit', r));
      const { rows: atKill } = await app.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM javari_health_checks WHERE created_at < now() - interval '30 days'`,
      );
      expect(atKill[0].n).toBeGreaterThan(0);
      expect(atKill[0].n).toBeLessThan(EXPIRED);

      second = await spawnWorker();
      const result = await handle.result();
      expect(cleanupStep(result, 'health-checks')).toMatchObject({ status: 'ok', summary: expect.stringContaining('resumed') });
      const { rows: report } = await ops.pool.query<{ steps: { name: string; data?: CleanupResult }[] }>(
        'SELECT steps FROM maintenance_reports',
      );
      const data = report[0].steps.find((s) => s.name === 'cleanup health-checks')!.data!;
      expect(data.deleted).toBe(EXPIRED);
      expect(data.resumed).toBe(true);
      const { rows: left } = await app.pool.query<{ n: number; total: number }>(
        `SELECT count(*) FILTER (WHERE created_at < now() - interval '30 days')::int AS n, count(*)::int AS total FROM javari_health_checks`,
      );
      expect(left[0]).toEqual({ n: 0, total: 1_000 });
      // Both attempts wrote batches; together they add up to the expired rows and nothing is left pending.
      const { rows: ledger } = await ops.pool.query<{ attempt: number; rows: number; pending: number }>(
        `SELECT attempt, sum(rows_deleted) FILTER (WHERE state = 'committed')::int AS rows, count(*) FILTER (WHERE state = 'pending')::int AS pending
           FROM maintenance_cleanup_batches WHERE policy = 'health-checks' GROUP BY attempt ORDER BY attempt`,
      );
      expect(ledger.length).toBeGreaterThanOrEqual(2);
      expect(ledger.reduce((n, r) => n + r.rows, 0)).toBe(EXPIRED);
      expect(ledger.every((r) => r.pending === 0)).toBe(true);
    } finally {
      first?.kill('SIGKILL');
      second?.kill('SIGKILL');
      await connection.close();
    }
  }, 300_000);
  it('skips a row another transaction holds instead of waiting for it, and deletes the rest', async () => {
    await seedHealthChecks(app, 20_000, 100);
    const holder = new Client({ connectionString: app.url });
    await holder.connect();
    const target = new Client({ connectionString: app.url });
    await target.connect();
    try {
      // An application transaction holding one expired row (and one of another key range) for the whole cleanup.
      await holder.query('BEGIN');
      await holder.query('SELECT id FROM javari_health_checks WHERE id IN (7000, 15001) FOR UPDATE');
      const policy = cleanupConfig(1_000).maintenance.cleanup[0];
      const result = await runCleanup({
        target,
        database: 'app',
        ops: ops.pool,
        policy,
        runKey: uniqueName('locked'),
        lockTimeoutMs: 200,
        statementTimeoutMs: 10_000,
      });
      expect(result.deleted).toBe(20_000 - 2);
      const { rows } = await app.pool.query<{ id: string }>(
        `SELECT id FROM javari_health_checks WHERE created_at < now() - interval '30 days' ORDER BY id`,
      );
      expect(rows.map((r) => Number(r.id))).toEqual([7000, 15001]);
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
      await target.end();
    }
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startWorkerProcess(opts: {
  taskQueue: string;
  config: unknown;
  opsUrl: string;
  databases: Record<string, string>;
}): Promise<ChildProcess> {
  // tsx as a loader, not its CLI: the CLI forks a second process that a SIGKILL of the first would orphan.
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(require.resolve('tsx')).href, path.join(__dirname, 'worker-process.ts')],
    {
      env: {
        ...process.env,
        RUNBOOK_TEST_TEMPORAL_ADDRESS: testEnv.temporalAddress,
        RUNBOOK_TEST_WORKFLOW_BUNDLE: testEnv.workflowBundle,
        WORKER_TASK_QUEUE: opts.taskQueue,
        WORKER_CONFIG: JSON.stringify(opts.config),
        WORKER_DATABASES: JSON.stringify(opts.databases),
        WORKER_OPS_URL: opts.opsUrl,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code}: ${stderr}`)));
  });
  return child;
}

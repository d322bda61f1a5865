/**
 * The sample apps' databases (examples/): their migrations apply, are tracked like a deploy's and roll
 * back cleanly on real PostgreSQL; every table and column the runbooks' SQL and the example configs'
 * rules, cleanups and reports name exists; the first-start history is deterministic and old enough for
 * the cleanups; live traffic follows the health of the deployment serving it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { discoverMigrations } from '../../src/activities/deploy/migrations/discover';
import { pendingMigrations } from '../../src/activities/deploy/migrations/runner';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { SUPABASE_PLATFORM_SQL, seedHistory } from '../../src/sandbox/history';
import { aiQueryHub, javariAi, sampleAppFor, type SampleApp } from '../../src/sandbox/sample-apps';
import { platformStateOf, startTraffic, type TrafficOptions } from '../../src/sandbox/traffic';
import { prepareAppDatabase } from '../../src/stack/app-databases';
import { scratchDatabase, testConfig, type ScratchDatabase } from '../harness';

const ROOT = path.join(__dirname, '..', '..');
const javariConfig = testConfig({}, 'vercel-supabase');
const hubConfig = testConfig({}, 'netlify-supabase');
const JAVARI_DIR = path.resolve(ROOT, javariConfig.deploy.migrationsDir!);
const HUB_DIR = path.resolve(ROOT, hubConfig.deploy.migrationsDir!);
const NOW = new Date('2026-11-30T12:00:00Z');

const dbs: ScratchDatabase[] = [];
async function scratch(prefix: string): Promise<ScratchDatabase> {
  const db = await scratchDatabase(prefix);
  dbs.push(db);
  return db;
}
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

const USER = '00000000-0000-4000-8000-000000000001';

/** The first runbook's SQL on the app's tables, as written there (placeholders filled in). */
const JAVARI_RUNBOOK_SQL = [
  `SELECT DATE(created_at) as date, SUM(cost) as total_cost FROM javari_messages WHERE created_at >= CURRENT_DATE GROUP BY DATE(created_at) HAVING SUM(cost) > 100`,
  `SELECT COUNT(*) FILTER (WHERE status >= 500) * 100.0 / COUNT(*) as error_rate FROM api_logs WHERE created_at > NOW() - INTERVAL '1 hour' HAVING COUNT(*) FILTER (WHERE status >= 500) * 100.0 / COUNT(*) > 1.0`,
  `SELECT created_at, level, action, metadata FROM javari_logs WHERE user_id = '${USER}' AND created_at > NOW() - INTERVAL '24 hours' ORDER BY created_at DESC`,
  `SELECT action, AVG(duration) as avg_duration, PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY duration) as p95, COUNT(*) as request_count FROM javari_logs WHERE created_at > NOW() - INTERVAL '1 hour' GROUP BY action ORDER BY p95 DESC`,
  `SELECT conversation_id, created_at, model, error FROM javari_messages WHERE created_at > NOW() - INTERVAL '10 minutes' AND role = 'assistant' ORDER BY created_at DESC`,
  `SELECT user_id, DATE(created_at) as date, SUM(tokens) as total_tokens, SUM(cost) as total_cost FROM javari_messages WHERE created_at > NOW() - INTERVAL '7 days' GROUP BY user_id, DATE(created_at) ORDER BY total_cost DESC`,
  `SELECT conversation_id, SUM(tokens) as total_tokens, SUM(cost) as total_cost, COUNT(*) as message_count FROM javari_messages GROUP BY conversation_id ORDER BY total_cost DESC LIMIT 10`,
  `SELECT user_id, COUNT(*) as message_count, SUM(cost) as total_cost FROM javari_messages WHERE created_at > NOW() - INTERVAL '24 hours' GROUP BY user_id HAVING COUNT(*) > 1000 ORDER BY message_count DESC`,
  `UPDATE users SET blocked = true, blocked_reason = 'Excessive usage - possible abuse' WHERE id = '${USER}'`,
  `UPDATE users SET rate_limit = 10 WHERE id = '${USER}'`,
  `DELETE FROM javari_conversation_summaries WHERE created_at < NOW() - INTERVAL '90 days'`,
  `DELETE FROM javari_health_checks WHERE created_at < NOW() - INTERVAL '30 days'`,
  `DELETE FROM javari_task_queue WHERE status = 'failed' AND completed_at < NOW() - INTERVAL '7 days'`,
  `SELECT m.* FROM javari_messages m INNER JOIN javari_conversations c ON m.conversation_id = c.id WHERE c.user_id = '${USER}'`,
  `SELECT COUNT(*) FROM javari_conversations`,
  `SELECT * FROM javari_user_preferences LIMIT 1`,
  `SELECT * FROM auth.audit_log_entries WHERE created_at > NOW() - INTERVAL '1 hour' AND error_msg LIKE '%rate limit%'`,
  `UPDATE auth.users SET email_confirmed_at = NOW() WHERE email = 'user@example.com'`,
];

/** The second runbook's SQL: Weekly Security Audit and the Database Performance Check. */
const HUB_RUNBOOK_SQL = [
  `SELECT * FROM audit_logs WHERE created_at > NOW() - INTERVAL '7 days' AND action_type IN ('auth_failure', 'security_violation', 'suspicious_activity') ORDER BY created_at DESC`,
  `SELECT 'RLS Violations' as metric, count(*) as value FROM audit_logs WHERE created_at > NOW() - INTERVAL '24 hours' AND action_type = 'rls_violation'`,
  `SELECT count(*) as active_connections, state FROM pg_stat_activity GROUP BY state`,
];

/**
 * The example config's own SQL against the app database: alert rules, cleanups, the reports' tables
 * (the security audit only where the runbook has an audit table: the first runbook's report skips it).
 */
function configSql(config: typeof javariConfig, audit: boolean): string[] {
  const m = config.maintenance;
  return [
    ...m.sqlAlertRules.map((r) => r.query),
    ...m.cleanup.map(
      (c) =>
        `SELECT count(*) FROM ${c.table} WHERE ${c.timestampColumn} < now() - ${c.olderThan} * interval '1 millisecond'${c.where ? ` AND (${c.where})` : ''}`,
    ),
    `SELECT created_at::date, sum(cost), count(*) FROM ${m.messagesTable} WHERE created_at >= current_date - 30 GROUP BY 1`,
    ...(audit ? [`SELECT action_type, count(*) FROM ${m.auditTable} WHERE created_at > now() - interval '7 days' GROUP BY 1`] : []),
  ];
}

/**
 * Runs each statement in a rolled-back transaction; returns the ones the schema refuses (SQLSTATE class 42:
 * undefined table or column, syntax). Data conditions are not the schema's: the runbook's own error-rate query
 * divides by zero in an hour without requests (the example config's rule uses NULLIF).
 */
async function runAll(db: ScratchDatabase, statements: string[]): Promise<string[]> {
  const errors: string[] = [];
  const client = await db.pool.connect();
  try {
    for (const sql of statements) {
      await client.query('BEGIN');
      await client.query(sql).catch((err: Error & { code?: string }) => {
        if (!err.code || err.code.startsWith('42')) errors.push(`${err.message}: ${sql}`);
      });
      await client.query('ROLLBACK');
    }
  } finally {
    client.release();
  }
  return errors;
}

async function publicTables(db: ScratchDatabase): Promise<string[]> {
  const { rows } = await db.pool.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
  return rows.map((r) => r.t);
}

describe('sample app migrations', () => {
  it('the example configs name the sample apps, and both folders follow their convention (every migration has its rollback)', () => {
    expect(sampleAppFor(JAVARI_DIR)).toBe(javariAi);
    expect(sampleAppFor(HUB_DIR)).toBe(aiQueryHub);
    const javari = discoverMigrations(JAVARI_DIR);
    const hub = discoverMigrations(HUB_DIR);
    expect(javari.problems).toEqual([]);
    expect(hub.problems).toEqual([]);
    expect(javari.migrations.map((m) => [m.name, m.convention, Boolean(m.rollbackPath)])).toEqual([
      ['2025-11-01-initial-schema', 'runbook', true],
      ['2025-11-08-add-user-preferences', 'runbook', true],
    ]);
    expect(hub.migrations.map((m) => [m.name, m.convention, Boolean(m.rollbackPath)])).toEqual([
      ['20260105090000_initial_schema', 'supabase', true],
    ]);
    // The second runbook's deploy also uploads its Edge Functions: each configured one has its source.
    const functionsDir = path.resolve(ROOT, hubConfig.deploy.functionsDir!);
    expect(hubConfig.platforms.supabase.edgeFunctions.filter((slug) => !existsSync(path.join(functionsDir, slug, 'index.ts')))).toEqual([]);
  });

  it.each([
    ['javari-ai', JAVARI_DIR],
    ['ai-query-hub', HUB_DIR],
  ])('%s: applied once and tracked as a deploy tracks them (nothing pending after), idempotent on the next start', async (_name, dir) => {
    const db = await scratch('mig');
    const first = await prepareAppDatabase(db.url, dir, { historyDays: 0 });
    const files = discoverMigrations(dir).migrations;
    expect(first.failed).toBeUndefined();
    expect(first.applied).toEqual(files.map((f) => f.name));
    const again = await prepareAppDatabase(db.url, dir, { historyDays: 0 });
    expect(again.applied).toEqual([]);
    expect(again.skipped).toEqual(files.map((f) => f.name));
    expect((await pendingMigrations(db.url, files)).pending).toEqual([]);
    const { rows } = await db.pool.query(`SELECT name, status FROM runbook.schema_migrations ORDER BY name`);
    expect(rows).toEqual(files.map((f) => ({ name: f.name, status: 'applied' })));
  });

  it.each([
    ['javari-ai', JAVARI_DIR, 9],
    ['ai-query-hub', HUB_DIR, 5],
  ])('%s: the rollback files, newest first, leave no table behind; the migrations then apply again', async (_name, dir, tables) => {
    const db = await scratch('rb');
    await db.pool.query(SUPABASE_PLATFORM_SQL);
    const files = discoverMigrations(dir).migrations;
    for (const f of files) await db.pool.query(readFileSync(f.path, 'utf8'));
    expect(await publicTables(db)).toHaveLength(tables);
    for (const f of [...files].reverse()) await db.pool.query(readFileSync(f.rollbackPath!, 'utf8'));
    expect(await publicTables(db)).toEqual([]);
    // A rollback run twice (after a half-applied migration) does not fail either.
    for (const f of [...files].reverse()) await db.pool.query(readFileSync(f.rollbackPath!, 'utf8'));
    for (const f of files) await db.pool.query(readFileSync(f.path, 'utf8'));
    expect(await publicTables(db)).toHaveLength(tables);
  });
});

describe('sample app history', () => {
  let javari: ScratchDatabase;
  let hub: ScratchDatabase;
  beforeAll(async () => {
    javari = await scratch('javari');
    hub = await scratch('hub');
    await prepareAppDatabase(javari.url, JAVARI_DIR, { historyDays: 120, now: NOW, seed: 42 });
    await prepareAppDatabase(hub.url, HUB_DIR, { historyDays: 120, now: NOW, seed: 42 });
  }, 120_000);

  it('every statement of the runbooks and of the example configs runs against the migrated, seeded databases', async () => {
    expect(await runAll(javari, [...JAVARI_RUNBOOK_SQL, ...configSql(javariConfig, false)])).toEqual([]);
    expect(await runAll(hub, [...HUB_RUNBOOK_SQL, ...configSql(hubConfig, true)])).toEqual([]);
    // The incident playbooks' user limits: the columns the activity checks for.
    const { rows } = await javari.pool.query(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND column_name IN ('rate_limit', 'blocked', 'blocked_reason') ORDER BY 1`,
    );
    expect(rows.map((r: { column_name: string }) => r.column_name)).toEqual(['blocked', 'blocked_reason', 'rate_limit']);
  });

  it('has rows older than the 90/30/7-day cleanups, a messages cost history for the reports, and no alert firing at the end', async () => {
    const q = async (sql: string) => Number((await javari.pool.query<{ n: string }>(sql)).rows[0].n);
    const at = `'${NOW.toISOString()}'::timestamptz`;
    expect(
      await q(`SELECT count(*) AS n FROM javari_conversation_summaries WHERE created_at < ${at} - interval '90 days'`),
    ).toBeGreaterThan(100);
    expect(
      await q(`SELECT count(*) AS n FROM javari_conversation_summaries WHERE created_at >= ${at} - interval '90 days'`),
    ).toBeGreaterThan(100);
    expect(await q(`SELECT count(*) AS n FROM javari_health_checks WHERE created_at < ${at} - interval '30 days'`)).toBeGreaterThan(20_000);
    expect(
      await q(`SELECT count(*) AS n FROM javari_task_queue WHERE status = 'failed' AND completed_at < ${at} - interval '7 days'`),
    ).toBeGreaterThan(50);
    expect(await q(`SELECT count(*) AS n FROM api_logs WHERE created_at < ${at} - interval '90 days'`)).toBeGreaterThan(3_000);
    expect(await q(`SELECT (min(created_at) >= ${at} - interval '120 days' AND max(created_at) < ${at})::int AS n FROM api_logs`)).toBe(1);
    expect(await q(`SELECT count(DISTINCT created_at::date) AS n FROM javari_messages WHERE cost > 0`)).toBeGreaterThanOrEqual(119);
    expect(await q(`SELECT count(*) AS n FROM auth.audit_log_entries`)).toBeGreaterThan(1_000);
    expect(await q(`SELECT count(*) AS n FROM users WHERE last_sign_in_at IS NOT NULL`)).toBeGreaterThan(50);
    // The last day is clean, so `npm start` does not open an incident from its own history.
    expect(await q(`SELECT count(*) FILTER (WHERE status >= 500) AS n FROM api_logs WHERE created_at > ${at} - interval '1 day'`)).toBe(0);
    // …and the bad release 41 days ago shows in the history.
    expect(
      await q(
        `SELECT count(*) FILTER (WHERE status >= 500) AS n FROM api_logs WHERE created_at BETWEEN ${at} - interval '42 days' AND ${at} - interval '41 days'`,
      ),
    ).toBeGreaterThan(0);

    const h = async (sql: string) => Number((await hub.pool.query<{ n: string }>(sql)).rows[0].n);
    expect(await h(`SELECT count(*) AS n FROM ai_query_logs WHERE created_at < ${at} - interval '90 days'`)).toBeGreaterThan(3_000);
    expect(
      await h(
        `SELECT count(DISTINCT action_type) AS n FROM audit_logs WHERE action_type IN ('auth_failure', 'security_violation', 'suspicious_activity', 'rls_violation')`,
      ),
    ).toBe(4);
  });

  it('is deterministic (same seed and clock, same rows) and written once', async () => {
    const twin = await scratch('twin');
    await prepareAppDatabase(twin.url, JAVARI_DIR, { historyDays: 120, now: NOW, seed: 42 });
    const digest = async (db: ScratchDatabase) =>
      (
        await db.pool.query(
          `SELECT (SELECT md5(string_agg(concat_ws(',', id, endpoint, status, latency, user_id, created_at), ';' ORDER BY id)) FROM api_logs) AS api,
                  (SELECT md5(string_agg(concat_ws(',', id, conversation_id, role, provider, model, tokens, cost, created_at), ';' ORDER BY id)) FROM javari_messages) AS messages,
                  (SELECT md5(string_agg(concat_ws(',', id, email, blocked, last_sign_in_at), ';' ORDER BY id)) FROM users) AS users,
                  (SELECT rows FROM runbook.sample_history) AS counts`,
        )
      ).rows[0];
    expect(await digest(twin)).toEqual(await digest(javari));
    const client = await twin.pool.connect();
    try {
      expect(await seedHistory(client, javariAi, { days: 120, now: new Date(), seed: 1 })).toBeUndefined();
    } finally {
      client.release();
    }
    const { rows } = await twin.pool.query(`SELECT app, seed, days FROM runbook.sample_history`);
    expect(rows).toEqual([{ app: 'javari-ai', seed: 42, days: 120 }]);
  });
});

describe('sample app traffic', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ timing: 5 });
  });
  afterAll(async () => {
    await sandbox.stop();
  });

  /** A scratch database with the sample app's migrations in `dir` applied and `historyDays` of history. */
  const appDatabase = async (prefix: string, dir: string, historyDays = 2) => {
    const db = await scratch(prefix);
    await prepareAppDatabase(db.url, dir, { historyDays });
    return db;
  };
  /** `app`'s traffic into `db` from `projectId`'s production, written only when the test calls write(n). */
  const trafficOn = (db: ScratchDatabase, app: SampleApp, projectId: string, seed: number, more: Partial<TrafficOptions> = {}) =>
    startTraffic({ url: db.url, app, projectId, sandbox: sandbox.apps, rps: 0, seed, ...more }, { timer: false });

  const errorShare = async (db: ScratchDatabase, table: string, deploymentId: string, latency = 'latency') => {
    const { rows } = await db.pool.query<{ total: number; errors: number; p50: number }>(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE status >= 500)::int AS errors,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY ${latency})::int AS p50
         FROM ${table} WHERE deployment_id = $1`,
      [deploymentId],
    );
    return { ...rows[0], percent: (100 * rows[0].errors) / rows[0].total };
  };

  it('javari-ai: requests follow the production deployment: healthy, then degraded to 20 % errors and slow, and the SQL rule fires', async () => {
    const db = await appDatabase('traffic', JAVARI_DIR);
    sandbox.vercel.seedProject('crav-javari');
    const healthyId = sandbox.apps.production('crav-javari')!.current!;
    const traffic = trafficOn(db, javariAi, 'crav-javari', 7);
    try {
      expect(await traffic.write(2_000)).toBeGreaterThan(2_000);
      const healthy = await errorShare(db, 'api_logs', healthyId);
      expect(healthy.percent).toBeLessThan(1);
      expect(healthy.p50).toBeGreaterThan(60);
      expect(healthy.p50).toBeLessThan(130);
      const rule = javariConfig.maintenance.sqlAlertRules.find((r) => r.name === 'api-error-rate')!;
      expect((await db.pool.query(rule.query)).rows).toEqual([]);

      sandbox.apps.degrade('production/crav-javari', { errorRate: 20, p50Ms: 900, p99Ms: 4000, healthy: false });
      await traffic.write(2_000);
      const degraded = await errorShare(db, 'api_logs', healthyId);
      const bad = { total: degraded.total - healthy.total, errors: degraded.errors - healthy.errors };
      expect((100 * bad.errors) / bad.total).toBeGreaterThan(15);
      expect((100 * bad.errors) / bad.total).toBeLessThan(25);
      expect((await db.pool.query(rule.query)).rows).toHaveLength(1);
      // Failed chats leave assistant messages with the error the runbook's "Chat Not Responding" query shows.
      const { rows } = await db.pool.query(
        `SELECT count(*)::int AS n FROM javari_messages WHERE role = 'assistant' AND error IS NOT NULL AND created_at > now() - interval '10 minutes'`,
      );
      expect(rows[0].n).toBeGreaterThan(50);
      // The app's own health check row says degraded.
      const hc = await db.pool.query(`SELECT status FROM javari_health_checks ORDER BY id DESC LIMIT 1`);
      expect(hc.rows[0].status).toBe('healthy'); // written with the first batch, before the degradation
      expect(traffic.written().api_logs).toBeGreaterThan(3_000);

      // Maintenance mode (stopped writes during a restore): the app answers 503 and writes nothing.
      sandbox.apps.degrade('production/crav-javari', { maintenance: true });
      expect(await traffic.write(500)).toBe(0);
      expect((await fetch(sandbox.apps.productionUrl('crav-javari') + '/api/health')).status).toBe(503);
      sandbox.apps.degrade('production/crav-javari', { maintenance: false });
      expect(await traffic.write(500)).toBeGreaterThan(0);
    } finally {
      sandbox.apps.restore('production/crav-javari');
      await traffic.stop();
    }
  });

  it('javari-ai: chats fail while their AI provider is down, and FORCE_PROVIDER (the switch-provider mitigation) routes around it', async () => {
    const db = await appDatabase('provider', JAVARI_DIR);
    const project = sandbox.vercel.seedProject('crav-javari');
    const traffic = trafficOn(db, javariAi, 'crav-javari', 11, {
      platform: () => platformStateOf(sandbox, 'crav-javari'),
      platformEveryMs: 0,
    });
    const chats = async () => {
      const { rows } = await db.pool.query<{ total: number; errors: number }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE status >= 500)::int AS errors FROM api_logs WHERE endpoint = '/api/chat' AND deployment_id <> 'dpl_history'`,
      );
      await db.pool.query(`DELETE FROM api_logs WHERE deployment_id <> 'dpl_history'`);
      return { ...rows[0], percent: (100 * rows[0].errors) / rows[0].total };
    };
    try {
      sandbox.providers.set('openai', { indicator: 'major' });
      await traffic.write(1_500);
      const down = await chats();
      // About 69 % of chats go to OpenAI models.
      expect(down.percent).toBeGreaterThan(55);
      expect(down.percent).toBeLessThan(85);
      const { rows } = await db.pool.query(
        `SELECT error, count(*)::int AS n FROM javari_messages WHERE role = 'assistant' AND error IS NOT NULL AND provider = 'openai' AND created_at > now() - interval '1 minute' GROUP BY 1 ORDER BY 2 DESC`,
      );
      expect(rows[0]).toEqual({ error: 'openai: 503 Service Unavailable', n: expect.any(Number) });
      expect(rows[0].n).toBeGreaterThan(200);

      const res = await fetch(`${sandbox.baseUrls.vercel}/v10/projects/${project.id}/env`, {
        method: 'POST',
        headers: { authorization: 'Bearer sandbox', 'content-type': 'application/json' },
        body: JSON.stringify({ key: 'FORCE_PROVIDER', value: 'anthropic', type: 'plain', target: ['production'] }),
      });
      expect(res.status).toBeLessThan(300);
      await traffic.write(1_500, new Date(Date.now() + 60_000)); // a minute ahead, to tell these rows apart
      expect((await chats()).percent).toBeLessThan(1);
      const { rows: providers } = await db.pool.query(
        `SELECT DISTINCT provider FROM javari_messages WHERE role = 'assistant' AND created_at > now() + interval '30 seconds'`,
      );
      expect(providers).toEqual([{ provider: 'anthropic' }]);
    } finally {
      sandbox.providers.set('openai', { indicator: 'none' });
      await traffic.stop();
    }
  });

  it('javari-ai: a blocked user gets 403s within a minute, not 200s', async () => {
    const db = await appDatabase('blocked', JAVARI_DIR);
    sandbox.vercel.seedProject('crav-javari');
    await db.pool.query(`UPDATE users SET blocked = true, blocked_reason = 'Excessive usage - possible abuse'`);
    const traffic = trafficOn(db, javariAi, 'crav-javari', 8);
    try {
      await traffic.write(500);
      // Live rows only (the history's deployment is dpl_history); a 5xx comes before the 403 check.
      const { rows } = await db.pool.query(
        `SELECT count(*) FILTER (WHERE status = 403)::int AS blocked, count(*) FILTER (WHERE status < 500)::int AS total FROM api_logs WHERE deployment_id <> 'dpl_history'`,
      );
      expect(rows[0].total).toBeGreaterThan(300);
      expect(rows[0].blocked).toBe(rows[0].total);
    } finally {
      await traffic.stop();
    }
  });

  it('ai-query-hub: Edge Function calls follow the Netlify production deploy, and nothing is written while nothing serves', async () => {
    const db = await appDatabase('hubtraffic', HUB_DIR);
    sandbox.netlify.seedSite('aiqueryhub-site');
    const id = sandbox.apps.production('aiqueryhub-site')!.current!;
    const traffic = trafficOn(db, aiQueryHub, 'aiqueryhub-site', 9);
    try {
      sandbox.apps.degrade(id, { status500: true });
      await traffic.write(300);
      const down = await errorShare(db, 'ai_query_logs', id, 'latency_ms');
      expect(down.total).toBeGreaterThan(200);
      expect(down.percent).toBe(100);
      const none = trafficOn(db, aiQueryHub, 'no-such-site', 9);
      expect(await none.write(100)).toBe(0);
      await none.stop();
    } finally {
      sandbox.apps.restore(id);
      await traffic.stop();
    }
  });

  it('the timer writes at the configured rate', async () => {
    const db = await appDatabase('rate', JAVARI_DIR, 1);
    sandbox.vercel.seedProject('crav-javari');
    const traffic = startTraffic({
      url: db.url,
      app: javariAi,
      projectId: 'crav-javari',
      sandbox: sandbox.apps,
      rps: 50,
      tickMs: 100,
      seed: 10,
    });
    await new Promise((r) => setTimeout(r, 2_000));
    await traffic.stop();
    const n = traffic.written().api_logs ?? 0;
    // 50 requests/s for ~2 s, minus the sign-ins that go to the auth log instead.
    expect(n).toBeGreaterThan(50);
    expect(n).toBeLessThan(130);
  });
});

import path from 'node:path';
import { Client as PgClient } from 'pg';
import { createActivities } from '../../src/activities';
import type { RunbookConfig } from '../../src/config/schema';
import { createPlatformClients } from '../../src/platforms';
import { startSandbox, seedFromConfig, type Sandbox } from '../../src/sandbox';
import { prepareAppDatabase } from '../../src/stack/app-databases';
import { scratchDatabase, testConfig, testDeps, withSandboxPlatforms, type ScratchDatabase } from '../harness';

/**
 * The troubleshooting guide's Diagnosis per symptom, against the sample apps' databases (examples/javari-ai,
 * examples/ai-query-hub) and the sandbox: sign-in, chat failures, AI usage and abuse, lock contention, the
 * error trend, and the platforms' status pages. Each test writes rows that make the look find something, and
 * checks it also reports the quiet case.
 */
const ROOT = path.join(__dirname, '..', '..');
const USER_A = '00000000-0000-4000-8000-00000000000a';
const USER_B = '00000000-0000-4000-8000-00000000000b';

interface World {
  config: RunbookConfig;
  app: ScratchDatabase;
  sandbox: Sandbox;
  act: ReturnType<typeof createActivities>;
}

async function world(example: 'vercel-supabase' | 'netlify-supabase', ops: ScratchDatabase): Promise<World> {
  const config = testConfig({}, example);
  const [app, sandbox] = await Promise.all([scratchDatabase(`diag_${example.split('-')[0]}`), startSandbox({ timing: 20 })]);
  app.pool.on('error', () => undefined);
  await prepareAppDatabase(app.url, path.resolve(ROOT, config.deploy.migrationsDir!), { historyDays: 0 });
  seedFromConfig(sandbox, config);
  const deps = withSandboxPlatforms(testDeps(config, ops, { app: app.url }), sandbox, { requestTimeoutMs: 3_000 });
  return { config: deps.config, app, sandbox, act: createActivities(deps) };
}

describe('diagnosis per symptom', () => {
  let ops: ScratchDatabase;
  let javari: World;
  let hub: World;

  beforeAll(async () => {
    ops = await scratchDatabase('diag_ops', { ops: true });
    [javari, hub] = await Promise.all([world('vercel-supabase', ops), world('netlify-supabase', ops)]);
    await javari.app.pool.query(`INSERT INTO users (id, email) VALUES ($1, 'a@example.com'), ($2, 'b@example.com')`, [USER_A, USER_B]);
  });
  afterAll(async () => {
    for (const w of [javari, hub]) {
      await w?.sandbox.stop();
      await w?.app.drop();
    }
    await ops?.drop();
  });

  it("users can't sign in: Supabase Auth health and the last hour's auth errors, rate limiting apart", async () => {
    let f = await javari.act.checkSignIn({ database: 'app' });
    expect(f).toMatchObject({ check: 'sign-in', ok: true, details: { authHealthy: true, authErrors: 0 } });
    expect(f.summary).toMatch(/Supabase Auth answers \(GoTrue/);

    const entry = (msg: string, at = 'now()') =>
      javari.app.pool.query(`INSERT INTO auth.audit_log_entries (id, error_msg, created_at) VALUES (gen_random_uuid(), $1, ${at})`, [msg]);
    for (let i = 0; i < 3; i++) await entry('email rate limit exceeded');
    await entry('Invalid login credentials');
    await entry('email rate limit exceeded', `now() - interval '2 hours'`);
    f = await javari.act.checkSignIn({ database: 'app' });
    expect(f).toMatchObject({ ok: false, details: { authHealthy: true, authErrors: 4, rateLimited: 3 } });

    // Auth itself down: the health call is what says so.
    javari.sandbox.supabase.setServiceHealth(javari.config.platforms.supabase.projectRef!, 'auth', 'UNHEALTHY');
    try {
      f = await javari.act.checkSignIn({ database: 'app' });
      expect(f).toMatchObject({ ok: false, details: { authHealthy: false } });
      expect(f.summary).toMatch(/Supabase Auth health fails/);
    } finally {
      javari.sandbox.supabase.setServiceHealth(javari.config.platforms.supabase.projectRef!, 'auth', 'ACTIVE_HEALTHY');
    }
  });

  it('chat not responding: failed answers of the last 10 minutes, by provider', async () => {
    expect(await javari.act.checkChatFailures({ database: 'app' })).toMatchObject({ ok: true, details: { failed: 0, total: 0 } });
    const conv = (await javari.app.pool.query(`INSERT INTO javari_conversations (user_id) VALUES ($1) RETURNING id`, [USER_B])).rows[0].id;
    const answer = (error: string | null, at = 'now()') =>
      javari.app.pool.query(
        `INSERT INTO javari_messages (conversation_id, user_id, role, provider, model, error, created_at) VALUES ($1, $2, 'assistant', 'openai', 'gpt-4o', $3, ${at})`,
        [conv, USER_B, error],
      );
    for (let i = 0; i < 3; i++) await answer(null);
    await answer('429 Rate limit reached for requests');
    await answer('429 Rate limit reached for requests');
    await answer('timeout', `now() - interval '20 minutes'`);
    const f = await javari.act.checkChatFailures({ database: 'app' });
    expect(f).toMatchObject({ check: 'chat-failures', ok: false, details: { failed: 2, total: 5 } });
    expect(f.summary).toMatch(/2 of 5 answer\(s\) failed.*openai gpt-4o 2×.*Rate limit reached/);
  });

  it("high AI costs: usage per user, the runbook's > 1000 messages a day, and cost per day — on both runbooks' tables", async () => {
    const conv = (await javari.app.pool.query(`INSERT INTO javari_conversations (user_id) VALUES ($1) RETURNING id`, [USER_A])).rows[0].id;
    const burst = (user: string, n: number, cost: number) =>
      javari.app.pool.query(
        `INSERT INTO javari_messages (conversation_id, user_id, role, tokens, cost) SELECT $1, $2, 'user', 100, $3 FROM generate_series(1, $4)`,
        [conv, user, cost, n],
      );
    await burst(USER_A, 1000, 0.01);
    let f = await javari.act.checkAiUsage({ database: 'app' });
    expect(f.details!.abusers).toEqual([]);
    await burst(USER_A, 1, 0.01);
    f = await javari.act.checkAiUsage({ database: 'app' });
    expect(f).toMatchObject({ check: 'ai-usage', ok: false });
    expect(f.details!.abusers).toEqual([{ userId: USER_A, messages: 1001, cost: 10.01 }]);
    expect((f.details!.topUsers as { userId: string }[])[0].userId).toBe(USER_A);

    // The second runbook's Edge Function log (ai_query_logs): cost per day above the daily limit.
    await hub.app.pool.query(
      `INSERT INTO ai_query_logs (user_id, function_name, status, latency_ms, tokens, cost, created_at)
       SELECT $1, 'ai-query', 200, 900, 2000, 1.5, now() - interval '1 minute' FROM generate_series(1, 80)`,
      [USER_B],
    );
    f = await hub.act.checkAiUsage({ database: 'app' });
    expect(f).toMatchObject({ ok: false, details: { abusers: [] } });
    expect((f.details!.costPerDay as { cost: number }[])[0].cost).toBe(120);
    expect(f.summary).toMatch(/above \$100\/day/);
  });

  it('chat not responding: each provider key tried, invalid and rate-limited told apart, the budget read from the headers', async () => {
    let f = await javari.act.checkProviderKeys();
    expect(f).toMatchObject({ check: 'provider-keys', ok: true, details: { invalid: [], rateLimited: [] } });
    expect(f.summary).toBe('openai key valid (200, 4999/5000 requests left), anthropic key valid (200, 4999/5000 requests left)');
    javari.sandbox.providers.setApi('openai', { keyValid: false });
    javari.sandbox.providers.setApi('anthropic', { remainingRequests: 0 });
    f = await javari.act.checkProviderKeys();
    expect(f).toMatchObject({ ok: false, details: { invalid: ['openai'], rateLimited: ['anthropic'] } });
    expect(f.summary).toMatch(/openai key invalid \(401\), anthropic key rate-limited \(429, 0\/5000 requests left\)/);
    // The key went as each provider expects it, and never into the finding.
    const calls = javari.sandbox.calls({ vendor: 'ai' });
    expect(calls.find((c) => c.path === '/openai/v1/models')!.headers.authorization).toBe('[redacted]');
    expect(calls.find((c) => c.path === '/anthropic/v1/models')!.headers['x-api-key']).toBe('[redacted]');
    expect(JSON.stringify(f)).not.toMatch(/sandbox-openai_api_key|sandbox-anthropic_api_key/);
    // No key in the environment: said so, nothing sent.
    const bare = createActivities({
      ...testDeps(javari.config, ops, { app: javari.app.url }),
      env: {},
      platforms: createPlatformClients(javari.config, {}),
    });
    f = await bare.checkProviderKeys();
    expect(f).toMatchObject({ ok: false, details: { invalid: ['openai', 'anthropic'] } });
    expect(f.summary).toMatch(/openai key missing \(OPENAI_API_KEY is not set\)/);
  });

  it('database performance: a waiting lock and the session that blocks it', async () => {
    expect(await javari.act.checkLockContention({ database: 'app' })).toMatchObject({ ok: true, summary: 'no waiting locks' });
    const holder = new PgClient({ connectionString: javari.app.url });
    const waiter = new PgClient({ connectionString: javari.app.url });
    for (const c of [holder, waiter]) {
      c.on('error', () => undefined);
      await c.connect();
    }
    const pid = async (c: PgClient) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const [holderPid, waiterPid] = [await pid(holder), await pid(waiter)];
    try {
      await holder.query('BEGIN');
      await holder.query(`UPDATE users SET credits = credits + 1 WHERE id = $1`, [USER_A]);
      const waiting = waiter.query(`UPDATE users SET credits = credits + 1 WHERE id = $1`, [USER_A]).catch(() => undefined);
      let f = await javari.act.checkLockContention({ database: 'app' });
      for (let i = 0; i < 50 && f.ok; i++) {
        await new Promise((r) => setTimeout(r, 100));
        f = await javari.act.checkLockContention({ database: 'app' });
      }
      expect(f.ok).toBe(false);
      expect(f.details!.waiting).toEqual([expect.objectContaining({ pid: waiterPid, blockedBy: [holderPid] })]);
      expect(f.details!.blockers).toEqual([holderPid]);
      expect(f.details!.blockerQueries).toEqual([expect.stringMatching(/UPDATE users SET credits/)]);
      await holder.query('ROLLBACK');
      await waiting;
    } finally {
      await holder.end();
      await waiter.end();
    }
  });

  it('high error rate: error types of the hour and the trend against the hours before, from api_logs', async () => {
    let f = await javari.act.checkErrorTrend({ database: 'app' });
    expect(f).toMatchObject({ check: 'error-trend', ok: true, details: { table: 'api_logs', currentRate: 0 } });
    const logs = (n: number, status: number, minutesAgo: number, endpoint = '/api/chat', error: string | null = null) =>
      javari.app.pool.query(
        `INSERT INTO api_logs (endpoint, status, latency, error, created_at)
         SELECT $1, $2, 120, $3, now() - make_interval(mins => $4) FROM generate_series(1, $5)`,
        [endpoint, status, error, minutesAgo, n],
      );
    // Two earlier hours at 1 %, this hour at 20 % — mostly one endpoint timing out upstream.
    for (const minutesAgo of [90, 150]) {
      await logs(99, 200, minutesAgo);
      await logs(1, 500, minutesAgo);
    }
    await logs(80, 200, 10);
    await logs(15, 504, 5, '/api/chat', 'upstream timeout');
    await logs(5, 500, 5, '/api/conversations', 'null value in column');
    f = await javari.act.checkErrorTrend({ database: 'app' });
    expect(f).toMatchObject({ ok: false, details: { currentRate: 20, previousRate: 1, direction: 'increasing' } });
    expect((f.details!.types as { status: number; at: string; n: number }[])[0]).toMatchObject({ status: 504, at: '/api/chat', n: 15 });
    expect(f.summary).toMatch(/20\.0 % this hour, 1\.0 % .*increasing; 504 \/api\/chat ×15 \(upstream timeout\)/);
  });

  it('complete outage: Supabase, Vercel, Netlify status pages, and OpenRouter beside the AI providers', async () => {
    let f = await javari.act.checkPlatformStatus();
    expect(f).toMatchObject({ check: 'platform-status', ok: true, details: { degraded: [] } });
    expect(f.summary).toBe('supabase none, vercel none');
    javari.sandbox.providers.set('supabase', { indicator: 'major', description: 'Auth outage in us-east-1' });
    f = await javari.act.checkPlatformStatus();
    expect(f).toMatchObject({ ok: false, details: { degraded: ['supabase'] } });
    expect(f.summary).toMatch(/supabase major \(Auth outage in us-east-1\), vercel none/);

    hub.sandbox.providers.set('netlify', { indicator: 'minor' });
    hub.sandbox.providers.set('openrouter', { indicator: 'critical' });
    f = await hub.act.checkPlatformStatus();
    expect(f).toMatchObject({ ok: false, details: { degraded: ['netlify'] } });
    const providers = await hub.act.checkProviderStatus();
    expect(providers).toMatchObject({ ok: false, details: { down: ['openrouter'] } });
    expect(providers.summary).toMatch(/anthropic none, openrouter critical/);
    // Each page was read from the sandbox at the address the config names.
    const paths = hub.sandbox.calls({ vendor: 'status' }).map((c) => c.path);
    expect(paths).toEqual(
      expect.arrayContaining(['/supabase/api/v2/status.json', '/netlify/api/v2/status.json', '/openrouter/api/v2/status.json']),
    );
  });
});

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSecurityActivities } from '../../src/activities/incident/security';
import { createMaintenanceActivities } from '../../src/activities/maintenance';
import { startSandbox } from '../../src/sandbox';
import { securityDecisionUpdate, securityStatusQuery, type SecurityStatus } from '../../src/workflows/incident/security-contract';
import type { securityPlaybook } from '../../src/workflows';
import { uniqueName } from '../harness';
import { useStackWithWorker } from '../harness/fixtures';
import { storeDir } from '../backup/helpers';
import { alert, incidentConfig, incidentStack, key, raise, rejection, waitForState } from './helpers';

jest.setTimeout(120_000);

const examples = path.join(__dirname, '..', '..', 'examples');
/** Javari AI's schema (users, api_logs, javari_logs) and AI Query Hub's audit trail (audit_logs with addresses). */
const JAVARI_SCHEMA = readFileSync(path.join(examples, 'javari-ai', 'migrations', '2025-11-01-initial-schema.sql'), 'utf8');
const AUDIT_LOGS = /CREATE TABLE audit_logs \([\s\S]*?\n\);/.exec(
  readFileSync(path.join(examples, 'ai-query-hub', 'supabase', 'migrations', '20260105090000_initial_schema.sql'), 'utf8'),
)![0];

/** Second runbook, Emergency Procedures 2 (Security Incident), against the sample apps' tables and the sandbox. */
describe('security playbook', () => {
  const evidenceDir = storeDir('security');
  const base = incidentConfig();
  const config = {
    ...base,
    backup: { ...base.backup, store: { type: 'directory' as const, path: evidenceDir } },
    maintenance: {
      ...base.maintenance,
      cleanup: [
        { name: 'api-logs', database: 'app', table: 'api_logs', timestampColumn: 'created_at', olderThan: 36 * 3_600_000, batchSize: 100 },
      ],
    },
  };
  let mallory: string;
  /** A suspect Supabase Auth does not know (an account of the app alone): its ban stays a checklist item. */
  let trent: string;
  const ref = config.platforms.supabase.projectRef!;
  const t = useStackWithWorker(() => incidentStack(config), { workerPer: 'test' });

  beforeAll(async () => {
    await t.stack.app.pool.query(JAVARI_SCHEMA);
    await t.stack.app.pool.query(AUDIT_LOGS);
    const { rows } = await t.stack.app.pool.query<{ id: string }>(`
      INSERT INTO users (email, last_sign_in_at) VALUES ('mallory@example.com', now() - interval '5 minutes') RETURNING id`);
    mallory = rows[0].id;
    await t.stack.app.pool.query(`
      INSERT INTO users (email) SELECT 'user' || g || '@example.com' FROM generate_series(1, 4) g;
      INSERT INTO users (email) VALUES ('trent@example.com');
      -- The window (last 24 h): 40 requests, 10 of them mallory's; and 30 older ones the cleanup would delete.
      INSERT INTO api_logs (endpoint, status, latency, user_id, created_at)
        SELECT '/api/chat', 200, 50, CASE WHEN g <= 10 THEN '${mallory}'::uuid END, now() - g * interval '1 minute' FROM generate_series(1, 40) g;
      INSERT INTO api_logs (endpoint, status, latency, created_at) SELECT '/api/chat', 200, 50, now() - interval '2 days' FROM generate_series(1, 30);
      INSERT INTO javari_logs (user_id, action, created_at) SELECT '${mallory}'::uuid, 'export', now() - g * interval '1 minute' FROM generate_series(1, 5) g;
      INSERT INTO audit_logs (user_id, action_type, ip_address, created_at) VALUES
        ('${mallory}', 'sign_in', '203.0.113.7', now() - interval '5 minutes'),
        ('${mallory}', 'sign_in', '198.51.100.9', now() - interval '4 minutes'),
        (NULL, 'auth_failure', '203.0.113.7', now() - interval '6 minutes'),
        (NULL, 'sign_in', '192.0.2.1', now() - interval '3 minutes');
    `);
  });
  beforeAll(async () => {
    trent = (await t.stack.app.pool.query<{ id: string }>(`SELECT id FROM users WHERE email = 'trent@example.com'`)).rows[0].id;
    t.stack.sandbox.supabase.seedAuthUser(ref, { id: mallory, email: 'mallory@example.com' });
  });

  const cleanup = () =>
    new MockActivityEnvironment().run(createMaintenanceActivities(t.stack.deps).cleanupExpiredRows, {
      runKey: uniqueName('cleanup'),
      policy: 'api-logs',
    });
  /** The project's IP blocking rules, as the Vercel Firewall API reports them. */
  const firewallIps = async () => {
    const res = await fetch(`${t.stack.sandbox.url}/vercel/v1/security/firewall/config/active?projectId=crav-javari`, {
      headers: { authorization: 'Bearer sandbox' },
    });
    return ((await res.json()) as { ips: { id: string; ip: string; hostname: string; action: string; notes?: string }[] }).ips;
  };
  const count = async (sql: string) => (await t.stack.app.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`)).rows[0].n;

  async function waitForStage(handle: { query: (q: typeof securityStatusQuery) => Promise<SecurityStatus> }, stage: string) {
    let last: SecurityStatus | undefined;
    for (let i = 0; i < 300; i++) {
      last = await handle.query(securityStatusQuery).catch(() => undefined);
      if (last?.stage === stage) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`expected stage ${stage}; last status ${JSON.stringify(last, null, 2)}`);
  }

  it('scopes the suspects, preserves the window with its hash and holds the cleanup off it, blocks the accounts in users, bans them through the Supabase Auth admin API and denies the address through the Vercel Firewall API once approved (and undoes all three), and lists the console steps', async () => {
    await t.worker.run(async () => {
      const incident = await raise(t.worker.client, t.worker.taskQueue, [
        alert({ dedupKey: key('security'), severity: 'P0', summary: 'Suspicious sign-ins' }),
      ]);
      await waitForState(incident, (s) => s.escalation.pages.length > 0, 'the page');
      const handle = await t.worker.client.workflow.start<typeof securityPlaybook>('securityPlaybook', {
        taskQueue: t.worker.taskQueue,
        workflowId: uniqueName('security'),
        args: [
          {
            database: 'app',
            incidentId: incident.workflowId,
            userIds: [mallory, trent],
            ips: ['203.0.113.7'],
            tokens: [{ platform: 'vercel', name: 'ci-deploy' }],
            requestedBy: 'sam',
            reason: 'credential stuffing',
          },
        ],
      });
      const waiting = await waitForStage(handle, 'awaiting-approval');

      // Immediate assessment.
      expect(waiting.scope?.users).toHaveLength(2);
      expect(waiting.scope?.users).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id: mallory, email: 'mallory@example.com', blocked: false }),
          expect.objectContaining({ id: trent, email: 'trent@example.com', blocked: false }),
        ]),
      );
      expect(waiting.scope?.tables).toEqual([
        { table: 'api_logs', rows: 40, suspectRows: 10 },
        { table: 'javari_logs', rows: 5, suspectRows: 5 },
        { table: 'audit_logs', rows: 4, suspectRows: 3 },
      ]);
      expect(waiting.scope?.addresses).toEqual(['198.51.100.9', '203.0.113.7']);

      // Evidence: the window's rows, stored with the hash of exactly what was stored.
      const objects = waiting.evidence!.objects;
      expect(objects.map((o) => [o.table, o.rows])).toEqual([
        ['api_logs', 40],
        ['javari_logs', 5],
        ['audit_logs', 4],
      ]);
      for (const o of objects) {
        const stored = readFileSync(o.location, 'utf8');
        expect(createHash('sha256').update(stored).digest('hex')).toBe(o.sha256);
        expect(stored.trim().split('\n')).toHaveLength(o.rows);
      }
      expect(JSON.parse(readFileSync(waiting.evidence!.manifest, 'utf8')).objects).toEqual(objects);
      // …and the cleanup leaves the held table alone while the playbook is open.
      const held = await cleanup();
      expect(held).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/api_logs is held as evidence by incident-/) });
      expect(await count('api_logs')).toBe(70);

      // Nothing disabled or blocked before approval.
      expect(await count(`users WHERE blocked`)).toBe(0);
      expect(await firewallIps()).toEqual([]);
      expect(t.stack.sandbox.supabase.authUser(ref, mallory)?.banned_until).toBeNull();
      expect(t.stack.sandbox.calls({ vendor: 'supabase-project', method: 'PUT' })).toEqual([]);
      const approved = await handle.executeUpdate(securityDecisionUpdate, { args: [{ action: 'approve', by: 'sam' }] });
      expect(approved.accessControl).toBe('approved');
      const open = await waitForStage(handle, 'open');
      expect((await t.stack.app.pool.query('SELECT blocked, blocked_reason FROM users WHERE id = $1', [mallory])).rows[0]).toEqual({
        blocked: true,
        blocked_reason: `security incident ${incident.workflowId}: credential stuffing`,
      });
      expect(await count(`users WHERE blocked`)).toBe(2);
      // Supabase Auth: mallory banned through the admin API (a century: until someone lifts it), so no session survives.
      const bannedUntil = Date.parse(t.stack.sandbox.supabase.authUser(ref, mallory)!.banned_until!);
      expect(bannedUntil).toBeGreaterThan(Date.now() + 99 * 365 * 86_400_000);
      expect(open.authBanned).toEqual([{ userId: mallory, bannedUntil: expect.any(String) }]);
      // Containment through the Vercel Firewall API: one deny rule for the address, on every hostname.
      expect(await firewallIps()).toEqual([
        expect.objectContaining({ ip: '203.0.113.7', hostname: '*', action: 'deny', notes: expect.stringMatching(/credential stuffing/) }),
      ]);
      expect(open.blocked).toEqual({ service: 'javari-web', rules: [{ ip: '203.0.113.7', ruleId: (await firewallIps())[0].id }] });
      expect(open.checklist).toEqual([
        'revoke vercel token: Vercel dashboard → Account Settings → Tokens → delete "ci-deploy"',
        `end the Supabase Auth sessions of trent@example.com (Supabase Auth does not know this id): Supabase dashboard → Authentication → Users → ${trent} → Ban user`,
        'review the other addresses the suspects used: 198.51.100.9',
      ]);
      // The security contacts hear of it in chat: the approval asked for, then the summary with the checklist.
      const chats = t.stack.sandbox.calls({ vendor: 'slack', method: 'POST' }).map((c) => JSON.stringify(c.body));
      expect(chats.some((c) => c.includes('and deny 203.0.113.7 in the Vercel Firewall of javari-web?'))).toBe(true);
      expect(chats.some((c) => c.includes('Tokens → delete \\"ci-deploy\\"'))).toBe(true);

      // Undo: the account as it was.
      expect(await rejection(handle.executeUpdate(securityDecisionUpdate, { args: [{ action: 'approve', by: 'sam' }] }))).toMatch(
        /nothing waits for approval/,
      );
      await handle.executeUpdate(securityDecisionUpdate, { args: [{ action: 'undo', by: 'sam' }] });
      expect((await t.stack.app.pool.query('SELECT blocked, blocked_reason FROM users WHERE id = $1', [mallory])).rows[0]).toEqual({
        blocked: false,
        blocked_reason: null,
      });
      expect(await count(`users WHERE blocked`)).toBe(0);
      expect(t.stack.sandbox.supabase.authUser(ref, mallory)?.banned_until).toBeNull();
      expect(await firewallIps()).toEqual([]);
      // The firewall changes, in order: the address denied once (after reading what was there), then removed.
      expect(
        t.stack.sandbox
          .calls({ vendor: 'vercel', method: 'PATCH', pathPrefix: '/v1/security/firewall/config' })
          .map((c) => `${(c.body as { action: string }).action} ${c.status}`),
      ).toEqual(['ip.insert 200', 'ip.remove 200']);
      // Every access-control call, in order: each suspect's Supabase Auth user read (trent unknown there: 404), the one
      // not banned yet banned, the address denied; then the undo lifts the ban it set and removes the rule.
      const who = (p: string) => (p.endsWith(mallory) ? 'mallory' : p.endsWith(trent) ? 'trent' : p);
      expect(
        t.stack.sandbox
          .calls()
          .filter(
            (c) =>
              (c.vendor === 'supabase-project' && c.path.includes('/auth/v1/admin/users/')) ||
              (c.vendor === 'vercel' && c.method === 'PATCH'),
          )
          .map((c) =>
            c.vendor === 'vercel'
              ? `firewall ${(c.body as { action: string }).action} ${c.status}`
              : `auth ${c.method} ${who(c.path)}${c.method === 'PUT' ? ` ban_duration=${(c.body as { ban_duration: string }).ban_duration}` : ''} ${c.status}`,
          ),
      ).toEqual([
        // (the suspects in the scope's order)
        ...open.scope!.users.map((u) => (u.id === mallory ? 'auth GET mallory 200' : 'auth GET trent 404')),
        'auth PUT mallory ban_duration=876000h 200',
        'firewall ip.insert 200',
        'auth PUT mallory ban_duration=none 200',
        'firewall ip.remove 200',
      ]);
      expect(t.stack.sandbox.calls({ vendor: 'supabase-project', method: 'PUT' }).map((c) => c.path)).toEqual([
        `/${ref}/auth/v1/admin/users/${mallory}`,
        `/${ref}/auth/v1/admin/users/${mallory}`,
      ]);

      // Closed: the hold is released and the cleanup deletes the old rows again (never the window's).
      const closed = await handle.executeUpdate(securityDecisionUpdate, { args: [{ action: 'close', by: 'sam' }] });
      expect(closed.stage).toBe('closed');
      expect(await cleanup()).toMatchObject({ status: 'ok' });
      expect(await count('api_logs')).toBe(40);

      // The incident's timeline, in order (the close note follows the update's answer: the playbook's last step).
      const closedState = await waitForState(
        incident,
        (st) => st.timeline.some((e) => e.kind === 'note' && e.text.startsWith('Security playbook, close')),
        'the close note',
      );
      const notes = closedState.timeline
        .filter((e) => e.kind === 'note' && e.by === 'runbook')
        .map((e) => e.text.replace(/^Security playbook, /, '').split(':')[0]);
      expect(notes).toEqual(['scope', 'evidence', 'access-control', 'containment', 'notify', 'access-control', 'close']);
      await incident.terminate('test over');
    });
  });

  it('reads Supabase Auth before banning: an account banned already is reported (so the undo leaves it banned); with no project URL nothing is called', async () => {
    // (inside the worker's run: the suite's worker is closed after each test)
    await t.worker.run(async () => {
      const carol = '5d7c2f1a-0b3e-4c55-8a1d-2f6e9b0c4d21';
      t.stack.sandbox.supabase.seedAuthUser(ref, { id: carol, email: 'carol@example.com' });
      const activities = createSecurityActivities(t.stack.deps);
      const env = new MockActivityEnvironment();
      await env.run(activities.setAuthBans, { userIds: [carol], banDuration: '24h' });
      expect(await env.run(activities.readAuthBans, { userIds: [carol, mallory, '00000000-0000-0000-0000-000000000000'] })).toEqual({
        configured: true,
        banned: [carol],
        notFound: ['00000000-0000-0000-0000-000000000000'],
      });

      const supabase = { ...t.stack.deps.config.platforms.supabase, projectUrl: undefined };
      const deps = { ...t.stack.deps, config: { ...t.stack.deps.config, platforms: { ...t.stack.deps.config.platforms, supabase } } };
      t.stack.sandbox.clearCalls();
      expect(await env.run(createSecurityActivities(deps).readAuthBans, { userIds: [mallory] })).toEqual({
        configured: false,
        banned: [],
        notFound: [],
      });
      expect(t.stack.sandbox.calls({ vendor: 'supabase-project' })).toEqual([]);
    });
  });

  it('refuses a start that names no suspect, before anything runs', async () => {
    await t.worker.run(async () => {
      const workflowId = uniqueName('security');
      await expect(
        t.worker.client.workflow.execute<typeof securityPlaybook>('securityPlaybook', {
          taskQueue: t.worker.taskQueue,
          workflowId,
          args: [{ database: 'app', requestedBy: 'sam', reason: 'x' }],
        }),
      ).rejects.toMatchObject({ cause: { message: expect.stringMatching(/userIds: name at least one suspect/) } });
      expect(await t.stack.ops.pool.query('SELECT count(*)::int AS n FROM evidence_holds WHERE hold_id = $1', [workflowId])).toMatchObject({
        rows: [{ n: 0 }],
      });
    });
  });
});

/** The sandbox's Supabase Auth admin API, as GoTrue's contract has it; its users and their bans outlive a restart. */
describe('sandbox Supabase Auth admin API', () => {
  it('wants the key as apikey and bearer token, refuses a malformed ban_duration, answers 404 for an unknown user, and keeps the ban across a restart', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-sandbox-auth-'));
    const ref = 'abcdefghijklmnopqrst';
    const id = '7b0c5b2e-61a7-4c0e-9c43-0d2b8e3c1f11';
    try {
      const first = await startSandbox({ timing: 5, dataDir: dir });
      first.supabase.seedProject(ref);
      first.supabase.seedAuthUser(ref, { id, email: 'eve@example.com' });
      const put = (userId: string, body: unknown, headers: Record<string, string>) =>
        fetch(`${first.baseUrls.supabaseProject}/${ref}/auth/v1/admin/users/${userId}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const key = { apikey: 'service-role', authorization: 'Bearer service-role' };
      expect((await put(id, { ban_duration: '24h' }, { apikey: 'service-role' })).status).toBe(401);
      expect((await put(id, { ban_duration: '24h' }, { authorization: 'Bearer service-role' })).status).toBe(401);
      const bad = await put(id, { ban_duration: '100 years' }, key);
      expect([bad.status, ((await bad.json()) as { error_code: string }).error_code]).toEqual([400, 'validation_failed']);
      const unknown = await put('00000000-0000-0000-0000-000000000000', { ban_duration: '24h' }, key);
      expect([unknown.status, await unknown.json()]).toEqual([404, expect.objectContaining({ error_code: 'user_not_found' })]);
      expect(first.supabase.authUser(ref, id)?.banned_until).toBeNull();
      const banned = await put(id, { ban_duration: '2h30m' }, key);
      expect(banned.status).toBe(200);
      const user = (await banned.json()) as { id: string; email: string; banned_until: string };
      expect(user).toMatchObject({ id, email: 'eve@example.com' });
      expect(Date.parse(user.banned_until) - Date.now()).toBeGreaterThan(2.4 * 3_600_000);
      expect(Date.parse(user.banned_until) - Date.now()).toBeLessThanOrEqual(2.5 * 3_600_000);
      expect(first.calls({ vendor: 'supabase-project', method: 'PUT' }).map((c) => c.status)).toEqual([401, 401, 400, 404, 200]);
      await first.stop();

      const second = await startSandbox({ timing: 5, dataDir: dir });
      try {
        expect(second.supabase.authUser(ref, id)?.banned_until).toBe(user.banned_until);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

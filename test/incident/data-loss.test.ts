import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { confirmRestoreUpdate, restoreStatusQuery, type BackupInput, type BackupResult } from '../../src/workflows/backup/contract';
import { incidentStateQuery } from '../../src/workflows/incident/contract';
import {
  approveRecoveryUpdate,
  dataLossStatusQuery,
  type DataLossInput,
  type DataLossStatus,
} from '../../src/workflows/incident/data-loss-contract';
import type { dataLossPlaybook } from '../../src/workflows';
import { startTestWorker, testEnv, timeSkippingEnv, uniqueName, type TestWorker } from '../harness';
import { storeDir } from '../backup/helpers';
import { alert, incidentConfig, incidentStack, key, raise, rejection, waitForState, type IncidentStack } from './helpers';

jest.setTimeout(180_000);

/** The Javari AI sample app's schema, as its migration creates it. */
const JAVARI_SCHEMA = readFileSync(
  path.join(__dirname, '..', '..', 'examples', 'javari-ai', 'migrations', '2025-11-01-initial-schema.sql'),
  'utf8',
);

/**
 * Second runbook, Emergency Procedures 3 (Data Loss Event): against the sample app's real schema in PostgreSQL, real
 * pg_dump/pg_restore backups and the sandbox's Vercel, Supabase, chat and status page.
 */
describe('data-loss playbook', () => {
  let stack: IncidentStack;
  let worker: TestWorker;
  const base = incidentConfig();
  const config = {
    ...base,
    deploy: { ...base.deploy, pollInterval: 100 },
    backup: { ...base.backup, store: { type: 'directory' as const, path: storeDir('data-loss') } },
  };

  /** The app's own login (not a superuser: the runbook never terminates a superuser's session). */
  const role = uniqueName('app_writer');
  let appUrl: string;

  beforeAll(async () => {
    stack = await incidentStack(config);
    await stack.app.pool.query(JAVARI_SCHEMA);
    await stack.app.pool.query(
      `CREATE ROLE ${role} LOGIN PASSWORD 'x'; GRANT CONNECT ON DATABASE ${stack.app.name} TO ${role};
       GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`,
    );
    const url = new URL(stack.app.url);
    url.username = role;
    url.password = 'x';
    appUrl = url.toString();
  });
  beforeEach(async () => {
    worker = await startTestWorker({ deps: stack.deps });
    stack.sandbox.clearCalls();
    // The app as people used it: 20 users, their conversations, 300 messages, 30 summaries.
    await stack.app.pool.query(`
      TRUNCATE users, javari_conversations, javari_messages, javari_conversation_summaries CASCADE;
      INSERT INTO users (email, full_name) SELECT 'user' || g || '@example.com', 'User ' || g FROM generate_series(1, 20) g;
      INSERT INTO javari_conversations (user_id, title) SELECT id, 'chat of ' || email FROM users, generate_series(1, 2);
      INSERT INTO javari_messages (conversation_id, user_id, role, content, tokens, cost)
        SELECT c.id, c.user_id, CASE WHEN g % 2 = 0 THEN 'assistant' ELSE 'user' END, 'message ' || g, g, g / 1000.0
        FROM javari_conversations c, generate_series(1, 300 / 40 + 1) g LIMIT 300;
      INSERT INTO javari_conversation_summaries (conversation_id, summary) SELECT id, 'summary' FROM javari_conversations LIMIT 30;
    `);
  });
  afterEach(async () => {
    await worker?.close();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const envOf = (k: string) =>
    stack.sandbox.state
      .snapshot()
      .vercel.projects.find((p) => p.name === 'crav-javari')!
      .envs.find((e) => e.key === k && e.target.includes('production'))?.value;

  /** Every row of the damaged tables, as text keyed by table: what a recovery must bring back. */
  async function rowsOf(tables: string[]): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const t of tables) {
      const { rows } = await stack.app.pool.query<{ r: string }>(`SELECT t::text AS r FROM ${t} t ORDER BY 1`);
      out[t] = rows.map((x) => x.r);
    }
    return out;
  }
  const TABLES = ['users', 'javari_conversations', 'javari_messages', 'javari_conversation_summaries'];

  async function verifiedBackup(): Promise<BackupResult> {
    const b = await worker.client.workflow.execute('backup', {
      taskQueue: worker.taskQueue,
      workflowId: uniqueName('backup-app'),
      args: [{ database: 'app', trigger: 'manual', requestedBy: 'jest', verify: true } satisfies BackupInput],
    });
    expect((b as BackupResult).verified?.ok).toBe(true);
    return b as BackupResult;
  }

  /** The damage: committed deletes (two users with everything they own, every third message) and a session still deleting. */
  async function damage(): Promise<{ session: PgClient; pid: number }> {
    await stack.app.pool.query(`
      DELETE FROM users WHERE email IN ('user3@example.com', 'user7@example.com');
      DELETE FROM javari_messages WHERE id % 3 = 0 AND content IS DISTINCT FROM 'written after the backup';
    `);
    const session = new PgClient({ connectionString: appUrl, application_name: 'cleanup-script' });
    session.on('error', () => undefined);
    await session.connect();
    const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await session.query('BEGIN');
    await session.query('DELETE FROM javari_conversation_summaries');
    return { session, pid };
  }

  async function waitForStage(handle: { query: (q: typeof dataLossStatusQuery) => Promise<DataLossStatus> }, stage: string) {
    let last: DataLossStatus | undefined;
    for (let i = 0; i < 600; i++) {
      last = await handle.query(dataLossStatusQuery).catch(() => undefined);
      if (last?.stage === stage) return last;
      if (last?.stage === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`expected stage ${stage}; last status ${JSON.stringify(last, null, 2)}`);
  }

  it('stops the damage, finds the lost rows against the verified backup, copies them back by primary key once approved, and tells the incident', async () => {
    await worker.run(async () => {
      const incident = await raise(worker.client, worker.taskQueue, [
        alert({ dedupKey: key('data-loss'), severity: 'P1', summary: 'Rows missing from javari_messages' }),
      ]);
      await waitForState(incident, (s) => s.escalation.pages.length === 1, 'the page');
      const backup = await verifiedBackup();
      const before = await rowsOf(TABLES);
      // Written after the backup and never deleted: a copy-back must leave it, a full restore would lose it.
      await stack.app.pool.query(
        `INSERT INTO javari_messages (conversation_id, user_id, role, content)
         SELECT c.id, c.user_id, 'user', 'written after the backup' FROM javari_conversations c JOIN users u ON u.id = c.user_id
         WHERE u.email NOT IN ('user3@example.com', 'user7@example.com') ORDER BY c.id LIMIT 1`,
      );
      const later = (await stack.app.pool.query(`SELECT id FROM javari_messages WHERE content = 'written after the backup'`)).rows[0]
        .id as string;
      const { session, pid } = await damage();
      stack.sandbox.clearCalls();

      const handle = await worker.client.workflow.start<typeof dataLossPlaybook>('dataLossPlaybook', {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('data-loss'),
        args: [{ database: 'app', incidentId: incident.workflowId, requestedBy: 'dana', reason: 'a cleanup script deleted rows' }],
      });
      const plan = await waitForStage(handle, 'awaiting-approval');
      await session.end().catch(() => undefined);

      // Stop further damage: read-only mode on, the deleting session terminated (its DELETE rolled back).
      expect(envOf('READ_ONLY_MODE')).toBe('true');
      expect(plan.terminated.map((t) => t.pid)).toEqual([pid]);
      expect(plan.terminated[0].query).toMatch(/DELETE FROM javari_conversation_summaries/);
      // Assess: exactly the tables that lost rows, against the backup just taken.
      expect(plan.backup?.backupId).toBe(backup.backupId);
      // (the two users' conversations and summaries went with them: ON DELETE CASCADE; the terminated DELETE rolled back)
      expect(plan.lost.map((t) => t.table).sort()).toEqual([
        'public.javari_conversation_summaries',
        'public.javari_conversations',
        'public.javari_messages',
        'public.users',
      ]);
      const users = plan.lost.find((t) => t.table === 'public.users')!;
      expect(users).toEqual({ table: 'public.users', backupRows: 20, liveRows: 18 });
      expect(plan.options.map((o) => o.option)).toEqual(expect.arrayContaining(['copy-back', 'full-restore']));
      // Nothing restored before approval.
      expect((await stack.app.pool.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(18);

      // An option the plan does not offer is refused, naming why.
      expect(await rejection(handle.executeUpdate(approveRecoveryUpdate, { args: [{ option: 'pitr', by: 'dana' }] }))).toMatch(
        /option: pitr is not available \(the time of the event is not known/,
      );

      const approved = await handle.executeUpdate(approveRecoveryUpdate, { args: [{ option: 'copy-back', by: 'dana' }] });
      expect(approved.chosen).toEqual({ option: 'copy-back', by: 'dana' });
      const done = await handle.result();
      expect(done.stage).toBe('completed');
      expect(done.stillMissing).toEqual([]);

      // The lost rows are back, identical; the row written after the backup is still there.
      const after = await rowsOf(TABLES);
      const withoutLater = {
        ...after,
        javari_messages: after.javari_messages.filter((r) => !r.startsWith(`(${later},`)),
      };
      expect(withoutLater).toEqual(before);
      expect(after.javari_messages).toHaveLength(before.javari_messages.length + 1);
      const copied = Object.fromEntries(done.copied!.tables.map((t) => [t.table, t.inserted]));
      expect(copied['users']).toBe(2);
      // Parents before children, so every foreign key held.
      expect(done.copied!.tables.map((t) => t.table).slice(0, 2)).toEqual(['users', 'javari_conversations']);
      // Identity sequences moved past the copied keys: the app can insert again.
      await stack.app.pool.query(
        `INSERT INTO javari_messages (conversation_id, user_id, role) SELECT id, user_id, 'user' FROM javari_conversations LIMIT 1`,
      );
      // Read-only lifted once verified (it was unset before: unset reads as empty).
      expect(envOf('READ_ONLY_MODE')).toBe('');

      // The platform calls, in order: read-only on and a production build; read-only off and a build; then the status page.
      const calls = stack.sandbox
        .calls()
        .filter((c) => c.status !== undefined && c.status < 300)
        .filter(
          (c) =>
            (c.vendor === 'vercel' && c.method === 'POST' && (c.path.includes('/env') || c.path === '/v13/deployments')) ||
            (c.vendor === 'statuspage' && c.method !== 'GET'),
        )
        .map((c) =>
          c.vendor === 'statuspage'
            ? `statuspage ${c.method}`
            : c.path.includes('/env')
              ? `env READ_ONLY_MODE=${(c.body as { value: string }).value}`
              : 'production build',
        );
      expect(calls.filter((c) => !c.startsWith('statuspage')).join(' → ')).toBe(
        'env READ_ONLY_MODE=true → production build → env READ_ONLY_MODE= → production build',
      );
      expect(calls.at(-1)).toMatch(/^statuspage/);

      // The incident's timeline tells the story, in order.
      const state = await incident.query(incidentStateQuery);
      const notes = state.timeline.filter((e) => e.kind === 'note' && e.by === 'runbook').map((e) => e.text);
      const order = [
        /stop-damage: READ_ONLY_MODE=true on javari-web/,
        new RegExp(`stop-damage: terminated session ${pid} `),
        /assess: against verified backup .*public\.users lost 2 of 20 rows/,
        /plan: \(recommended\) copy-back/,
        /approval: copy-back approved by dana/,
        /recover: copied back 2 rows of users, /,
        /verify: every table holds at least the rows of backup/,
        /communicate: READ_ONLY_MODE removed on javari-web/,
        /communicate: app recovered by copy-back \(approved by dana\)/,
      ];
      let at = -1;
      for (const re of order) {
        const i = notes.findIndex((n, j) => j > at && re.test(n));
        if (i < 0) throw new Error(`no note ${re} after position ${at} in:\n${notes.join('\n')}`);
        at = i;
      }
      await incident.terminate('test over');
    });
  });

  it('a full restore goes through the backup capability’s guarded restore: its typed confirmation, its pre-restore backup', async () => {
    await worker.run(async () => {
      const backup = await verifiedBackup();
      const before = await rowsOf(TABLES);
      const { session } = await damage();
      const handle = await worker.client.workflow.start<typeof dataLossPlaybook>('dataLossPlaybook', {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('data-loss'),
        args: [{ database: 'app', readOnly: false, requestedBy: 'dana', reason: 'rows deleted' } satisfies DataLossInput],
      });
      await waitForStage(handle, 'awaiting-approval');
      await session.end().catch(() => undefined);
      await handle.executeUpdate(approveRecoveryUpdate, { args: [{ option: 'full-restore', by: 'dana' }] });
      const running = await waitForStage(handle, 'recovering');
      // The restore waits for its own confirmation (the database's name), as `runbook restore` does.
      let restoreId = running.restoreWorkflowId;
      for (let i = 0; !restoreId && i < 100; i++) {
        await new Promise((r) => setTimeout(r, 100));
        restoreId = (await handle.query(dataLossStatusQuery)).restoreWorkflowId;
      }
      const restore = worker.client.workflow.getHandle(restoreId!);
      let status = await restore.query(restoreStatusQuery);
      for (let i = 0; status.stage !== 'awaiting-confirmation' && i < 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await restore.query(restoreStatusQuery);
      }
      expect(status.plan?.backupId).toBe(backup.backupId);
      await restore.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: status.plan!.confirmName, by: 'dana' }] });
      const done = await handle.result();
      expect(done).toMatchObject({ stage: 'completed', chosen: { option: 'full-restore', by: 'dana' }, stillMissing: [] });
      expect(await rowsOf(TABLES)).toEqual(before);
      expect(done.steps.map((s) => s.step)).toEqual([
        'stop-damage',
        'stop-damage',
        'assess',
        'plan',
        'approval',
        'recover',
        'recover',
        'verify',
        'communicate',
      ]);
      // No read-only switch was asked for: no environment change, no build.
      expect(stack.sandbox.calls({ vendor: 'vercel', method: 'POST' }).filter((c) => c.path.includes('/env'))).toHaveLength(0);
    });
  });

  it('PITR: approved, the child pitrRestore confirmed by the project ref, Supabase asked once for one second before the event, then verified and told', async () => {
    await worker.run(async () => {
      const incident = await raise(worker.client, worker.taskQueue, [
        alert({ dedupKey: key('data-loss-pitr'), severity: 'P1', summary: 'Rows missing from users' }),
      ]);
      await waitForState(incident, (s) => s.escalation.pages.length === 1, 'the page');
      await verifiedBackup();
      const before = await rowsOf(TABLES);
      // What Supabase's restore brings back: the embedded database stands in for the project, so the test keeps a copy.
      await stack.app.pool.query(TABLES.map((t) => `DROP TABLE IF EXISTS pitr_${t}; CREATE TABLE pitr_${t} AS TABLE ${t};`).join('\n'));
      // The event comes after the backup was verified (the assessment compares with the newest verified before it).
      await new Promise((r) => setTimeout(r, 1_100));
      const eventAt = new Date();
      const { session } = await damage();
      const handle = await worker.client.workflow.start<typeof dataLossPlaybook>('dataLossPlaybook', {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('data-loss'),
        args: [
          {
            database: 'app',
            incidentId: incident.workflowId,
            eventAt: eventAt.toISOString(),
            pitrPollInterval: 100,
            requestedBy: 'dana',
            reason: 'a cleanup script deleted rows',
          } satisfies DataLossInput,
        ],
      });
      const plan = await waitForStage(handle, 'awaiting-approval');
      await session.end().catch(() => undefined);
      const ref = config.platforms.supabase.projectRef!;
      expect(plan.options[0]).toMatchObject({
        option: 'pitr',
        detail: expect.stringContaining(`project ${ref} to ${new Date(eventAt.getTime() - 1000).toISOString()}`),
      });

      await handle.executeUpdate(approveRecoveryUpdate, { args: [{ option: 'pitr', by: 'dana' }] });
      let restoreId: string | undefined;
      for (let i = 0; !restoreId && i < 200; i++) {
        restoreId = (await handle.query(dataLossStatusQuery)).restoreWorkflowId;
        if (!restoreId) await new Promise((r) => setTimeout(r, 100));
      }
      const restore = worker.client.workflow.getHandle(restoreId!);
      let status = await restore.query(restoreStatusQuery);
      for (let i = 0; status.stage !== 'awaiting-confirmation' && i < 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await restore.query(restoreStatusQuery);
      }
      expect(status.plan?.confirmName).toBe(ref);
      // Nothing asked of Supabase before the confirmation.
      expect(stack.sandbox.supabase.restores(ref)).toEqual([]);
      await restore.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: ref, by: 'dana' }] });
      // Supabase rolls the database back while the project is RESTORING.
      for (let i = 0; !stack.sandbox.supabase.restores(ref).length && i < 200; i++) await new Promise((r) => setTimeout(r, 50));
      for (const t of TABLES)
        await stack.app.pool.query(`INSERT INTO ${t} OVERRIDING SYSTEM VALUE SELECT * FROM pitr_${t} ON CONFLICT DO NOTHING`);

      const done = await handle.result();
      expect(done).toMatchObject({ stage: 'completed', chosen: { option: 'pitr', by: 'dana' }, stillMissing: [] });
      expect(await rowsOf(TABLES)).toEqual(before);
      // Supabase asked once, for one second before the event.
      const asked = stack.sandbox.calls({
        vendor: 'supabase',
        method: 'POST',
        pathPrefix: `/v1/projects/${ref}/database/backups/restore-pitr`,
      });
      expect(asked.map((c) => [c.status, c.body])).toEqual([
        [201, { recovery_time_target_unix: Math.floor(eventAt.getTime() / 1000) - 1 }],
      ]);
      // Then verified against the backup's manifest, and told: read-only lifted, the status page and chat.
      const steps = done.steps.map((s) => s.step);
      expect(steps.slice(steps.indexOf('plan'))).toEqual([
        'plan',
        'approval',
        'recover',
        'recover',
        'verify',
        'communicate',
        'communicate',
      ]);
      expect(done.steps.find((s) => s.step === 'verify')?.text).toMatch(/every table holds at least the rows of backup/);
      expect(done.steps.at(-1)?.text).toMatch(/app recovered by pitr \(approved by dana\)/);
      expect(stack.sandbox.calls({ vendor: 'statuspage' }).filter((c) => c.method !== 'GET').length).toBeGreaterThan(0);
      expect(
        stack.sandbox.calls({ vendor: 'slack', method: 'POST' }).some((c) => JSON.stringify(c.body).includes('recovered by pitr')),
      ).toBe(true);
      const notes = (await incident.query(incidentStateQuery)).timeline.filter((e) => e.kind === 'note' && e.by === 'runbook');
      expect(notes.some((n) => /recover: pitr .* completed \(confirmed by dana\)/.test(n.text))).toBe(true);
      await incident.terminate('test over');
    });
  });
});

describe('data-loss playbook with time skipped', () => {
  it('restores nothing when no one approves within the hour, and keeps the app read-only', async () => {
    const env = await timeSkippingEnv();
    const base = incidentConfig();
    const stack = await incidentStack({
      ...base,
      deploy: { ...base.deploy, pollInterval: 100 },
      backup: { ...base.backup, store: { type: 'directory', path: storeDir('data-loss-ts') } },
    });
    try {
      await stack.app.pool.query(JAVARI_SCHEMA);
      await stack.app.pool.query(`INSERT INTO users (email) SELECT 'u' || g || '@example.com' FROM generate_series(1, 10) g`);
      // The verified backup is taken on the run's real server (its dump and restore heartbeat in real time).
      const real = await startTestWorker({ deps: stack.deps });
      try {
        const b = await real.run(() =>
          real.client.workflow.execute('backup', {
            taskQueue: real.taskQueue,
            workflowId: uniqueName('backup-app'),
            args: [{ database: 'app', trigger: 'manual', requestedBy: 'jest', verify: true } satisfies BackupInput],
          }),
        );
        expect((b as BackupResult).verified?.ok).toBe(true);
      } finally {
        await real.close();
      }
      await stack.app.pool.query(`DELETE FROM users WHERE email LIKE 'u1%'`);

      const taskQueue = uniqueName('data-loss');
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: { codePath: testEnv.workflowBundle },
        activities: createActivities(stack.deps),
      });
      await worker.runUntil(async () => {
        const handle = await env.client.workflow.start<typeof dataLossPlaybook>('dataLossPlaybook', {
          taskQueue,
          workflowId: uniqueName('data-loss'),
          args: [{ database: 'app', requestedBy: 'dana', reason: 'rows deleted' }],
        });
        let st = await handle.query(dataLossStatusQuery).catch(() => undefined);
        for (let i = 0; st?.stage !== 'awaiting-approval' && i < 600; i++) {
          await new Promise((r) => setTimeout(r, 100));
          st = await handle.query(dataLossStatusQuery).catch(() => undefined);
        }
        expect(st?.lost).toEqual([{ table: 'public.users', backupRows: 10, liveRows: 8 }]);
        await env.sleep(59 * 60_000);
        expect((await handle.query(dataLossStatusQuery)).stage).toBe('awaiting-approval');
        await env.sleep(2 * 60_000);
        const done = await handle.result();
        expect(done.stage).toBe('not-approved');
        expect(done.steps.at(-1)?.text).toBe('no approval in time; nothing restored; javari-web stays read-only');
      });
      expect((await stack.app.pool.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(8);
      expect(
        stack.sandbox.state
          .snapshot()
          .vercel.projects.find((p) => p.name === 'crav-javari')!
          .envs.find((e) => e.key === 'READ_ONLY_MODE')?.value,
      ).toBe('true');
    } finally {
      await env.teardown();
      await stack.close();
    }
  });
});

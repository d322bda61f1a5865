import { existsSync, readFileSync } from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { backup, restore, verifyBackup } from '../../src/workflows';
import { confirmRestoreUpdate, restoreStatusQuery, type BackupManifest, type RestoreInput } from '../../src/workflows/backup/contract';
import { RunbookKind } from '../../src/workflows/common/search-attributes';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';
import type { ActivityDeps } from '../../src/activities';
import {
  expectRefusedInput,
  scratchDatabase,
  testClient,
  testDeps,
  uniqueName,
  withTestWorker,
  type ScratchDatabase,
  type TestWorker,
} from '../harness';
import { FIXTURE_COUNTS } from './fixture';
import { backupConfig, fixtureDatabase, scratchExists, statsOf, storeDir } from './helpers';

jest.setTimeout(120_000);

describe('backup → verify → restore on real PostgreSQL', () => {
  let ops: ScratchDatabase;
  let source: ScratchDatabase;
  let target: ScratchDatabase;
  let deps: ActivityDeps;
  let dir: string;
  /** A worker lives for one `run`; each step of a test gets its own on a fresh task queue. */
  const withWorker = <T>(fn: (w: TestWorker) => Promise<T>, opts: { alerts?: boolean } = {}): Promise<T> =>
    withTestWorker({ deps, raisesAlerts: opts.alerts }, fn);

  beforeAll(async () => {
    [ops, source, target] = await Promise.all([
      scratchDatabase('bk_ops', { ops: true }),
      fixtureDatabase('bk_src'),
      scratchDatabase('bk_dst'),
    ]);
    await target.pool.query("CREATE TABLE marker (note text); INSERT INTO marker VALUES ('before restore')");
    dir = storeDir('store');
    const config = backupConfig(['app', 'copy'], { store: { type: 'directory', path: dir } });
    deps = testDeps(config, ops, { app: source.url, copy: target.url });
  });
  afterAll(async () => {
    await Promise.all([ops?.drop(), source?.drop(), target?.drop()]);
  });

  it('backs up, verifies by a real restore, and restores into another database with identical rows', async () => {
    const backupWf = uniqueName('backup-app');
    const result = await withWorker((worker) =>
      worker.client.workflow.execute(backup, {
        taskQueue: worker.taskQueue,
        workflowId: backupWf,
        args: [{ database: 'app', trigger: 'manual', requestedBy: 'jest', verify: true }],
        typedSearchAttributes: [{ key: RunbookKind, value: 'backup' }],
      }),
    );

    // The archive and its manifest sit in the store; the manifest counts the fixture's rows.
    expect(result.backupId).toBe(backupWf);
    expect(existsSync(result.location)).toBe(true);
    expect(existsSync(`${result.location}.partial`)).toBe(false);
    const manifest = JSON.parse(readFileSync(result.location.replace(/\.dump\.(zst|gz)$/, '.manifest.json'), 'utf8')) as BackupManifest;
    expect(Object.fromEntries(manifest.tables.map((t) => [t.table, t.rows]))).toEqual(FIXTURE_COUNTS);
    expect(manifest.sha256).toBe(result.sha256);
    expect(manifest.tables.find((t) => t.table === 'app.events')?.md5).toBeUndefined(); // no primary key
    expect(manifest.tables.find((t) => t.table === 'app.users')?.md5).toMatch(/^[0-9a-f]{32}$/);
    expect(result.verified?.ok).toBe(true);
    expect(result.verified?.checks.map((c) => c.name)).toEqual(['sha256', 'archive', 'restore', 'row-counts', 'md5', 'amcheck']);
    expect(await scratchExists(`verify-${backupWf}`)).toBe(false);

    const { rows: catalogued } = await ops.pool.query(
      'SELECT status, verification_status, size_bytes, trigger FROM backups WHERE id = $1',
      [backupWf],
    );
    expect(catalogued).toEqual([
      { status: 'completed', verification_status: 'passed', size_bytes: String(result.sizeBytes), trigger: 'manual' },
    ]);

    // Restore into the second database, confirmed with its real name.
    const restoreWf = uniqueName('restore-copy');
    const restored = await withWorker(async (worker) => {
      const handle = await worker.client.workflow.start(restore, {
        taskQueue: worker.taskQueue,
        workflowId: restoreWf,
        args: [{ into: 'copy', backupId: result.backupId, requestedBy: 'jest' } satisfies RestoreInput],
      });
      await waitForStage(handle, 'awaiting-confirmation');
      await handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: target.name, by: 'jest' }] });
      const finished = await handle.result();
      // The comparison reads every table: it heartbeats and has the transfers' time, not the 2 minutes of quick steps.
      const scheduled = (await handle.fetchHistory()).events?.map((e) => e.activityTaskScheduledEventAttributes);
      const compare = scheduled?.find((a) => a?.activityType?.name === 'compareRestoredDatabase');
      expect(Number(compare?.heartbeatTimeout?.seconds ?? 0)).toBeGreaterThan(0);
      expect(Number(compare?.startToCloseTimeout?.seconds ?? 0)).toBeGreaterThanOrEqual(3600);
      return finished;
    });
    expect(restored.stage).toBe('completed');
    expect(restored.mismatches).toEqual([]);

    // Same rows, same order-sensitive md5s, in every table of the backup (pg_restore --clean leaves tables the backup does not have).
    const sourceStats = await statsOf(source.url);
    const targetStats = await statsOf(target.url);
    expect(targetStats.filter((t) => t.table !== 'public.marker')).toEqual(sourceStats);
    expect(sourceStats.map((t) => t.table)).toEqual(Object.keys(FIXTURE_COUNTS));
    // Sequences, RLS, functions, triggers and views came along.
    const checks = await target.pool.query(`
      SELECT (SELECT last_value FROM app.invoice_number) AS invoice_seq,
             (SELECT relrowsecurity FROM pg_class WHERE oid = 'app.conversations'::regclass) AS rls,
             (SELECT count(*) FROM pg_policy WHERE polname = 'own_conversations')::int AS policies,
             (SELECT sum(messages)::int FROM app.conversation_sizes) AS view_sum,
             (SELECT length(body) FROM app.attachments ORDER BY conversation_id LIMIT 1) AS large_row`);
    const expected = await source.pool.query(`
      SELECT (SELECT last_value FROM app.invoice_number) AS invoice_seq,
             (SELECT sum(messages)::int FROM app.conversation_sizes) AS view_sum`);
    expect(checks.rows[0]).toMatchObject({
      invoice_seq: expected.rows[0].invoice_seq,
      rls: true,
      policies: 1,
      view_sum: expected.rows[0].view_sum,
      large_row: 1_280_000,
    });
    await target.pool.query("INSERT INTO app.users (email) VALUES ('new@example.com')"); // the owned sequence continues
    const trig = await target.pool.query(
      "INSERT INTO app.conversations (id, user_id, messages) VALUES (gen_random_uuid(), 1, '[]') RETURNING title",
    );
    expect(trig.rows[0].title).toBe('untitled');

    // The target's previous state was backed up first, and is listed beside the restore.
    const { rows: restores } = await ops.pool.query(
      'SELECT status, backup_id, pre_restore_backup_id, confirmed_by FROM restores WHERE id = $1',
      [restoreWf],
    );
    expect(restores[0]).toMatchObject({ status: 'completed', backup_id: result.backupId, confirmed_by: 'jest' });
    const pre = await ops.pool.query('SELECT status, trigger, database, manifest FROM backups WHERE id = $1', [
      restores[0].pre_restore_backup_id,
    ]);
    expect(pre.rows[0]).toMatchObject({ status: 'completed', trigger: 'pre-restore', database: 'copy' });
    expect((pre.rows[0].manifest as BackupManifest).tables).toEqual([{ table: 'public.marker', rows: 1 }]);
  });

  it('fails fast, naming the field, on bad input', async () => {
    const run = withWorker((worker) =>
      worker.client.workflow.execute(backup, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('bad'),
        args: [{ database: 'no such db!' }],
      }),
    );
    await expectRefusedInput(run, 'database');
  });

  it('a truncated archive and an archive with one corrupted byte both fail verification, and the scratch database is gone', async () => {
    for (const damage of ['truncate', 'flip'] as const) {
      const backupWf = uniqueName(`backup-${damage}`);
      const result = await withWorker((worker) =>
        worker.client.workflow.execute(backup, {
          taskQueue: worker.taskQueue,
          workflowId: backupWf,
          args: [{ database: 'app', requestedBy: 'jest' }],
        }),
      );
      const { readFileSync: read, writeFileSync: write } = await import('node:fs');
      const bytes = read(result.location);
      if (damage === 'truncate') write(result.location, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      else {
        bytes[Math.floor(bytes.length / 2)] ^= 0x01;
        write(result.location, bytes);
      }
      const verifyWf = uniqueName(`verify-${damage}`);
      const run = withWorker(
        (worker) =>
          worker.client.workflow.execute(verifyBackup, {
            taskQueue: worker.taskQueue,
            workflowId: verifyWf,
            args: [{ backupId: result.backupId, retention: false }],
          }),
        { alerts: true },
      );
      await expect(run).rejects.toMatchObject({ cause: { type: 'BackupVerificationFailed' } });
      const failure = await run.catch((e: WorkflowFailedError) => e.cause?.message ?? '');
      expect(failure).toContain('sha256');
      const { rows } = await ops.pool.query('SELECT verification_status, verification FROM backups WHERE id = $1', [result.backupId]);
      expect(rows[0].verification_status).toBe('failed');
      const checks = (rows[0].verification as { checks: { name: string; ok: boolean }[] }).checks;
      expect(checks.find((c) => c.name === 'sha256')?.ok).toBe(false);
      expect(checks.find((c) => c.name === 'archive')?.ok).toBe(false);
      expect(await scratchExists(verifyWf)).toBe(false);
    }
    // The failures were raised as alerts: both joined one incident for the database's backups.
    const { client, connection } = await testClient();
    try {
      const incident = client.workflow.getHandle(incidentWorkflowId('backup-app'));
      expect((await incident.describe()).type).toBe('incident');
      await incident.terminate('test over');
    } finally {
      await connection.close();
    }
  });
});

async function waitForStage(handle: { query: (q: typeof restoreStatusQuery) => Promise<{ stage: string }> }, stage: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const s = await handle.query(restoreStatusQuery).catch(() => undefined);
    if (s?.stage === stage) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`restore never reached ${stage}`);
}

import { copyFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { ActivityDeps } from '../../src/activities';
import { backup, restore } from '../../src/workflows';
import { confirmRestoreUpdate, restoreStatusQuery, type RestoreInput } from '../../src/workflows/backup/contract';
import { uniqueName, withTestWorker, type ScratchDatabase, type TestWorker } from '../harness';
import { openRestoreStage, type RestoreStage } from './helpers';

jest.setTimeout(120_000);

describe('restore is guarded by a typed confirmation', () => {
  let ops: ScratchDatabase;
  let target: ScratchDatabase;
  let source: ScratchDatabase;
  let deps: ActivityDeps;
  let stage: RestoreStage | undefined;

  beforeAll(async () => {
    stage = await openRestoreStage('bkg', 'precious');
    ({ ops, source, target, deps } = stage);
  });
  afterAll(() => stage?.drop());

  it('rejects a wrong or missing name, touches nothing, and gives up when no confirmation comes', async () => {
    const restoreId = uniqueName('restore-guard');
    const outcome = await withTestWorker({ deps }, async (worker) => {
      const b = await worker.client.workflow.execute(backup, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('backup-guard'),
        args: [{ database: 'app', verify: true }],
      });
      const handle = await worker.client.workflow.start(restore, {
        taskQueue: worker.taskQueue,
        workflowId: restoreId,
        args: [{ into: 'copy', backupId: b.backupId, confirmTimeout: '4s' } satisfies RestoreInput],
      });
      for (let i = 0; i < 200 && (await handle.query(restoreStatusQuery)).stage !== 'awaiting-confirmation'; i++)
        await new Promise((r) => setTimeout(r, 100));
      const status = await handle.query(restoreStatusQuery);
      expect(status.plan).toMatchObject({ confirmName: target.name, target: 'copy', backupId: b.backupId });

      const wrongName = handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: source.name }] });
      await expect(wrongName).rejects.toThrow(WorkflowUpdateFailedError);
      await expect(wrongName).rejects.toMatchObject({ cause: { message: expect.stringContaining(`type "${target.name}"`) } });
      const configKey = handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: 'copy' }] });
      await expect(configKey).rejects.toMatchObject({ cause: { message: expect.stringContaining('does not name the target database') } });
      const missing = handle.executeUpdate(confirmRestoreUpdate, { args: [{} as never] });
      await expect(missing).rejects.toMatchObject({ cause: { message: expect.stringContaining('confirm') } });
      const empty = handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: '' }] });
      await expect(empty).rejects.toMatchObject({ cause: { message: expect.stringContaining('confirm') } });
      return handle.result();
    });
    expect(outcome.stage).toBe('not-confirmed');

    // Nothing touched: the target is as it was, no pre-restore backup was taken, and the refusal is on record.
    expect((await target.pool.query('SELECT note FROM marker')).rows).toEqual([{ note: 'precious' }]);
    expect((await target.pool.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'app'")).rows[0].n).toBe(0);
    expect((await ops.pool.query("SELECT count(*)::int AS n FROM backups WHERE database = 'copy'")).rows[0].n).toBe(0);
    expect((await ops.pool.query('SELECT status, confirmed_by FROM restores WHERE id = $1', [restoreId])).rows).toEqual([
      { status: 'not-confirmed', confirmed_by: null },
    ]);
  });

  /** Starts a restore and waits until it asks for its confirmation (or has ended). */
  async function awaitingConfirmation(worker: TestWorker, input: RestoreInput, workflowId = uniqueName('restore')) {
    const handle = await worker.client.workflow.start(restore, { taskQueue: worker.taskQueue, workflowId, args: [input] });
    for (let i = 0; i < 300; i++) {
      const s = await handle.query(restoreStatusQuery).catch(() => undefined);
      if (s && s.stage !== 'planning') break;
      if ((await handle.describe()).status.name !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return handle;
  }

  it('refuses an explicit backup that failed or never passed verification, unless allowed with a reason that is recorded', async () => {
    await withTestWorker({ deps }, async (worker) => {
      const b = await worker.client.workflow.execute(backup, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('backup-unverified'),
        args: [{ database: 'app' }],
      });

      const never = worker.client.workflow.execute(restore, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('restore-never'),
        args: [{ into: 'copy', backupId: b.backupId, confirmTimeout: '5s' } satisfies RestoreInput],
      });
      await expect(never).rejects.toThrow(WorkflowFailedError);
      await expect(never).rejects.toMatchObject({
        cause: {
          cause: { type: 'BackupNotVerified', message: expect.stringContaining(`backup "${b.backupId}" has never been verified`) },
        },
      });

      await ops.pool.query(`UPDATE backups SET verification_status = 'failed', verified_at = now(), verification = $2 WHERE id = $1`, [
        b.backupId,
        JSON.stringify({ checks: [{ name: 'md5', ok: false, detail: '1 of 4 tables differ: app.users' }] }),
      ]);
      const failed = worker.client.workflow.execute(restore, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('restore-failed'),
        args: [{ into: 'copy', backupId: b.backupId, confirmTimeout: '5s' } satisfies RestoreInput],
      });
      await expect(failed).rejects.toMatchObject({
        cause: { cause: { type: 'BackupNotVerified', message: expect.stringContaining('failed its verification') } },
      });
      await expect(failed).rejects.toMatchObject({ cause: { cause: { message: expect.stringContaining('app.users') } } });

      // Allowed on purpose: the plan says what is being accepted and the restore row keeps it, before any confirmation.
      const handle = await awaitingConfirmation(worker, {
        into: 'copy',
        backupId: b.backupId,
        allowUnverified: true,
        reason: 'the only copy from before the incident',
        requestedBy: 'jest',
        confirmTimeout: '3s',
      });
      const status = await handle.query(restoreStatusQuery);
      expect(status.stage).toBe('awaiting-confirmation');
      expect(status.plan).toMatchObject({
        backupId: b.backupId,
        backupVerification: { status: 'failed', detail: expect.stringContaining('app.users') },
        unverifiedReason: 'the only copy from before the incident',
        backupAgeMs: expect.any(Number),
      });
      const { rows } = await ops.pool.query('SELECT allow_unverified, reason, plan FROM restores WHERE id = $1', [handle.workflowId]);
      expect(rows).toEqual([
        {
          allow_unverified: true,
          reason: 'the only copy from before the incident',
          plan: expect.objectContaining({ backupId: b.backupId, backupVerification: expect.objectContaining({ status: 'failed' }) }),
        },
      ]);
      expect((await handle.result()).stage).toBe('not-confirmed');
    });
    // Nothing touched, and the refused restores left no restore row.
    expect((await target.pool.query('SELECT note FROM marker')).rows).toEqual([{ note: 'precious' }]);
    expect(
      (await ops.pool.query("SELECT count(*)::int AS n FROM restores WHERE id LIKE 'restore_never%' OR id LIKE 'restore_failed%'")).rows[0]
        .n,
    ).toBe(0);
  });

  it("checks the archive's sha256 and reads it fully before touching the target: a swapped archive changes nothing", async () => {
    try {
      const outcome = await withTestWorker({ deps }, async (worker) => {
        const first = await worker.client.workflow.execute(backup, {
          taskQueue: worker.taskQueue,
          workflowId: uniqueName('backup-swap-a'),
          args: [{ database: 'app', verify: true }],
        });
        await source.pool.query("INSERT INTO app.events (kind) VALUES ('after the first backup')");
        const second = await worker.client.workflow.execute(backup, {
          taskQueue: worker.taskQueue,
          workflowId: uniqueName('backup-swap-b'),
          args: [{ database: 'app' }],
        });
        // A valid archive of the same database, but not the one the manifest and catalogue describe.
        copyFileSync(second.location, first.location);
        expect(path.basename(first.location)).toContain(first.backupId);

        const handle = await awaitingConfirmation(worker, { into: 'copy', backupId: first.backupId, requestedBy: 'jest' });
        expect((await handle.query(restoreStatusQuery)).stage).toBe('awaiting-confirmation');
        await handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: target.name, by: 'jest' }] });
        return handle.result().then(
          () => undefined,
          (err: WorkflowFailedError) => err,
        );
      });
      expect(outcome).toBeInstanceOf(WorkflowFailedError);
      expect(outcome?.cause).toMatchObject({ type: 'BackupArchiveInvalid', message: expect.stringContaining('copy was not touched') });
      expect(outcome?.cause?.message).toContain('sha256 of the stored object is');
    } finally {
      await source.pool.query("DELETE FROM app.events WHERE kind = 'after the first backup'");
    }
    // The target is as it was: no schema restored into it, and no pre-restore backup was needed.
    expect((await target.pool.query('SELECT note FROM marker')).rows).toEqual([{ note: 'precious' }]);
    expect((await target.pool.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'app'")).rows[0].n).toBe(0);
    expect((await ops.pool.query("SELECT count(*)::int AS n FROM backups WHERE database = 'copy'")).rows[0].n).toBe(0);
  });

  it('picks the latest verified backup taken before the given time', async () => {
    await withTestWorker({ deps }, async (worker) => {
      const older = await worker.client.workflow.execute(backup, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('backup-older'),
        args: [{ database: 'app', trigger: 'manual', verify: true }],
      });
      const between = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 50));
      await worker.client.workflow.execute(backup, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('backup-newer'),
        args: [{ database: 'app', trigger: 'manual', verify: true }],
      });
      // An unverified backup is never picked, even when newest.
      await worker.client.workflow.execute(backup, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('backup-unverified'),
        args: [{ database: 'app' }],
      });

      const handle = await worker.client.workflow.start(restore, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('restore-before'),
        args: [{ into: 'copy', from: 'app', before: between, confirmTimeout: '1s' } satisfies RestoreInput],
      });
      const result = await handle.result();
      expect(result.plan?.backupId).toBe(older.backupId);
      expect(result.stage).toBe('not-confirmed');
    });
  });
});

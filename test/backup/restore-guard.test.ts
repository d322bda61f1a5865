import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { ActivityDeps } from '../../src/activities';
import { backup, restore } from '../../src/workflows';
import { confirmRestoreUpdate, restoreStatusQuery, type RestoreInput } from '../../src/workflows/backup/contract';
import { startTestWorker, uniqueName, type ScratchDatabase } from '../harness';
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
    const worker = await startTestWorker({ deps });
    const restoreId = uniqueName('restore-guard');
    try {
      const outcome = await worker.run(async () => {
        const b = await worker.client.workflow.execute(backup, {
          taskQueue: worker.taskQueue,
          workflowId: uniqueName('backup-guard'),
          args: [{ database: 'app' }],
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
    } finally {
      await worker.close();
    }

    // Nothing touched: the target is as it was, no pre-restore backup was taken, and the refusal is on record.
    expect((await target.pool.query('SELECT note FROM marker')).rows).toEqual([{ note: 'precious' }]);
    expect((await target.pool.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'app'")).rows[0].n).toBe(0);
    expect((await ops.pool.query("SELECT count(*)::int AS n FROM backups WHERE database = 'copy'")).rows[0].n).toBe(0);
    expect((await ops.pool.query('SELECT status, confirmed_by FROM restores WHERE id = $1', [restoreId])).rows).toEqual([
      { status: 'not-confirmed', confirmed_by: null },
    ]);
  });

  it('picks the latest verified backup taken before the given time', async () => {
    const worker = await startTestWorker({ deps });
    try {
      await worker.run(async () => {
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
    } finally {
      await worker.close();
    }
  });
});

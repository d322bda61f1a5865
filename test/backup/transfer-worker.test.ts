import { createBackupActivities } from '../../src/activities/backup';
import { backup } from '../../src/workflows';
import { startTestWorker, testDeps, uniqueName } from '../harness';
import { backupConfig, backupDatabasesForFile, storeDir } from './helpers';

jest.setTimeout(120_000);

describe('a dedicated backup worker (backup.transferTaskQueue)', () => {
  const { ops, source } = backupDatabasesForFile('bkt');

  it('runs the dump on the transfer task queue while the workflow stays on the main one', async () => {
    const transferTaskQueue = uniqueName('tq_transfer');
    const deps = testDeps(backupConfig(['app'], { store: { type: 'directory', path: storeDir('transfer') }, transferTaskQueue }), ops, {
      app: source.url,
    });
    const main = await startTestWorker({ deps });
    const transfer = await startTestWorker({ activities: createBackupActivities(deps), taskQueue: transferTaskQueue });
    const workflowId = uniqueName('backup-transfer');
    try {
      const result = await transfer.run(() =>
        main.run(() => main.client.workflow.execute(backup, { taskQueue: main.taskQueue, workflowId, args: [{ database: 'app' }] })),
      );
      expect(result.tables).toBe(4);
      const history = await main.client.workflow.getHandle(workflowId).fetchHistory();
      const scheduled = (history.events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes)
        .filter((a) => a)
        .map((a) => [a!.activityType?.name, a!.taskQueue?.name]);
      expect(scheduled).toEqual([
        ['backupSettings', main.taskQueue],
        ['dumpBackup', transferTaskQueue],
      ]);
    } finally {
      await Promise.all([main.close(), transfer.close()]);
    }
  });
});

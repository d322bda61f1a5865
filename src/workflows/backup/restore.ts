import { ApplicationFailure, CancellationScope, executeChild, workflowInfo } from '@temporalio/workflow';
import { fnv1a, messageOf, parseInput, publish, RunbookKind } from '../common';
import { raiseBackupAlert } from './alert';
import { backup } from './backup';
import { confirmationGate } from './confirmation';
import { backupWorkflowId, restoreInput, type BackupInput, type RestoreInput, type RestoreResult } from './contract';
import { quick, transfers } from './proxies';

/**
 * Backup & Recovery → Restore Database from Backup ("WARNING: This will overwrite current data").
 * Nothing happens until someone types the target database's name; then the target is backed up first,
 * restored in one transaction, and its row counts are checked against the backup's manifest.
 */
export async function restore(raw: RestoreInput): Promise<RestoreResult> {
  const input = parseInput(restoreInput, raw);
  const { workflowId: restoreId } = workflowInfo();
  const gate = confirmationGate('database');
  const { status, stage } = gate;

  // 1. Pick the backup and show what will be overwritten.
  publish({ stage: 'planning', status: 'running' });
  status.plan = await quick.planRestore({ into: input.into, backupId: input.backupId, before: input.before, from: input.from });
  await quick.recordRestoreStart({
    restoreId,
    kind: 'backup',
    target: input.into,
    backupId: status.plan.backupId,
    requestedBy: input.requestedBy,
    reason: input.reason,
  });

  // 2. Wait for the typed confirmation; without it, nothing is touched.
  if (!(await gate.confirmed(restoreId, input.confirmTimeout))) return { restoreId, ...status };

  const { restoreBackupInto } = transfers(await quick.backupSettings(), input.heartbeatTimeout);
  try {
    // 3. A backup of the target as it is now, so the restore itself can be undone.
    stage('pre-restore-backup');
    const pre = await executeChild(backup, {
      workflowId: backupWorkflowId(input.into, new Date(), `pre-restore-${fnv1a(restoreId)}`),
      args: [
        {
          database: input.into,
          trigger: 'pre-restore',
          requestedBy: status.confirmedBy ?? input.requestedBy,
          reason: `before ${restoreId}`,
          heartbeatTimeout: input.heartbeatTimeout,
        } satisfies BackupInput,
      ],
      typedSearchAttributes: [{ key: RunbookKind, value: 'backup' }],
      staticSummary: `Backup of ${input.into} before restore ${restoreId}`,
    });
    status.preRestoreBackupId = pre.backupId;

    // 4. Restore: pg_restore --clean --if-exists --no-owner --exit-on-error, in one transaction.
    stage('restoring');
    await restoreBackupInto({ backupId: status.plan.backupId!, into: input.into });

    // 5. Verify restoration: row counts against the manifest.
    stage('verifying');
    status.mismatches = await quick.compareRestoredDatabase({ backupId: status.plan.backupId!, into: input.into });
    if (status.mismatches.length) {
      throw ApplicationFailure.create({
        type: 'RestoreMismatch',
        nonRetryable: true,
        message: `restored ${input.into}, but ${status.mismatches.length} tables differ from the backup's manifest: ${status.mismatches.map((m) => m.table).join(', ')}`,
      });
    }
  } catch (err) {
    status.error = messageOf(err);
    stage('failed', 'failed');
    await CancellationScope.nonCancellable(async () => {
      await quick.recordRestoreEnd({
        restoreId,
        status: 'failed',
        confirmedBy: status.confirmedBy,
        preRestoreBackupId: status.preRestoreBackupId,
        detail: { error: status.error, mismatches: status.mismatches },
      });
      await raiseBackupAlert({
        database: input.into,
        backupId: status.plan?.backupId,
        summary: `Restore of ${input.into} from ${status.plan?.backupId} failed`,
        details: [
          status.error!,
          ...(status.preRestoreBackupId ? [`the database as it was before is in backup ${status.preRestoreBackupId}`] : []),
        ],
      });
    });
    throw err;
  }

  // 6. Record and notify.
  stage('completed', 'completed');
  await quick.recordRestoreEnd({
    restoreId,
    status: 'completed',
    confirmedBy: status.confirmedBy,
    preRestoreBackupId: status.preRestoreBackupId,
  });
  await quick.notifyBackupEvent(
    `Restored ${input.into} from backup ${status.plan.backupId} (confirmed by ${status.confirmedBy}); the previous state is in backup ${status.preRestoreBackupId}.`,
  );
  return { restoreId, ...status };
}

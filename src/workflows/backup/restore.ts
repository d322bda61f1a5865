import { ApplicationFailure, CancellationScope, executeChild, patched, workflowInfo } from '@temporalio/workflow';
import { fnv1a, messageOf, parseInput, publish, RunbookKind } from '../common';
import { raiseBackupAlert } from './alert';
import { backup } from './backup';
import { confirmationGate } from './confirmation';
import { backupWorkflowId, restoreInput, type BackupInput, type RestoreInput, type RestoreResult } from './contract';
import { quick, transfers } from './proxies';

/**
 * Backup & Recovery → Restore Database from Backup ("WARNING: This will overwrite current data").
 * The plan (which backup, its age, its verification) is recorded and shown before anything else; nothing
 * happens until someone types the target database's name; then the archive's sha256 and a full read are
 * checked, the target is backed up, restored in one transaction, and checked against the backup's manifest.
 */
export async function restore(raw: RestoreInput): Promise<RestoreResult> {
  const input = parseInput(restoreInput, raw);
  const { workflowId: restoreId } = workflowInfo();
  const gate = confirmationGate('database');
  const { status, stage } = gate;

  // 1. Pick the backup (a failed or never-verified one only on purpose) and record what will be overwritten.
  publish({ stage: 'planning', status: 'running' });
  status.plan = await quick.planRestore({
    into: input.into,
    backupId: input.backupId,
    before: input.before,
    from: input.from,
    allowUnverified: input.allowUnverified,
    reason: input.reason,
  });
  await quick.recordRestoreStart({
    restoreId,
    kind: 'backup',
    target: input.into,
    backupId: status.plan.backupId,
    requestedBy: input.requestedBy,
    reason: input.reason,
    plan: status.plan,
    allowUnverified: input.allowUnverified,
  });

  // 2. Wait for the typed confirmation; without it, nothing is touched.
  if (!(await gate.confirmed(restoreId, input.confirmTimeout))) return { restoreId, ...status };

  const { restoreBackupInto, checkBackupArchive, compareRestoredDatabase } = transfers(
    await quick.backupSettings(),
    input.heartbeatTimeout,
  );
  try {
    // 3. The archive's sha256 (against the manifest and the catalogue) and a full read, before the target is touched.
    if (patched('restore-checks-archive-first')) {
      stage('checking-archive');
      status.archiveChecks = (await checkBackupArchive(status.plan.backupId!)).checks;
      const failed = status.archiveChecks.filter((c) => !c.ok);
      if (failed.length) {
        throw ApplicationFailure.create({
          type: 'BackupArchiveInvalid',
          nonRetryable: true,
          message: `backup ${status.plan.backupId} cannot be restored, ${input.into} was not touched: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
        });
      }
    }

    // 4. A backup of the target as it is now, so the restore itself can be undone.
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

    // 5. Restore: pg_restore --clean --if-exists --no-owner --exit-on-error, in one transaction.
    stage('restoring');
    await restoreBackupInto({ backupId: status.plan.backupId!, into: input.into });

    // 6. Verify restoration: row counts and md5s against the manifest (heartbeating: it reads every table).
    stage('verifying');
    const compare = patched('restore-compare-heartbeats') ? compareRestoredDatabase : quick.compareRestoredDatabase;
    status.mismatches = await compare({ backupId: status.plan.backupId!, into: input.into });
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

  // 7. Record and notify.
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

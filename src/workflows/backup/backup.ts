import { executeChild, workflowInfo } from '@temporalio/workflow';
import { parseInput, publish, RunbookKind } from '../common';
import { backupIdFromWorkflowId, backupInput, type BackupInput, type BackupResult, type VerifyBackupInput } from './contract';
import { quick, transfers } from './proxies';
import { verifyBackup } from './verify';

/**
 * Backup & Recovery → Creating Manual Backups, as the daily schedule and `runbook backup run` start it:
 * export the database, compress it, upload it — one stream — and catalogue it. The backup is named by
 * this workflow, so a retry after a crash replaces its own partial upload instead of adding another.
 */
export async function backup(raw: BackupInput): Promise<BackupResult> {
  const input = parseInput(backupInput, raw);
  const { workflowId } = workflowInfo();
  const backupId = backupIdFromWorkflowId(workflowId);
  const { dumpBackup } = transfers(await quick.backupSettings(), input.heartbeatTimeout);

  // 1–3. Export, compress and upload, with a manifest of row counts from the dump's own snapshot.
  publish({ stage: 'dump', status: 'running' });
  const result = await dumpBackup({
    backupId,
    database: input.database,
    workflowId,
    trigger: input.trigger,
    requestedBy: input.requestedBy,
    reason: input.reason,
  });

  // Optionally prove it restores, right away.
  if (input.verify) {
    publish({ stage: 'verify' });
    result.verified = await executeChild(verifyBackup, {
      workflowId: `verify-${backupId}`,
      args: [{ backupId, requestedBy: workflowId, heartbeatTimeout: input.heartbeatTimeout } satisfies VerifyBackupInput],
      typedSearchAttributes: [{ key: RunbookKind, value: 'verifyBackup' }],
      staticSummary: `Verify backup ${backupId} by restoring it into a scratch database`,
    });
  }
  publish({ stage: 'done', status: 'completed' });
  return result;
}

import { ApplicationFailure, CancellationScope, workflowInfo } from '@temporalio/workflow';
import { messageOf, parseInput, publish } from '../common';
import { raiseBackupAlert } from './alert';
import { confirmationGate } from './confirmation';
import { pitrRestoreInput, type PitrRestoreInput, type RestoreResult } from './contract';
import { long, quick } from './proxies';

/**
 * Backup & Recovery → Restore, "Recent (within 7 days)": Supabase point-in-time recovery. Choose the
 * timestamp (inside the PITR window), confirm by typing the project ref, then wait the 5–10 minutes until
 * the project is ACTIVE_HEALTHY again (or RESTORE_FAILED), and tell everyone.
 */
export async function pitrRestore(raw: PitrRestoreInput): Promise<RestoreResult> {
  const input = parseInput(pitrRestoreInput, raw);
  const { workflowId: restoreId } = workflowInfo();
  const gate = confirmationGate('project');
  const { status, stage } = gate;
  const { waitForPitrRestore } = long(input);

  // 1. Choose the timestamp: it must lie inside the project's PITR window.
  publish({ stage: 'planning', status: 'running' });
  status.plan = await quick.planPitrRestore({ projectRef: input.projectRef, to: input.to });
  const ref = status.plan.target;
  await quick.recordRestoreStart({
    restoreId,
    kind: 'pitr',
    target: ref,
    pitrTarget: input.to,
    requestedBy: input.requestedBy,
    reason: input.reason,
  });

  // 2. Confirm restoration: type the project ref.
  if (!(await gate.confirmed(restoreId, input.confirmTimeout))) return { restoreId, ...status };

  try {
    // 3. Restore, then wait until the project is back.
    stage('restoring');
    await quick.startPitrRestore({ projectRef: ref, to: input.to, restoreId });
    const final = await waitForPitrRestore({ projectRef: ref, pollIntervalMs: input.pollInterval, timeoutMs: input.waitTimeout });
    if (final !== 'ACTIVE_HEALTHY') {
      throw ApplicationFailure.create({
        type: 'RestoreFailed',
        nonRetryable: true,
        message: `Supabase reports ${final} for project ${ref} after the point-in-time restore to ${input.to}`,
      });
    }
  } catch (err) {
    status.error = messageOf(err);
    stage('failed', 'failed');
    await CancellationScope.nonCancellable(async () => {
      await quick.recordRestoreEnd({ restoreId, status: 'failed', confirmedBy: status.confirmedBy, detail: { error: status.error } });
      await raiseBackupAlert({ database: ref, summary: `Point-in-time restore of ${ref} to ${input.to} failed`, details: [status.error!] });
    });
    throw err;
  }

  // 4. Record and notify; verifying the data itself stays with people (the runbook's "Verify data").
  stage('completed', 'completed');
  await quick.recordRestoreEnd({ restoreId, status: 'completed', confirmedBy: status.confirmedBy });
  await quick.notifyBackupEvent(`Supabase project ${ref} restored to ${input.to} (confirmed by ${status.confirmedBy}); verify the data.`);
  return { restoreId, ...status };
}

import { ApplicationFailure, CancellationScope, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import { fnv1a, messageOf, parseInput, publish } from '../common';
import { raiseBackupAlert } from './alert';
import { verifyBackupInput, type VerifyBackupInput, type VerifyBackupResult } from './contract';
import { quick, transfers } from './proxies';

/**
 * Monthly backup verification: a backup counts only once it has been read back and restored. Any check
 * that fails marks the backup failed in the catalogue and raises an alert. Retention runs only after
 * a successful verification, so it never deletes in favour of a backup nobody has restored.
 */
export async function verifyBackup(raw: VerifyBackupInput): Promise<VerifyBackupResult> {
  const input = parseInput(verifyBackupInput, raw);
  const { workflowId } = workflowInfo();
  const { checkBackupArchive, restoreBackupIntoScratch } = transfers(await quick.backupSettings(), input.heartbeatTimeout);

  publish({ stage: 'resolve', status: 'running' });
  const target = await quick.findBackup({ backupId: input.backupId, database: input.database });
  const result: VerifyBackupResult = { backupId: target.backupId, ok: false, checks: [], mismatches: [] };
  const scratchDatabase = `runbook_verify_${fnv1a(workflowId)}`;

  /** Before one-pass verification: re-hash and read the archive, then restore it. Kept for runs that began so. */
  async function twoPasses() {
    // 1–2. Re-hash the stored object; read the whole archive through pg_restore.
    publish({ stage: 'read-archive' });
    const archive = await checkBackupArchive(target.backupId);
    result.checks.push(...archive.checks);

    // 3–5. Restore into a scratch database; compare counts and md5s with the manifest; amcheck.
    if (result.checks.every((c) => c.ok)) {
      publish({ stage: 'restore-scratch' });
      const restored = await restoreBackupIntoScratch({ backupId: target.backupId, scratchDatabase });
      result.checks.push(...restored.checks);
      result.mismatches = restored.mismatches;
    }
  }

  try {
    if (patched('verify-in-one-pass')) {
      // 1–5 in one pass over the stored object: hash it while restoring it into a scratch database (which
      // reads the archive to its end), then counts, md5s and amcheck side by side.
      publish({ stage: 'restore-scratch' });
      const restored = await restoreBackupIntoScratch({ backupId: target.backupId, scratchDatabase, checkArchive: true });
      result.checks.push(...restored.checks);
      result.mismatches = restored.mismatches;
    } else {
      await twoPasses();
    }
  } catch (err) {
    if (isCancellation(err)) throw err;
    result.checks.push({ name: 'restore', ok: false, detail: `verification could not run: ${messageOf(err)}` });
  } finally {
    // 6. The scratch database goes, whatever happened (the activity drops it too; this covers a killed worker).
    await CancellationScope.nonCancellable(() => quick.dropScratchDatabase({ backupId: target.backupId, scratchDatabase }));
  }

  // 7. Record the outcome.
  result.ok = result.checks.length > 0 && result.checks.every((c) => c.ok) && result.checks.some((c) => c.name === 'restore');
  await quick.recordBackupVerification(result);
  if (!result.ok) {
    publish({ stage: 'alert', status: 'failed' });
    const failed = result.checks.filter((c) => !c.ok);
    await raiseBackupAlert({
      database: target.database,
      backupId: target.backupId,
      summary: `Backup ${target.backupId} of ${target.database} failed verification`,
      details: failed.map((c) => `${c.name}: ${c.detail}`),
    });
    throw ApplicationFailure.create({
      type: 'BackupVerificationFailed',
      nonRetryable: true,
      message: `backup ${target.backupId} failed verification: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
      details: [result],
    });
  }

  // 8. Retention, now that a newer verified backup exists.
  if (input.retention) {
    publish({ stage: 'retention' });
    result.retention = await quick.applyBackupRetention(target.database);
  }
  publish({ stage: 'done', status: 'verified' });
  return result;
}

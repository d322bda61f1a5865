import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { fnv1a } from '../shared/alerts';
import {
  backupIdFromWorkflowId,
  backupInput,
  backupWorkflowId,
  confirmRestoreUpdate,
  restoreConfirmation,
  restoreInput,
  restoreStatusQuery,
  verifyBackupInput,
  type BackupInput,
  type BackupResult,
  type RestoreInput,
  type RestoreResult,
  type RestoreStatus,
  type VerifyBackupInput,
  type VerifyBackupResult,
} from '../shared/backup';
import { RunbookKind, RunbookStage, RunbookStatus } from '../shared/search-attributes';
import { parseInput } from '../shared/validate';

/** Stage and status in the Temporal UI (skipped on the time-skipping server, which has no custom attributes). */
function publish(stage: string, status?: string): void {
  if (workflowInfo().typedSearchAttributes.get(RunbookKind) === undefined) return;
  upsertSearchAttributes([{ key: RunbookStage, value: stage }, ...(status ? [{ key: RunbookStatus, value: status }] : [])]);
}

const quick = proxyActivities<Activities>({ startToCloseTimeout: '2m', retry: { maximumAttempts: 5 } });

function longRunning(heartbeatTimeout: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '24h',
    heartbeatTimeout,
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumAttempts: 4 },
  });
}

/**
 * Raises an alert through the same path as every other alert (opens or joins the incident of its dedup
 * key); when that path is not available, the problem goes to chat instead of nowhere.
 */
async function raiseBackupAlert(p: { database: string; backupId?: string; summary: string; details: string[] }): Promise<void> {
  try {
    await quick.raiseAlerts([
      {
        source: 'backup',
        dedupKey: `backup-${p.database}`,
        fingerprint: p.backupId ?? p.database,
        status: 'firing',
        severity: 'P2',
        summary: p.summary,
        description: p.details.join('\n'),
        labels: { database: p.database, ...(p.backupId ? { backup_id: p.backupId } : {}) },
        customerFacing: false,
      },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    await quick.reportBackupProblem({ ...p, details: [...p.details, `(alert not raised: ${message(err)})`] });
  }
}

const message = (err: unknown) => (err instanceof ActivityFailure && err.cause ? err.cause.message : err instanceof Error ? err.message : String(err));

/**
 * Backup & Recovery → Creating Manual Backups, as the daily schedule and `runbook backup run` start it:
 * export the database, compress it, upload it — one stream — and catalogue it. The backup is named by
 * this workflow, so a retry after a crash replaces its own partial upload instead of adding another.
 */
export async function backup(raw: BackupInput): Promise<BackupResult> {
  const input = parseInput(backupInput, raw);
  const { workflowId } = workflowInfo();
  const backupId = backupIdFromWorkflowId(workflowId);
  const { dumpBackup } = longRunning(input.heartbeatTimeout);

  // 1–3. Export, compress and upload, with a manifest of row counts from the dump's own snapshot.
  publish('dump', 'running');
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
    publish('verify');
    result.verified = await executeChild(verifyBackup, {
      workflowId: `verify-${backupId}`,
      args: [{ backupId, requestedBy: workflowId, heartbeatTimeout: input.heartbeatTimeout } satisfies VerifyBackupInput],
      typedSearchAttributes: [{ key: RunbookKind, value: 'verifyBackup' }],
      staticSummary: `Verify backup ${backupId} by restoring it into a scratch database`,
    });
  }
  publish('done', 'completed');
  return result;
}

/**
 * Monthly backup verification: a backup counts only once it has been read back and restored. Any check
 * that fails marks the backup failed in the catalogue and raises an alert. Retention runs only after
 * a successful verification, so it never deletes in favour of a backup nobody has restored.
 */
export async function verifyBackup(raw: VerifyBackupInput): Promise<VerifyBackupResult> {
  const input = parseInput(verifyBackupInput, raw);
  const { workflowId } = workflowInfo();
  const slow = longRunning(input.heartbeatTimeout);

  publish('resolve', 'running');
  const target = await quick.findBackup({ backupId: input.backupId, database: input.database });
  const result: VerifyBackupResult = { backupId: target.backupId, ok: false, checks: [], mismatches: [] };
  const scratchDatabase = `runbook_verify_${fnv1a(workflowId)}`;

  try {
    // 1–2. Re-hash the stored object; read the whole archive through pg_restore.
    publish('read-archive');
    const archive = await slow.checkBackupArchive(target.backupId);
    result.checks.push(...archive.checks);

    // 3–5. Restore into a scratch database; compare counts and md5s with the manifest; amcheck.
    if (result.checks.every((c) => c.ok)) {
      publish('restore-scratch');
      const restored = await slow.restoreBackupIntoScratch({ backupId: target.backupId, scratchDatabase });
      result.checks.push(...restored.checks);
      result.mismatches = restored.mismatches;
    }
  } catch (err) {
    if (isCancellation(err)) throw err;
    result.checks.push({ name: 'restore', ok: false, detail: `verification could not run: ${message(err)}` });
  } finally {
    // 6. The scratch database goes, whatever happened (the activity drops it too; this covers a killed worker).
    await CancellationScope.nonCancellable(() => quick.dropScratchDatabase({ backupId: target.backupId, scratchDatabase }));
  }

  // 7. Record the outcome.
  result.ok = result.checks.length > 0 && result.checks.every((c) => c.ok) && result.checks.some((c) => c.name === 'restore');
  await quick.recordBackupVerification(result);
  if (!result.ok) {
    publish('alert', 'failed');
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
    publish('retention');
    result.retention = await quick.applyBackupRetention(target.database);
  }
  publish('done', 'verified');
  return result;
}

/**
 * Backup & Recovery → Restore Database from Backup ("WARNING: This will overwrite current data").
 * Nothing happens until someone types the target database's name; then the target is backed up first,
 * restored in one transaction, and its row counts are checked against the backup's manifest.
 */
export async function restore(raw: RestoreInput): Promise<RestoreResult> {
  const input = parseInput(restoreInput, raw);
  const { workflowId: restoreId } = workflowInfo();
  const slow = longRunning(input.heartbeatTimeout);
  const status: RestoreStatus = { stage: 'planning' };
  let confirmed = false;

  setHandler(restoreStatusQuery, () => status);
  setHandler(
    confirmRestoreUpdate,
    (raw) => {
      status.confirmedBy = parseInput(restoreConfirmation, raw, 'confirmation').by;
      confirmed = true;
      return status;
    },
    {
      validator: (raw) => {
        const c = parseInput(restoreConfirmation, raw, 'confirmation');
        if (status.stage === 'planning') throw new Error('the restore is still being planned; confirm again in a moment');
        if (status.stage !== 'awaiting-confirmation') throw new Error(`the restore is already ${status.stage}; there is nothing to confirm`);
        if (c.confirm !== status.plan!.confirmName) {
          throw new Error(`confirm: "${c.confirm}" does not name the target database; type "${status.plan!.confirmName}" to overwrite it`);
        }
      },
    },
  );

  const stage = (s: RestoreStatus['stage'], searchStatus?: string) => {
    status.stage = s;
    publish(s, searchStatus);
  };

  // 1. Pick the backup and show what will be overwritten.
  publish('planning', 'running');
  status.plan = await quick.planRestore({ into: input.into, backupId: input.backupId, before: input.before, from: input.from });
  await quick.recordRestoreStart({ restoreId, kind: 'backup', target: input.into, backupId: status.plan.backupId, requestedBy: input.requestedBy, reason: input.reason });

  // 2. Wait for the typed confirmation; without it, nothing is touched.
  stage('awaiting-confirmation');
  let gotConfirmation = false;
  try {
    gotConfirmation = await condition(() => confirmed, input.confirmTimeout);
  } catch (err) {
    if (isCancellation(err)) {
      stage('not-confirmed', 'cancelled');
      await CancellationScope.nonCancellable(() => quick.recordRestoreEnd({ restoreId, status: 'not-confirmed' }));
    }
    throw err;
  }
  if (!gotConfirmation) {
    stage('not-confirmed', 'not-confirmed');
    await quick.recordRestoreEnd({ restoreId, status: 'not-confirmed', detail: { reason: 'no confirmation in time' } });
    return { restoreId, ...status };
  }

  try {
    // 3. A backup of the target as it is now, so the restore itself can be undone.
    stage('pre-restore-backup');
    const pre = await executeChild(backup, {
      workflowId: backupWorkflowId(input.into, new Date(), `pre-restore-${fnv1a(restoreId)}`),
      args: [{ database: input.into, trigger: 'pre-restore', requestedBy: status.confirmedBy ?? input.requestedBy, reason: `before ${restoreId}`, heartbeatTimeout: input.heartbeatTimeout } satisfies BackupInput],
      typedSearchAttributes: [{ key: RunbookKind, value: 'backup' }],
      staticSummary: `Backup of ${input.into} before restore ${restoreId}`,
    });
    status.preRestoreBackupId = pre.backupId;

    // 4. Restore: pg_restore --clean --if-exists --no-owner --exit-on-error, in one transaction.
    stage('restoring');
    await slow.restoreBackupInto({ backupId: status.plan.backupId!, into: input.into });

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
    status.error = message(err);
    stage('failed', 'failed');
    await CancellationScope.nonCancellable(async () => {
      await quick.recordRestoreEnd({ restoreId, status: 'failed', confirmedBy: status.confirmedBy, preRestoreBackupId: status.preRestoreBackupId, detail: { error: status.error, mismatches: status.mismatches } });
      await raiseBackupAlert({
        database: input.into,
        backupId: status.plan?.backupId,
        summary: `Restore of ${input.into} from ${status.plan?.backupId} failed`,
        details: [status.error!, ...(status.preRestoreBackupId ? [`the database as it was before is in backup ${status.preRestoreBackupId}`] : [])],
      });
    });
    throw err;
  }

  // 6. Record and notify.
  stage('completed', 'completed');
  await quick.recordRestoreEnd({ restoreId, status: 'completed', confirmedBy: status.confirmedBy, preRestoreBackupId: status.preRestoreBackupId });
  await quick.notifyBackupEvent(
    `Restored ${input.into} from backup ${status.plan.backupId} (confirmed by ${status.confirmedBy}); the previous state is in backup ${status.preRestoreBackupId}.`,
  );
  return { restoreId, ...status };
}

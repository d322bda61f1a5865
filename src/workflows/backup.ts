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
import { fnv1a } from './common/alerts';
import {
  backupIdFromWorkflowId,
  backupCatalogueInput,
  backupInput,
  backupWorkflowId,
  confirmRestoreUpdate,
  pitrRestoreInput,
  restoreConfirmation,
  restoreInput,
  restoreStatusQuery,
  verifyBackupInput,
  type BackupCatalogueInput,
  type BackupInput,
  type BackupListing,
  type BackupResult,
  type PitrRestoreInput,
  type RestoreInput,
  type RestoreResult,
  type RestoreStatus,
  type VerifyBackupInput,
  type VerifyBackupResult,
} from '../shared/backup';
import { RunbookKind, RunbookStage, RunbookStatus } from './common/search-attributes';
import { parseInput } from './common/failures';

/** Stage and status in the Temporal UI (skipped on the time-skipping server, which has no custom attributes). */
function publish(stage: string, status?: string): void {
  if (workflowInfo().typedSearchAttributes.get(RunbookKind) === undefined) return;
  upsertSearchAttributes([{ key: RunbookStage, value: stage }, ...(status ? [{ key: RunbookStatus, value: status }] : [])]);
}

const quick = proxyActivities<Activities>({ startToCloseTimeout: '2m', retry: { maximumAttempts: 5 } });

/**
 * The data-moving activities (dump, read, restore). They run on `backup.transferTaskQueue` when the
 * configuration names one (a lean worker next to the database, `npm run worker:backup`), else here.
 */
function transfers(settings: { transferTaskQueue?: string }, heartbeatTimeout: number) {
  const { transferTaskQueue } = settings;
  // Returned from a plain function: an async one would make `await` probe the proxy for `then`.
  return proxyActivities<Activities>({
    startToCloseTimeout: '24h',
    heartbeatTimeout,
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumAttempts: 4 },
    ...(transferTaskQueue ? { taskQueue: transferTaskQueue } : {}),
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
  const { dumpBackup } = transfers(await quick.backupSettings(), input.heartbeatTimeout);

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
  const slow = transfers(await quick.backupSettings(), input.heartbeatTimeout);

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
 * The typed confirmation every restore waits for: an update whose validator accepts only the exact name
 * of what will be overwritten (the database's real name, or the Supabase project ref). A wrong or missing
 * name is rejected before it reaches history; no answer within the timeout ends the run, nothing touched.
 */
function confirmationGate(what: 'database' | 'project') {
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
          const noun = what === 'database' ? 'the target database' : 'the project being restored';
          throw new Error(`confirm: "${c.confirm}" does not name ${noun}; type "${status.plan!.confirmName}" to overwrite it`);
        }
      },
    },
  );
  const stage = (s: RestoreStatus['stage'], searchStatus?: string) => {
    status.stage = s;
    publish(s, searchStatus);
  };
  return {
    status,
    stage,
    /** Waits for the confirmation; false (recorded as not-confirmed) when none came in time. */
    async confirmed(restoreId: string, timeout: number): Promise<boolean> {
      stage('awaiting-confirmation');
      try {
        if (await condition(() => confirmed, timeout)) return true;
      } catch (err) {
        if (isCancellation(err)) {
          stage('not-confirmed', 'cancelled');
          await CancellationScope.nonCancellable(() => quick.recordRestoreEnd({ restoreId, status: 'not-confirmed', detail: { reason: 'cancelled' } }));
        }
        throw err;
      }
      stage('not-confirmed', 'not-confirmed');
      await quick.recordRestoreEnd({ restoreId, status: 'not-confirmed', detail: { reason: 'no confirmation in time' } });
      return false;
    },
  };
}

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
  publish('planning', 'running');
  status.plan = await quick.planRestore({ into: input.into, backupId: input.backupId, before: input.before, from: input.from });
  await quick.recordRestoreStart({ restoreId, kind: 'backup', target: input.into, backupId: status.plan.backupId, requestedBy: input.requestedBy, reason: input.reason });

  // 2. Wait for the typed confirmation; without it, nothing is touched.
  if (!(await gate.confirmed(restoreId, input.confirmTimeout))) return { restoreId, ...status };

  const slow = transfers(await quick.backupSettings(), input.heartbeatTimeout);
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
  const poll = proxyActivities<Activities>({
    startToCloseTimeout: input.waitTimeout + 300_000,
    heartbeatTimeout: input.pollInterval + 60_000,
    retry: { initialInterval: '5s', maximumAttempts: 5 },
  });

  // 1. Choose the timestamp: it must lie inside the project's PITR window.
  publish('planning', 'running');
  status.plan = await quick.planPitrRestore({ projectRef: input.projectRef, to: input.to });
  const ref = status.plan.target;
  await quick.recordRestoreStart({ restoreId, kind: 'pitr', target: ref, pitrTarget: input.to, requestedBy: input.requestedBy, reason: input.reason });

  // 2. Confirm restoration: type the project ref.
  if (!(await gate.confirmed(restoreId, input.confirmTimeout))) return { restoreId, ...status };

  try {
    // 3. Restore, then wait until the project is back.
    stage('restoring');
    await quick.startPitrRestore({ projectRef: ref, to: input.to });
    const final = await poll.waitForPitrRestore({ projectRef: ref, pollIntervalMs: input.pollInterval, timeoutMs: input.waitTimeout });
    if (final !== 'ACTIVE_HEALTHY') {
      throw ApplicationFailure.create({ type: 'RestoreFailed', nonRetryable: true, message: `Supabase reports ${final} for project ${ref} after the point-in-time restore to ${input.to}` });
    }
  } catch (err) {
    status.error = message(err);
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

/** The backup catalogue, read by the worker (which holds the ops database credentials) for `runbook backup list`. */
export async function backupCatalogue(raw: BackupCatalogueInput): Promise<BackupListing[]> {
  const input = parseInput(backupCatalogueInput, raw);
  return quick.listBackupRecords(input);
}

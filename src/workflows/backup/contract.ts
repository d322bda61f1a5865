import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { RunbookConfig } from '../../config/schema';
import { durationMs } from '../common';

/**
 * Backup & Recovery: the `backup`, `verifyBackup`, `restore` and `pitrRestore` workflows.
 * A backup is named by the workflow that took it: its id is the workflow id (made file-name safe),
 * so a retried activity overwrites its own half-written object and never creates a second backup.
 */

/**
 * What every backup workflow needs from the configuration, loaded by the `backupSettings` activity (the
 * name stays for replay): where the data-moving activities run. Unset: on the workflow's own task queue.
 */
export interface BackupPlan {
  transferTaskQueue?: string;
}

export function planFrom(config: Pick<RunbookConfig, 'backup'>): BackupPlan {
  return { transferTaskQueue: config.backup.transferTaskQueue };
}

const databaseKey = z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a key of `databases` in the configuration');
const backupIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be a backup id as shown by `runbook backup list`');
const who = z.string().min(1).max(200);

/** What started a backup; shown in `runbook backup list` and kept in the catalogue. */
export const backupTrigger = z.enum(['schedule', 'manual', 'pre-restore']);
export type BackupTrigger = z.infer<typeof backupTrigger>;

export const backupInput = z.object({
  /** Key of `databases` in the configuration. */
  database: databaseKey,
  reason: z.string().max(500).optional(),
  requestedBy: who.default('schedule'),
  trigger: backupTrigger.default('schedule'),
  /** Run `verifyBackup` as a child right after the dump (it restores into a scratch database). */
  verify: z.boolean().default(false),
  /** A dump activity that stops heartbeating this long (worker killed) is retried on another worker. */
  heartbeatTimeout: durationMs.default(30_000),
});
export type BackupInput = z.input<typeof backupInput>;

/** `backup-<db>-<YYYY-MM-DD>` (UTC) for the daily run; manual and pre-restore runs add a suffix so they never collide with it. */
export function backupWorkflowId(database: string, at: Date, suffix?: string): string {
  const day = at.toISOString().slice(0, 10);
  return suffix ? `backup-${database}-${day}-${suffix}` : `backup-${database}-${day}`;
}

/** Suffix of an on-demand backup: `manual-HHMMSS` (UTC). */
export function manualBackupSuffix(at: Date): string {
  return `manual-${at.toISOString().slice(11, 19).replace(/:/g, '')}`;
}

/** The backup id (object name in the store, catalogue key) of a backup workflow. Schedules append a timestamp with colons. */
export function backupIdFromWorkflowId(workflowId: string): string {
  return workflowId.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 200);
}

export interface TableStats {
  /** schema-qualified, quoted as PostgreSQL prints it (`public.users`, `"Odd"."Name"`). */
  table: string;
  rows: number;
  /** md5 over the per-row md5s in primary-key order; only for tables with a primary key up to `backup.md5MaxRows` rows. */
  md5?: string;
}

/** Stored beside the archive as `<backupId>.manifest.json`; its presence marks the archive complete. */
export interface BackupManifest {
  formatVersion: 1;
  backupId: string;
  database: string;
  /** Name of the database on the server (from the connection string). */
  databaseName: string;
  serverVersion: string;
  pgDumpVersion: string;
  /** `pg_dump -Fc -Z0` piped through this. */
  compression: 'zstd' | 'gzip';
  objectKey: string;
  /** Bytes stored (compressed). */
  sizeBytes: number;
  /** Bytes of the uncompressed custom-format archive, when measured. */
  archiveBytes?: number;
  /** SHA-256 of the stored (compressed) object, hex. */
  sha256: string;
  startedAt: string;
  finishedAt: string;
  /** Every table pg_dump dumps, counted in the snapshot the dump used. */
  tables: TableStats[];
  workflowId: string;
  trigger: BackupTrigger;
  requestedBy: string;
  reason?: string;
}

export interface BackupResult {
  backupId: string;
  database: string;
  /** Where the archive is, e.g. `/var/backups/app/backup-app-2025-01-02.dump.zst` or `s3://bucket/app/…`. */
  location: string;
  sizeBytes: number;
  sha256: string;
  compression: 'zstd' | 'gzip';
  tables: number;
  durationMs: number;
  verified?: VerifyBackupResult;
}

/** Progress an activity reports in its heartbeat details; the CLI shows it. */
export interface TransferProgress {
  phase: string;
  bytes: number;
  /** Bytes per second since the phase started. */
  rate: number;
  elapsedMs: number;
  /** Table checks (counts, md5s): tables done of all. */
  tables?: { done: number; total: number };
}

/** `runbook backup list`: read through the worker, so the CLI needs no database credentials. */
export const backupCatalogueInput = z.object({
  database: databaseKey.optional(),
  limit: z.number().int().min(1).max(1000).default(20),
  includeDeleted: z.boolean().default(false),
});
export type BackupCatalogueInput = z.input<typeof backupCatalogueInput>;

export const backupCatalogueWorkflowId = (at: Date) => `backup-list-${at.toISOString().replace(/[:.]/g, '-')}`;

/** One backup as `runbook backup list` shows it. */
export interface BackupListing {
  backupId: string;
  database: string;
  status: 'running' | 'completed' | 'failed' | 'deleted';
  trigger: BackupTrigger;
  requestedBy: string;
  startedAt: string;
  completedAt: string | null;
  sizeBytes: number | null;
  compression: string | null;
  location: string;
  verificationStatus: 'passed' | 'failed' | null;
  verifiedAt: string | null;
  error: string | null;
  deletedReason: string | null;
}

export const verifyBackupInput = z.object({
  /** The backup to verify; omitted: the latest completed backup (of `database`, when given). */
  backupId: backupIdSchema.optional(),
  database: databaseKey.optional(),
  requestedBy: who.default('schedule'),
  /** Apply retention after a successful verification. */
  retention: z.boolean().default(true),
  heartbeatTimeout: durationMs.default(60_000),
});
export type VerifyBackupInput = z.input<typeof verifyBackupInput>;

export const verifyBackupWorkflowId = (at: Date, backupId?: string) =>
  `verify-backup-${backupId ?? 'latest'}-${at.toISOString().replace(/[:.]/g, '-')}`;

export interface TableMismatch {
  table: string;
  expectedRows?: number;
  actualRows?: number;
  expectedMd5?: string;
  actualMd5?: string;
}

export interface VerifyBackupResult {
  backupId: string;
  ok: boolean;
  /** Each check in order, with what it found. */
  checks: { name: 'sha256' | 'archive' | 'restore' | 'row-counts' | 'md5' | 'amcheck'; ok: boolean; detail: string }[];
  mismatches: TableMismatch[];
  retention?: RetentionResult;
}

export interface RetentionResult {
  kept: string[];
  deleted: { backupId: string; reason: string }[];
}

const restoreCommon = {
  requestedBy: who.default('cli'),
  reason: z.string().max(500).optional(),
  /** How long to wait for the typed confirmation before giving up (nothing touched). */
  confirmTimeout: durationMs.default(3_600_000),
  heartbeatTimeout: durationMs.default(60_000),
};

export const restoreInput = z
  .object({
    /** Target: key of `databases` in the configuration. Everything in it is replaced by the backup. */
    into: databaseKey,
    backupId: backupIdSchema.optional(),
    /** Pick the latest verified backup taken before this instant. */
    before: z.iso.datetime({ offset: true }).optional(),
    /** Database the backup was taken of (key); defaults to `into`. Only with `before`. */
    from: databaseKey.optional(),
    /** Accept a `backupId` whose verification failed or never ran; needs a `reason`, recorded with the restore. */
    allowUnverified: z.boolean().default(false),
    ...restoreCommon,
  })
  .refine((r) => !(r.backupId && r.before), { message: 'give either backupId or before, not both', path: ['before'] })
  .refine((r) => !r.allowUnverified || r.backupId, {
    message: 'only with backupId (before picks verified backups only)',
    path: ['allowUnverified'],
  })
  .refine((r) => !r.allowUnverified || r.reason?.trim(), {
    message: 'restoring an unverified backup needs a reason, recorded with the restore',
    path: ['reason'],
  });
export type RestoreInput = z.input<typeof restoreInput>;

export const restoreWorkflowId = (database: string, at: Date) => `restore-${database}-${at.toISOString().replace(/[:.]/g, '-')}`;

export const pitrRestoreInput = z.object({
  /** Supabase project ref; defaults to `platforms.supabase.projectRef`. */
  projectRef: z
    .string()
    .regex(/^[a-z]{20}$/, 'must be the 20-letter project ref')
    .optional(),
  /** Recovery target; must lie inside the project's PITR window. */
  to: z.iso.datetime({ offset: true }),
  /** Poll interval while the project is RESTORING. */
  pollInterval: durationMs.default(30_000),
  /** Give up waiting for ACTIVE_HEALTHY after this long (the runbook's RTO for the database step is 1 h). */
  waitTimeout: durationMs.default(3_600_000),
  ...restoreCommon,
});
export type PitrRestoreInput = z.input<typeof pitrRestoreInput>;

export const pitrRestoreWorkflowId = (projectRef: string, at: Date) =>
  `restore-pitr-${projectRef}-${at.toISOString().replace(/[:.]/g, '-')}`;

/** The typed confirmation: the name of the database (or the project ref) that will be overwritten. */
export const restoreConfirmation = z.object({
  confirm: z.string().min(1, 'type the name of the database being overwritten'),
  by: who.default('cli'),
});
export type RestoreConfirmation = z.input<typeof restoreConfirmation>;

/** Accepted only when `confirm` names the target exactly; a wrong or missing name is rejected and nothing happens. */
export const confirmRestoreUpdate = defineUpdate<RestoreStatus, [RestoreConfirmation]>('confirmRestore');

export type RestoreStage =
  | 'planning'
  | 'awaiting-confirmation'
  | 'checking-archive'
  | 'pre-restore-backup'
  | 'restoring'
  | 'verifying'
  | 'completed'
  | 'failed'
  | 'not-confirmed';

/** What the catalogue knows of a backup's verification when a restore is planned. */
export interface BackupVerificationState {
  status: 'passed' | 'failed' | 'never';
  verifiedAt?: string;
  /** The failed checks, for a failed verification. */
  detail?: string;
}

export interface RestorePlan {
  /** What must be typed to confirm: the database name on the server, or the project ref. */
  confirmName: string;
  target: string;
  backupId?: string;
  backupTakenAt?: string;
  /** Age of the backup when the restore was planned. */
  backupAgeMs?: number;
  backupSizeBytes?: number;
  backupVerification?: BackupVerificationState;
  /** A failed or never-verified backup restored anyway (`allowUnverified`), and why. */
  unverifiedReason?: string;
  /** PITR: the recovery target and the window it lies in. */
  pitr?: { to: string; earliest: string; latest: string };
}

export interface RestoreStatus {
  stage: RestoreStage;
  plan?: RestorePlan;
  confirmedBy?: string;
  preRestoreBackupId?: string;
  /** sha256 and full-read checks of the archive, done before anything touches the target. */
  archiveChecks?: VerifyBackupResult['checks'];
  mismatches?: TableMismatch[];
  error?: string;
}

export const restoreStatusQuery = defineQuery<RestoreStatus>('restoreStatus');

export interface RestoreResult extends RestoreStatus {
  restoreId: string;
}

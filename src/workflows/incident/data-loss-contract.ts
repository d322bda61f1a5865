import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { durationMs } from '../common';

/**
 * Emergency Procedures 3, Data Loss Event (response < 10 minutes): the `dataLossPlaybook` workflow. Stop the damage
 * (read-only mode, terminate the destructive session), assess (live row counts against the newest verified backup's
 * manifest), plan (point-in-time recovery, copy the lost rows back from the backup, or a full guarded restore), execute
 * once a person approves one option, verify against the manifest, and tell the incident, the chat and the status page.
 */

const person = z.string().trim().min(1, 'must name who acts').max(200);

export const recoveryOption = z.enum(['pitr', 'copy-back', 'full-restore']);
export type RecoveryOption = z.infer<typeof recoveryOption>;

export const dataLossInput = z.object({
  /** Key of `databases` in the configuration: the database that lost data. */
  database: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a key of `databases` in the configuration'),
  /** The service whose production switches to read-only; defaults to the first service on `database`. */
  service: z.string().min(1).max(200).optional(),
  /** The incident this runs for (its workflow id): every step is written to its timeline. */
  incidentId: z.string().min(1).max(300).optional(),
  /** When the destructive statement ran: the point-in-time target is one second before it. */
  eventAt: z.iso.datetime({ offset: true }).optional(),
  /** The destructive session; omitted: every session of the database running or holding a DELETE/TRUNCATE/DROP/UPDATE. */
  pid: z.number().int().positive().optional(),
  /** Switch the service to READ_ONLY_MODE while recovering (lifted once the recovery is verified). */
  readOnly: z.boolean().default(true),
  requestedBy: person,
  reason: z.string().trim().min(1, 'must give a reason').max(2000),
  /** How long the plan waits for a person to approve an option; nothing is restored without one. */
  approvalTimeout: durationMs.default(3_600_000),
  /** Passed to the point-in-time or full restore it starts (their own typed confirmation still applies). */
  confirmTimeout: durationMs.default(3_600_000),
  pitrPollInterval: durationMs.default(30_000),
});
export type DataLossInput = z.input<typeof dataLossInput>;

export const dataLossWorkflowId = (database: string, at: Date) => `data-loss-${database}-${at.toISOString().replace(/[:.]/g, '-')}`;

export interface DestructiveSession {
  pid: number;
  usename: string;
  application: string;
  state: string;
  query: string;
  seconds: number;
}

export interface LostTable {
  table: string;
  backupRows: number;
  liveRows: number | null;
}

export interface CopyBackResult {
  tables: { table: string; inserted: number; backupRows: number }[];
}

export type DataLossStage =
  | 'stopping-damage'
  | 'assessing'
  | 'awaiting-approval'
  | 'recovering'
  | 'verifying'
  | 'completed'
  | 'nothing-lost'
  | 'not-approved'
  | 'failed';

export interface DataLossStep {
  at: string;
  step: 'stop-damage' | 'assess' | 'plan' | 'approval' | 'recover' | 'verify' | 'communicate';
  text: string;
}

export interface DataLossStatus {
  stage: DataLossStage;
  steps: DataLossStep[];
  /** READ_ONLY_MODE as it was before (null: unset), restored once the recovery is verified. */
  readOnly?: { service: string; previous: string | null; lifted: boolean };
  terminated: DestructiveSession[];
  backup?: { backupId: string; takenAt: string };
  lost: LostTable[];
  /** What can be done, the first one recommended; `unavailable` says why an option is not offered. */
  options: { option: RecoveryOption; detail: string }[];
  unavailable: { option: RecoveryOption; reason: string }[];
  chosen?: { option: RecoveryOption; by: string };
  /** The restore workflow started for pitr / full-restore: confirm it there by typing the name it asks for. */
  restoreWorkflowId?: string;
  copied?: CopyBackResult;
  /** Tables still short of the manifest after the recovery (empty: verified). */
  stillMissing?: LostTable[];
  error?: string;
}

export const approveRecoveryRequest = z
  .object({ option: recoveryOption, by: person, approve: z.boolean().default(true), comment: z.string().max(2000).optional() })
  .strict();
export type ApproveRecoveryRequest = z.input<typeof approveRecoveryRequest>;

/** Approves one of the plan's options (or rejects the plan: approve false); accepted only while the plan waits. */
export const approveRecoveryUpdate = defineUpdate<DataLossStatus, [ApproveRecoveryRequest]>('approveRecovery');
export const dataLossStatusQuery = defineQuery<DataLossStatus>('dataLossStatus');

import { z } from 'zod';
import type { RunbookConfig } from '../../config/schema';
import { durationMs } from '../common';

/**
 * Maintenance: the workflow input, the plan it lays its steps out from, the results activities hand back,
 * and the stable ids of the Temporal Schedules that start the recurring runs.
 */

export const MAINTENANCE_KINDS = ['daily', 'weekly', 'monthly', 'quarterly'] as const;
export const maintenanceKind = z.enum(MAINTENANCE_KINDS);
export type MaintenanceKind = z.infer<typeof maintenanceKind>;

export const maintenanceInput = z.object({
  kind: maintenanceKind,
  requestedBy: z.string().min(1).default('schedule'),
  /** A long step (a cleanup, a VACUUM) that stops heartbeating this long is retried on another worker. */
  heartbeatTimeout: durationMs.default(60_000),
  /** Attempts per step before it is reported as failed; the other steps still run. */
  stepAttempts: z.number().int().min(1).max(20).default(5),
  retryInterval: durationMs.default(10_000),
  postToChat: z.boolean().default(true),
});
export type MaintenanceInput = z.input<typeof maintenanceInput>;

/** What the workflow needs to know about the configuration to lay out its steps. */
export interface MaintenancePlan {
  name: string;
  databases: string[];
  cleanup: { name: string; database: string }[];
  vacuumFullTables: string[];
  dependencyReport: boolean;
  backupDatabases: string[];
  chat: ('slack' | 'telegram')[];
}

export function planFrom(config: RunbookConfig): MaintenancePlan {
  const m = config.maintenance;
  return {
    name: config.name,
    databases: Object.keys(config.databases),
    cleanup: m.cleanup.map((p) => ({ name: p.name, database: p.database })),
    vacuumFullTables: m.vacuumFullTables,
    dependencyReport: Boolean(m.appCheckout),
    backupDatabases: config.backup.databases,
    chat: [...(config.notifications.slack ? (['slack'] as const) : []), ...(config.notifications.telegram ? (['telegram'] as const) : [])],
  };
}

/** The runbooks' inspection queries, one report section each (activities/maintenance/reports.ts runs them). */
export const REPORTS = [
  'table-sizes',
  'connections',
  'slow-queries',
  'seq-scans',
  'size-growth',
  'security-audit',
  'cost-per-day',
] as const;
export type ReportName = (typeof REPORTS)[number];

export type StepStatus = 'ok' | 'failed' | 'skipped';

export interface StepOutcome {
  status: StepStatus;
  /** One line for the report's summary table. */
  summary: string;
  /** Details: a markdown table, a list of tasks. */
  markdown?: string;
  data?: Record<string, unknown>;
}

export interface MaintenanceStep extends StepOutcome {
  name: string;
  startedAt: string;
  durationMs: number;
}

export interface MaintenanceResult {
  kind: MaintenanceKind;
  reportId: number;
  steps: { name: string; status: StepStatus; summary: string }[];
  failed: number;
}

/** Progress a cleanup activity heartbeats, and what it returns. */
export interface CleanupProgress {
  policy: string;
  deleted: number;
  batches: number;
  lastPk: string | null;
}

export interface CleanupResult extends CleanupProgress {
  status: 'done' | 'skipped';
  reason?: string;
  table: string;
  cutoff: string;
  /** True when an earlier attempt had already deleted some rows. */
  resumed: boolean;
  durationMs: number;
}

export const maintenanceWorkflowId = (kind: MaintenanceKind, at: Date) => `maintenance-${kind}-${at.toISOString().replace(/[:.]/g, '-')}`;

// ---------------------------------------------------------------------------------------------------------
// schedules

/** Stable schedule ids: applying the config again updates these instead of creating others. */
export const SCHEDULE_IDS = {
  health: 'schedule-health',
  maintenance: (kind: MaintenanceKind) => `schedule-maintenance-${kind}`,
  backup: (database: string) => `schedule-backup-${database}`,
} as const;

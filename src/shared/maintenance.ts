import { z } from 'zod';
import type { Severity } from '../config/schema';
import { durationMs } from '../workflows/common/duration';

/**
 * Health checks and maintenance: workflow inputs, the results activities hand back, and the stable ids of
 * the Temporal Schedules that run them.
 */

// ---------------------------------------------------------------------------------------------------------
// healthCheck

export const healthCheckInput = z.object({
  requestedBy: z.string().min(1).default('schedule'),
  /** Retries of one check before it counts as failed (a flaky probe must not page anyone). */
  checkAttempts: z.number().int().min(1).max(10).default(2),
});
export type HealthCheckInput = z.input<typeof healthCheckInput>;

/** ok < info < warning < critical; `unknown` = the check could not run and leaves the alert state alone. */
export const checkStatus = z.enum(['ok', 'info', 'warning', 'critical', 'unknown']);
export type CheckStatus = z.infer<typeof checkStatus>;

export interface CheckResult {
  /** Alert dedup key and state key: `health:<service>:<check>`, one per check. */
  key: string;
  service: string;
  check: string;
  status: CheckStatus;
  summary: string;
  /** Set when the check carries its own severity (SQL alert rules); otherwise derived from status. */
  severity?: Severity;
  value?: number;
  unit?: string;
  details?: Record<string, unknown>;
  /** A customer-facing failure also opens a status page incident. */
  customerFacing?: boolean;
}

export const checkKey = (service: string, check: string) => `health:${service}:${check}`;

/**
 * Monitoring & Alerts → Alert Thresholds: "Critical (immediate action required)" pages at once (P0);
 * "Warning (investigate within 1 hour)" matches the P1 response time. "Info (monitor, no immediate
 * action)" is recorded but opens nothing.
 */
export const SEVERITY_OF_STATUS: Partial<Record<CheckStatus, Severity>> = { critical: 'P0', warning: 'P1' };

/** A check whose alerting state changed in this run: the only thing sent to the alert path. */
export interface AlertTransition {
  key: string;
  service: string;
  check: string;
  from: 'ok' | 'warning' | 'critical';
  to: 'ok' | 'warning' | 'critical';
  severity?: Severity;
  summary: string;
  customerFacing?: boolean;
}

export interface HealthCheckResult {
  total: number;
  failing: { key: string; status: CheckStatus; summary: string }[];
  /** Checks that could not run (no answer from a status page, a rule's table missing): recorded, alerting nobody. */
  unknown: { key: string; summary: string }[];
  transitions: AlertTransition[];
  alertsRaised: number;
}

export const healthCheckWorkflowId = (at: Date) => `health-check-${at.toISOString().replace(/[:.]/g, '-')}`;

// ---------------------------------------------------------------------------------------------------------
// maintenance

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

/** The innermost message of a failure chain (ActivityFailure → ApplicationFailure → …): what actually went wrong. */
export function failureReason(err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e.message) message = e.message;
  return message;
}

export const maintenanceWorkflowId = (kind: MaintenanceKind, at: Date) =>
  `maintenance-${kind}-${at.toISOString().replace(/[:.]/g, '-')}`;

// ---------------------------------------------------------------------------------------------------------
// schedules

/** Stable schedule ids: applying the config again updates these instead of creating others. */
export const SCHEDULE_IDS = {
  health: 'schedule-health',
  maintenance: (kind: MaintenanceKind) => `schedule-maintenance-${kind}`,
  backup: (database: string) => `schedule-backup-${database}`,
} as const;

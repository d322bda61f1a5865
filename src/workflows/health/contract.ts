import { z } from 'zod';
import type { RunbookConfig } from '../../config/schema';
import type { Severity } from '../common';

/** Health checks: the workflow input, the plan it fans out over, and the results the checks hand back. */

export const healthCheckInput = z.object({
  requestedBy: z.string().min(1).default('schedule'),
  /** Retries of one check before it counts as failed (a flaky probe must not page anyone). */
  checkAttempts: z.number().int().min(1).max(10).default(2),
});
export type HealthCheckInput = z.input<typeof healthCheckInput>;

/** What the health workflow fans out over, from the configuration. */
export interface HealthPlan {
  services: string[];
  databases: string[];
  providers: boolean;
  supabase: boolean;
  tlsHosts: boolean;
  sqlRules: boolean;
}

export function planFrom(config: RunbookConfig): HealthPlan {
  const m = config.maintenance;
  const supabase = config.platforms.supabase;
  return {
    services: config.services.map((s) => s.name),
    databases: Object.keys(config.databases),
    providers: Object.keys(config.platforms.providers).length > 0,
    supabase: Boolean(supabase.projectRef || supabase.edgeFunctions.length || m.botWebhooks.length),
    tlsHosts: m.tlsHosts.length > 0,
    sqlRules: m.sqlAlertRules.length > 0,
  };
}

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
  /** The dedup key of the incident this check's alert joins, when not its own (`key`): one overload, one incident. */
  incidentKey?: string;
}

export const checkKey = (service: string, check: string) => `health:${service}:${check}`;

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
  incidentKey?: string;
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

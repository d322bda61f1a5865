import { createHash } from 'node:crypto';
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import type { RunbookConfig } from '../config/schema';
import type { BackupInput } from '../workflows/backup/contract';
import type { HealthCheckInput } from '../workflows/health/contract';
import { MAINTENANCE_KINDS, SCHEDULE_IDS, type MaintenanceInput } from '../workflows/maintenance/contract';
import { RunbookKind, RunbookService } from '../workflows/common/search-attributes';

/**
 * The runbooks' recurring work as Temporal Schedules: health checks every 5 minutes, daily/weekly/monthly/
 * quarterly maintenance, and a daily backup per database. Applying is idempotent: each schedule carries a
 * hash of its definition, and a schedule whose hash matches the configuration is left untouched.
 */

/** Schedule memo marking the schedules this service owns (and may delete when they leave the config). */
export const MANAGED_BY = 'durable-runbooks';

export interface DesiredSchedule {
  options: ScheduleOptions;
  /** Hash of spec, action and policies: equal hash = nothing to update. */
  hash: string;
}

function withHash(options: ScheduleOptions, when: string): DesiredSchedule {
  const canonical = JSON.stringify({ spec: options.spec, action: options.action, policies: options.policies });
  const hash = createHash('sha256').update(canonical).digest('hex').slice(0, 16);
  // The server turns cron strings into calendars; the memo keeps the configured form for `schedules list`.
  return { hash, options: { ...options, action: { ...options.action, memo: { scheduleDefinition: hash, when } } } };
}

export function desiredSchedules(config: RunbookConfig): DesiredSchedule[] {
  const s = config.schedules;
  const taskQueue = config.temporal.taskQueue;
  const timezone = config.timezone;
  // Explicit policies: never two runs of one schedule at once; after an outage, catch up within the window.
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: s.catchupWindow, pauseOnFailure: false };
  const common = {
    memo: { managedBy: MANAGED_BY },
    state: { paused: s.paused, note: s.paused ? 'paused by configuration (schedules.paused)' : undefined },
  };
  const out: DesiredSchedule[] = [];

  const health: HealthCheckInput = { requestedBy: 'schedule' };
  out.push(
    withHash(
      {
        ...common,
        scheduleId: SCHEDULE_IDS.health,
        spec: { intervals: [{ every: s.healthCheck.every }], timezone },
        action: {
          type: 'startWorkflow',
          workflowType: 'healthCheck',
          workflowId: 'health-check',
          taskQueue,
          args: [health],
          typedSearchAttributes: [{ key: RunbookKind, value: 'healthCheck' }],
          staticSummary: 'Scheduled health check (System Status, Monitoring & Alerts)',
        },
        // A missed health check is superseded by the next one: catch up at most one interval.
        policies: { ...policies, catchupWindow: Math.max(60_000, Math.min(s.catchupWindow, s.healthCheck.every)) },
      },
      `every ${formatMs(s.healthCheck.every)}`,
    ),
  );

  for (const kind of MAINTENANCE_KINDS) {
    const input: MaintenanceInput = { kind, requestedBy: 'schedule' };
    out.push(
      withHash(
        {
          ...common,
          scheduleId: SCHEDULE_IDS.maintenance(kind),
          spec: { cronExpressions: [s.maintenance[kind]], timezone },
          action: {
            type: 'startWorkflow',
            workflowType: 'maintenance',
            workflowId: `maintenance-${kind}`,
            taskQueue,
            args: [input],
            typedSearchAttributes: [{ key: RunbookKind, value: 'maintenance' }],
            staticSummary: `Scheduled ${kind} maintenance (Maintenance Tasks)`,
          },
          policies,
        },
        `cron "${s.maintenance[kind]}"`,
      ),
    );
  }

  for (const database of config.backup.databases) {
    const input: BackupInput = { database, requestedBy: 'schedule', trigger: 'schedule' };
    out.push(
      withHash(
        {
          ...common,
          scheduleId: SCHEDULE_IDS.backup(database),
          spec: { cronExpressions: [s.backup.cron], timezone },
          action: {
            type: 'startWorkflow',
            workflowType: 'backup',
            workflowId: `backup-${database}`,
            taskQueue,
            args: [input],
            typedSearchAttributes: [
              { key: RunbookKind, value: 'backup' },
              { key: RunbookService, value: database },
            ],
            staticSummary: `Scheduled daily backup of ${database} (Backup & Recovery)`,
          },
          policies,
        },
        `cron "${s.backup.cron}"`,
      ),
    );
  }
  return out;
}

export type ApplyAction = 'created' | 'updated' | 'unchanged' | 'paused' | 'deleted';

export interface ApplyOutcome {
  scheduleId: string;
  action: ApplyAction;
}

async function describeOrUndefined(client: Client, id: string): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(id).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Creates missing schedules, updates those whose definition changed, and deletes schedules of ours that
 * left the configuration. A schedule an operator paused stays paused; `schedules.paused: true` pauses all.
 */
export async function applySchedules(client: Client, config: RunbookConfig): Promise<ApplyOutcome[]> {
  const desired = desiredSchedules(config);
  const outcomes: ApplyOutcome[] = [];
  for (const d of desired) {
    const id = d.options.scheduleId;
    const current = await describeOrUndefined(client, id);
    if (!current) {
      await client.schedule.create(d.options);
      outcomes.push({ scheduleId: id, action: 'created' });
      continue;
    }
    if (current.action.memo?.scheduleDefinition === d.hash) {
      if (config.schedules.paused && !current.state.paused) {
        await client.schedule.getHandle(id).pause('paused by configuration (schedules.paused)');
        outcomes.push({ scheduleId: id, action: 'paused' });
      } else {
        outcomes.push({ scheduleId: id, action: 'unchanged' });
      }
      continue;
    }
    await client.schedule.getHandle(id).update((prev) => ({
      spec: d.options.spec,
      action: d.options.action,
      policies: d.options.policies,
      state: {
        paused: config.schedules.paused || prev.state.paused,
        note: config.schedules.paused ? 'paused by configuration (schedules.paused)' : prev.state.note,
      },
    }));
    outcomes.push({ scheduleId: id, action: 'updated' });
  }
  const wanted = new Set(desired.map((d) => d.options.scheduleId));
  for await (const summary of client.schedule.list()) {
    if (summary.memo?.managedBy !== MANAGED_BY || wanted.has(summary.scheduleId)) continue;
    await client.schedule.getHandle(summary.scheduleId).delete();
    outcomes.push({ scheduleId: summary.scheduleId, action: 'deleted' });
  }
  return outcomes;
}

export interface ScheduleRow {
  scheduleId: string;
  workflowType: string;
  when: string;
  timezone?: string;
  paused: boolean;
  note?: string;
  overlap: string;
  catchupWindowMs: number;
  nextRuns: string[];
  lastRun?: { workflowId: string; at: string };
  running: number;
  inConfig: boolean;
}

function describeWhen(d: ScheduleDescription): string {
  const parts: string[] = [];
  for (const i of d.spec.intervals ?? []) parts.push(`every ${formatMs(Number(i.every))}`);
  for (const c of d.spec.calendars ?? []) parts.push(c.comment || calendarText(c));
  return parts.join('; ') || '(no spec)';
}

function calendarText(c: NonNullable<ScheduleDescription['spec']['calendars']>[number]): string {
  const f = (ranges: unknown) =>
    (ranges as { start: number | string; end?: number | string; step?: number }[] | undefined)
      ?.map((r) => (r.end !== undefined && r.end !== r.start ? `${r.start}-${r.end}` : String(r.start)))
      .join(',') ?? '*';
  return `${f(c.minute)} ${f(c.hour)} ${f(c.dayOfMonth)} ${f(c.month)} ${f(c.dayOfWeek)}`;
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

/** Every schedule in the configuration (missing ones included) and any other schedule this service owns. */
export async function listSchedules(client: Client, config: RunbookConfig): Promise<ScheduleRow[]> {
  const ids = desiredSchedules(config).map((d) => d.options.scheduleId);
  const wanted = new Set(ids);
  for await (const summary of client.schedule.list()) {
    if (summary.memo?.managedBy === MANAGED_BY && !wanted.has(summary.scheduleId)) ids.push(summary.scheduleId);
  }
  const rows: ScheduleRow[] = [];
  for (const id of ids) {
    const d = await describeOrUndefined(client, id);
    if (!d) {
      rows.push({
        scheduleId: id,
        workflowType: '-',
        when: 'not created: run `runbook schedules apply`',
        paused: false,
        overlap: '-',
        catchupWindowMs: 0,
        nextRuns: [],
        running: 0,
        inConfig: true,
      });
      continue;
    }
    const last = d.info.recentActions.at(-1);
    rows.push({
      scheduleId: id,
      workflowType: d.action.type === 'startWorkflow' ? d.action.workflowType : '-',
      when: typeof d.action.memo?.when === 'string' ? d.action.memo.when : describeWhen(d),
      timezone: d.spec.timezone,
      paused: d.state.paused,
      note: d.state.note,
      overlap: String(d.policies.overlap),
      catchupWindowMs: d.policies.catchupWindow,
      nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
      lastRun: last ? { workflowId: last.action.workflow.workflowId, at: last.takenAt.toISOString() } : undefined,
      running: d.info.runningActions.length,
      inConfig: wanted.has(id),
    });
  }
  return rows;
}

/** Accepts `schedule-health`, `health`, `maintenance-weekly`, `backup-app`. */
export function resolveScheduleId(config: RunbookConfig, name: string): string | undefined {
  const ids = desiredSchedules(config).map((d) => d.options.scheduleId);
  const candidate = name.startsWith('schedule-') ? name : `schedule-${name}`;
  return ids.includes(candidate) ? candidate : undefined;
}

export { ScheduleNotFoundError };

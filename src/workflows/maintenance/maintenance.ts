import { ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { MaintenanceActivities } from '../../activities/maintenance';
import { verifyBackupWorkflowId, type VerifyBackupInput } from '../backup/contract';
import { activityPresets, messageOf, parseInput, publish, RunbookKind } from '../common';
import {
  maintenanceInput,
  type MaintenanceInput,
  type MaintenanceResult,
  type MaintenanceStep,
  type ReportName,
  type StepOutcome,
} from './contract';
import { MONTHLY_TASKS, QUARTERLY_TASKS, taskList } from './reminders';

/**
 * Maintenance Tasks (daily, weekly, monthly, quarterly), one kind per run. Every step lands in the report,
 * and a failing step is reported with its reason while the remaining steps still run.
 */
export async function maintenance(raw: MaintenanceInput): Promise<MaintenanceResult> {
  const input = parseInput(maintenanceInput, raw);
  const { kind } = input;
  const { workflowId } = workflowInfo();
  const startedAt = new Date().toISOString();
  const options = activityPresets({
    quickTimeout: '10m',
    longTimeout: '24h',
    heartbeatTimeout: input.heartbeatTimeout,
    retry: { maximumAttempts: input.stepAttempts, initialInterval: input.retryInterval },
  });
  const quick = proxyActivities<MaintenanceActivities>(options.quick);
  const long = proxyActivities<MaintenanceActivities>(options.long);
  publish({ kind: 'maintenance', status: 'running' });

  const steps: MaintenanceStep[] = [];
  async function step(name: string, stage: string, run: () => Promise<StepOutcome>): Promise<StepOutcome> {
    publish({ stage });
    const started = Date.now();
    let outcome: StepOutcome;
    try {
      outcome = await run();
    } catch (err) {
      outcome = { status: 'failed', summary: messageOf(err) };
    }
    steps.push({ name, ...outcome, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started });
    return outcome;
  }
  const report =
    (database: string, name: ReportName, days = 7) =>
    () =>
      quick.databaseReport({ database, report: name, days });

  const plan = await quick.maintenancePlan();

  if (kind === 'daily') {
    // Database Operations → Data Cleanup: each policy in primary-key batches, resumable after a crash.
    for (const p of plan.cleanup) {
      await step(`cleanup ${p.name}`, 'cleanup', () => long.cleanupExpiredRows({ runKey: workflowId, policy: p.name }));
    }
    // Daily manual tasks: review the error dashboard and the cost dashboard.
    await step('health checks, last 24 h', 'reports', () => quick.healthSummary({ hours: 24 }));
    for (const db of plan.databases) {
      await step(`${db}: connections`, 'reports', report(db, 'connections'));
      await step(`${db}: AI cost per day`, 'reports', report(db, 'cost-per-day', 1));
    }
  }

  if (kind === 'weekly') {
    // Update Statistics (weekly), then the performance check and the security audit.
    for (const db of plan.databases) {
      await step(`${db}: ANALYZE`, 'statistics', () => long.updateStatistics({ database: db, vacuum: false }));
      await step(`${db}: table sizes`, 'reports', report(db, 'table-sizes'));
      await step(`${db}: connections`, 'reports', report(db, 'connections'));
      await step(`${db}: slow queries`, 'reports', report(db, 'slow-queries'));
      await step(`${db}: sequential scans`, 'reports', report(db, 'seq-scans'));
      await step(`${db}: security audit`, 'reports', report(db, 'security-audit', 7));
      await step(`${db}: AI cost per day`, 'reports', report(db, 'cost-per-day', 7));
    }
    await step('health checks, last 7 days', 'reports', () => quick.healthSummary({ hours: 168 }));
  }

  if (kind === 'monthly') {
    // Database maintenance (vacuum, analyze). VACUUM FULL only where enabled: it locks the table out.
    for (const db of plan.databases) {
      await step(`${db}: VACUUM (ANALYZE)`, 'statistics', () => long.updateStatistics({ database: db, vacuum: true }));
    }
    for (const table of plan.vacuumFullTables) {
      await step(`VACUUM FULL ${table}`, 'statistics', () => long.vacuumFullTable({ table }));
    }
    // Capacity planning, monthly costs, security audit.
    for (const db of plan.databases) {
      await step(`${db}: database size growth`, 'reports', report(db, 'size-growth'));
      await step(`${db}: table sizes`, 'reports', report(db, 'table-sizes'));
      await step(`${db}: AI cost per day`, 'reports', report(db, 'cost-per-day', 31));
      await step(`${db}: security audit`, 'reports', report(db, 'security-audit', 31));
    }
    // Backup verification: a real restore of the latest backup, in its own workflow.
    await step('backup verification', 'backups', async () => {
      if (!plan.backupDatabases.length) return { status: 'skipped', summary: 'no databases under backup.databases' };
      const started: string[] = [];
      for (const database of plan.backupDatabases) {
        const args: VerifyBackupInput = { database, requestedBy: workflowId };
        const child = await startChild('verifyBackup', {
          workflowId: verifyBackupWorkflowId(new Date(), `latest-${database}`),
          args: [args],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          typedSearchAttributes: [{ key: RunbookKind, value: 'verifyBackup' }],
          staticSummary: `Monthly verification of the latest ${database} backup`,
        });
        started.push(child.workflowId);
      }
      return { status: 'ok', summary: `started ${started.join(', ')}`, data: { workflowIds: started } };
    });
    // Update dependencies: the report only; the update itself is a reviewed deploy.
    await step('dependencies', 'reports', () =>
      plan.dependencyReport
        ? quick.dependencyReport()
        : Promise.resolve<StepOutcome>({ status: 'skipped', summary: 'no maintenance.appCheckout configured' }),
    );
    await step('monthly review', 'reminders', async () => ({
      status: 'ok',
      summary: `${MONTHLY_TASKS.length} tasks for people`,
      markdown: taskList(MONTHLY_TASKS),
    }));
  }

  if (kind === 'quarterly') {
    // Performance Optimization: analyse slow queries, large tables, indexes.
    for (const db of plan.databases) {
      await step(`${db}: slow queries`, 'reports', report(db, 'slow-queries'));
      await step(`${db}: sequential scans`, 'reports', report(db, 'seq-scans'));
      await step(`${db}: table sizes`, 'reports', report(db, 'table-sizes'));
    }
    // Security Review: key rotation and access review stay with people.
    await step('security review', 'reminders', async () => ({
      status: 'ok',
      summary: `${QUARTERLY_TASKS.length} tasks: key rotation, access review, …`,
      markdown: taskList(QUARTERLY_TASKS),
    }));
  }

  // The report: stored in the ops database, then posted to chat.
  publish({ stage: 'report' });
  const { reportId } = await quick.storeMaintenanceReport({ workflowId, kind, startedAt, steps });
  if (input.postToChat && plan.chat.length) {
    for (const channel of plan.chat) {
      await step(`post to ${channel}`, 'report', () => quick.postMaintenanceReport({ reportId, channel }));
    }
    await quick.storeMaintenanceReport({ workflowId, kind, startedAt, steps });
  }
  const failed = steps.filter((s) => s.status === 'failed').length;
  publish({ status: failed ? 'completed-with-failures' : 'completed' });
  return { kind, reportId, failed, steps: steps.map((s) => ({ name: s.name, status: s.status, summary: s.summary })) };
}

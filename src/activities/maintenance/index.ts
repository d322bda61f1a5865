import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client, Pool } from 'pg';
import { connect } from '../../db/connect';
import {
  planFrom,
  type CleanupProgress,
  type MaintenanceKind,
  type MaintenancePlan,
  type MaintenanceStep,
  type ReportName,
  type StepOutcome,
} from '../../workflows/maintenance/contract';
import { invalidInput, type ActivityDeps } from '../deps';
import { CleanupConfigError, CleanupSupersededError, runCleanup } from './cleanup';
import { dependencyReport as npmDependencyReport } from './dependencies';
import { runLong } from './long-statement';
import { chatSummary, formatBytes, mdTable, renderMaintenanceReport } from './markdown';
import { runReport } from './reports';

const heartbeatEvery = () => Math.max(1_000, Math.min(10_000, (Context.current().info.heartbeatTimeoutMs ?? 30_000) / 3));

export function createMaintenanceActivities(deps: ActivityDeps) {
  const cfg = () => deps.config.maintenance;
  const findPolicy = (name: string) => {
    const policy = cfg().cleanup.find((p) => p.name === name);
    if (!policy) throw invalidInput(`no cleanup policy "${name}" in maintenance.cleanup`);
    return policy;
  };

  return {
    async maintenancePlan(): Promise<MaintenancePlan> {
      return planFrom(deps.config);
    },

    /** Data Cleanup, one policy: batched, resumable, heartbeating its progress. */
    async cleanupExpiredRows(input: { runKey: string; policy: string }): Promise<StepOutcome> {
      const policy = findPolicy(input.policy);
      const ctx = Context.current();
      const url = deps.databaseUrl(policy.database);
      const target = await connect(url, 'runbook-cleanup');
      try {
        const held = await evidenceHold(target, deps.ops, policy.database, policy.table);
        if (held) return { status: 'skipped', summary: held, data: { table: policy.table, held: true } };
        const previous = ctx.info.heartbeatDetails as CleanupProgress | undefined;
        const r = await runCleanup({
          target,
          database: policy.database,
          ops: deps.ops,
          policy,
          runKey: input.runKey,
          lockTimeoutMs: cfg().lockTimeout,
          statementTimeoutMs: cfg().statementTimeout,
          signal: ctx.cancellationSignal,
          onProgress: (p) => ctx.heartbeat(p),
        });
        if (r.status === 'skipped') return { status: 'skipped', summary: r.reason ?? 'skipped', data: { ...r } };
        const resumedNote = r.resumed ? ` (resumed after an interrupted attempt${previous ? ` at ${previous.deleted} rows` : ''})` : '';
        return {
          status: 'ok',
          summary: `deleted ${r.deleted} rows from ${r.table} older than ${r.cutoff} in ${r.batches} batches${resumedNote}`,
          data: { ...r },
        };
      } catch (err) {
        if (err instanceof CleanupConfigError) throw ApplicationFailure.nonRetryable(err.message, 'CleanupConfig');
        if (err instanceof CleanupSupersededError) throw ApplicationFailure.nonRetryable(err.message, 'Superseded');
        throw err;
      } finally {
        await target.end().catch(() => undefined);
      }
    },

    /** Update Statistics (weekly: ANALYZE) or database maintenance (monthly: VACUUM (ANALYZE)). */
    async updateStatistics(input: { database: string; vacuum: boolean }): Promise<StepOutcome> {
      const ctx = Context.current();
      const url = deps.databaseUrl(input.database);
      const client = await connect(url, 'runbook-maintenance');
      const started = Date.now();
      try {
        // SKIP_LOCKED: a table someone holds a conflicting lock on is left for next time instead of waited for.
        const sql = input.vacuum ? 'VACUUM (ANALYZE, SKIP_LOCKED)' : 'ANALYZE (SKIP_LOCKED)';
        await client.query(`SET lock_timeout = ${cfg().lockTimeout}`);
        await runLong(client, url, () => client.query(sql), {
          beat: () => ctx.heartbeat({ sql }),
          everyMs: heartbeatEvery(),
          signal: ctx.cancellationSignal,
        });
        return { status: 'ok', summary: `${sql} of "${input.database}" in ${((Date.now() - started) / 1000).toFixed(1)} s` };
      } finally {
        await client.end().catch(() => undefined);
      }
    },

    /** VACUUM FULL of one explicitly enabled table, in every configured database that has it. */
    async vacuumFullTable(input: { table: string }): Promise<StepOutcome> {
      const ctx = Context.current();
      const done: string[] = [];
      const missing: string[] = [];
      for (const database of Object.keys(deps.config.databases)) {
        const url = deps.databaseUrl(database);
        const client = await connect(url, 'runbook-maintenance');
        try {
          const { rows } = await client.query<{ name: string | null }>('SELECT to_regclass($1)::text AS name', [input.table]);
          const name = rows[0]?.name;
          if (!name) {
            missing.push(database);
            continue;
          }
          const { rows: before } = await client.query<{ bytes: string }>('SELECT pg_total_relation_size($1::regclass)::text AS bytes', [
            name,
          ]);
          // It takes an ACCESS EXCLUSIVE lock: give up quickly rather than queue every reader behind us.
          await client.query(`SET lock_timeout = ${cfg().lockTimeout}`);
          await client.query('SET statement_timeout = 0');
          await runLong(client, url, () => client.query(`VACUUM (FULL, ANALYZE) ${name}`), {
            beat: () => ctx.heartbeat({ table: name, database }),
            everyMs: heartbeatEvery(),
            signal: ctx.cancellationSignal,
          });
          const { rows: after } = await client.query<{ bytes: string }>('SELECT pg_total_relation_size($1::regclass)::text AS bytes', [
            name,
          ]);
          done.push(`${database}: ${name} ${formatBytes(Number(before[0].bytes))} → ${formatBytes(Number(after[0].bytes))}`);
        } finally {
          await client.end().catch(() => undefined);
        }
      }
      if (!done.length) return { status: 'skipped', summary: `table ${input.table} does not exist in ${missing.join(', ')}` };
      return { status: 'ok', summary: `VACUUM FULL ${done.join('; ')}` };
    },

    async databaseReport(input: { database: string; report: ReportName; days: number }): Promise<StepOutcome> {
      // A report must never sit on the database: every query ends at maintenance.statementTimeout (a lock wait too).
      const client = await connect(deps.databaseUrl(input.database), 'runbook-report', {
        statement_timeout: cfg().statementTimeout,
        lock_timeout: cfg().lockTimeout,
      });
      try {
        return await runReport(input.report, { client, database: input.database, ops: deps.ops, config: deps.config }, input.days);
      } finally {
        await client.end().catch(() => undefined);
      }
    },

    /** Review error dashboard: what the health checks saw over the last hours, from the ops database. */
    async healthSummary(input: { hours: number }): Promise<StepOutcome> {
      const { rows } = await deps.ops.query<{ check_key: string; failing: number; total: number; worst: string; last_summary: string }>(
        `SELECT r.check_key, count(*) FILTER (WHERE r.status IN ('warning', 'critical'))::int AS failing, count(*)::int AS total,
                CASE WHEN bool_or(r.status = 'critical') THEN 'critical' WHEN bool_or(r.status = 'warning') THEN 'warning' ELSE 'ok' END AS worst,
                (array_agg(r.summary ORDER BY h.checked_at DESC) FILTER (WHERE r.status IN ('warning', 'critical')))[1] AS last_summary
           FROM health_results r JOIN health_runs h ON h.id = r.run_id
          WHERE h.checked_at > now() - $1::int * interval '1 hour'
          GROUP BY r.check_key ORDER BY failing DESC, r.check_key`,
        [input.hours],
      );
      const runs = await deps.ops.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM health_runs WHERE checked_at > now() - $1::int * interval '1 hour'`,
        [input.hours],
      );
      const failing = rows.filter((r) => r.failing > 0);
      return {
        status: 'ok',
        summary: runs.rows[0].n
          ? `${runs.rows[0].n} health runs in ${input.hours} h; ${failing.length ? `${failing.length} checks failed at least once` : 'every check passed every time'}`
          : `no health check ran in the last ${input.hours} h — is schedule-health paused?`,
        markdown: failing.length
          ? mdTable(
              ['check', 'failed runs', 'runs', 'worst', 'last failure'],
              failing.map((r) => [r.check_key, r.failing, r.total, r.worst, r.last_summary]),
            )
          : undefined,
        data: { runs: runs.rows[0].n, failing: failing.map((r) => r.check_key) },
      };
    },

    async dependencyReport(): Promise<StepOutcome> {
      const checkout = cfg().appCheckout;
      if (!checkout) return { status: 'skipped', summary: 'no maintenance.appCheckout configured' };
      return npmDependencyReport(checkout, { env: deps.env });
    },

    /** Stores the report (markdown and steps) in the ops database, once per workflow; storing again replaces it. */
    async storeMaintenanceReport(input: {
      workflowId: string;
      kind: MaintenanceKind;
      startedAt: string;
      steps: MaintenanceStep[];
    }): Promise<{ reportId: number }> {
      const markdown = renderMaintenanceReport({ ...input, name: deps.config.name });
      const failed = input.steps.filter((s) => s.status === 'failed').length;
      const { rows } = await deps.ops.query<{ id: string }>(
        `INSERT INTO maintenance_reports (workflow_id, kind, started_at, failed_steps, steps, markdown)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (workflow_id) DO UPDATE
           SET failed_steps = EXCLUDED.failed_steps, steps = EXCLUDED.steps, markdown = EXCLUDED.markdown, finished_at = now()
         RETURNING id::text`,
        [input.workflowId, input.kind, input.startedAt, failed, JSON.stringify(input.steps), markdown],
      );
      return { reportId: Number(rows[0].id) };
    },

    /** Posts the short form of a stored report to one chat channel (one activity per channel, so a retry never posts twice elsewhere). */
    async postMaintenanceReport(input: { reportId: number; channel: 'slack' | 'telegram' }): Promise<StepOutcome> {
      const { rows } = await deps.ops.query<{ kind: MaintenanceKind; steps: MaintenanceStep[]; workflow_id: string }>(
        'SELECT kind, steps, workflow_id FROM maintenance_reports WHERE id = $1',
        [input.reportId],
      );
      if (!rows.length) throw ApplicationFailure.nonRetryable(`no maintenance report ${input.reportId}`);
      const text = chatSummary(
        { name: deps.config.name, kind: rows[0].kind, steps: rows[0].steps },
        `runbook maintenance show ${rows[0].workflow_id}`,
      );
      const client = deps.platforms?.[input.channel];
      if (!client?.configured) return { status: 'skipped', summary: `${input.channel} is not configured` };
      if (input.channel === 'slack') await deps.platforms!.slack.post({ text });
      else await deps.platforms!.telegram.sendMessage(text);
      return { status: 'ok', summary: `posted to ${input.channel}` };
    },
  };
}

export type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;

/**
 * A security incident's evidence hold on the table (evidence_holds, set by the security playbook): while one is
 * open the cleanup deletes nothing from it. The reason it is skipped, or undefined.
 */
async function evidenceHold(target: Client, ops: Pool, database: string, table: string): Promise<string | undefined> {
  const { rows } = await target.query<{ name: string | null }>('SELECT to_regclass($1)::text AS name', [table]);
  const name = rows[0]?.name;
  if (!name) return undefined;
  const holds = await ops.query<{ incident_id: string | null; hold_id: string }>(
    `SELECT hold_id, incident_id FROM evidence_holds WHERE database = $1 AND table_name = $2 AND released_at IS NULL ORDER BY created_at LIMIT 1`,
    [database, name],
  );
  const h = holds.rows[0];
  return h ? `${name} is held as evidence by ${h.incident_id ?? h.hold_id}; not cleaned while the hold is open` : undefined;
}

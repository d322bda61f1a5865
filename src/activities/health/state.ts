import type { Pool } from 'pg';
import type { Severity } from '../../workflows/common';
import type { AlertTransition, CheckResult, CheckStatus } from '../../workflows/health/contract';

type AlertState = AlertTransition['to'];

/**
 * Monitoring & Alerts → Alert Thresholds: "Critical (immediate action required)" pages at once (P0);
 * "Warning (investigate within 1 hour)" matches the P1 response time. "Info (monitor, no immediate
 * action)" is recorded but opens nothing.
 */
const SEVERITY_OF_STATUS: Partial<Record<CheckStatus, Severity>> = { critical: 'P0', warning: 'P1' };

/** info is recorded but alerts nobody; unknown (the check could not run) leaves the state alone. */
function alertState(r: CheckResult): AlertState | undefined {
  if (r.status === 'unknown') return undefined;
  return r.status === 'warning' || r.status === 'critical' ? r.status : 'ok';
}

/**
 * Stores one health run and returns the checks whose alerting state changed: ok → failing opens an alert,
 * failing → ok resolves it, warning ↔ critical re-raises it with the new severity. A steady failure changes
 * nothing and sends nothing. Idempotent per workflow run: a retried activity gets the first answer again.
 */
export async function recordHealthRun(
  ops: Pool,
  run: { workflowId: string; runId: string; results: CheckResult[] },
): Promise<AlertTransition[]> {
  const client = await ops.connect();
  try {
    await client.query('BEGIN');
    const failing = run.results.filter((r) => r.status === 'warning' || r.status === 'critical').length;
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO health_runs (workflow_id, run_id, failing, total) VALUES ($1, $2, $3, $4)
       ON CONFLICT (workflow_id, run_id) DO NOTHING RETURNING id::text`,
      [run.workflowId, run.runId, failing, run.results.length],
    );
    if (!inserted.rows.length) {
      await client.query('ROLLBACK');
      const { rows } = await ops.query<{ changes: AlertTransition[] }>(
        'SELECT changes FROM health_runs WHERE workflow_id = $1 AND run_id = $2',
        [run.workflowId, run.runId],
      );
      return rows[0].changes;
    }
    const runId = inserted.rows[0].id;
    for (const r of run.results) {
      await client.query(
        `INSERT INTO health_results (run_id, check_key, service, check_name, status, summary, value, unit, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (run_id, check_key) DO NOTHING`,
        [
          runId,
          r.key,
          r.service,
          r.check,
          r.status,
          r.summary,
          r.value ?? null,
          r.unit ?? null,
          r.details ? JSON.stringify(r.details) : null,
        ],
      );
    }
    // Row locks on the states we change: two overlapping runs cannot both send the same transition.
    const keys = run.results.map((r) => r.key);
    const { rows: states } = await client.query<{ check_key: string; status: AlertState; severity: string | null }>(
      'SELECT check_key, status, severity FROM health_alert_state WHERE check_key = ANY($1) FOR UPDATE',
      [keys],
    );
    const previous = new Map(states.map((s) => [s.check_key, s]));
    const changes: AlertTransition[] = [];
    for (const r of run.results) {
      const to = alertState(r);
      if (!to) continue;
      const severity = to === 'ok' ? undefined : (r.severity ?? SEVERITY_OF_STATUS[to]);
      const before = previous.get(r.key);
      const from: AlertState = before?.status ?? 'ok';
      const changed = from !== to || (to !== 'ok' && (before?.severity ?? undefined) !== severity);
      await client.query(
        `INSERT INTO health_alert_state (check_key, status, severity, summary, since, updated_at, workflow_id)
         VALUES ($1, $2, $3, $4, now(), now(), $5)
         ON CONFLICT (check_key) DO UPDATE SET
           status = EXCLUDED.status, severity = EXCLUDED.severity, summary = EXCLUDED.summary, updated_at = now(),
           workflow_id = EXCLUDED.workflow_id,
           since = CASE WHEN health_alert_state.status = EXCLUDED.status THEN health_alert_state.since ELSE now() END`,
        [r.key, to, severity ?? null, r.summary, run.workflowId],
      );
      if (changed)
        changes.push({
          key: r.key,
          service: r.service,
          check: r.check,
          from,
          to,
          severity,
          summary: r.summary,
          customerFacing: r.customerFacing,
          ...(r.incidentKey ? { incidentKey: r.incidentKey } : {}),
        });
    }
    await client.query('UPDATE health_runs SET changes = $2 WHERE id = $1', [runId, JSON.stringify(changes)]);
    await client.query('COMMIT');
    return changes;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

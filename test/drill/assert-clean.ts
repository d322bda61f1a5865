import type { ScenarioResult } from '../../src/drill/types';
import { DRILL_SCHEMA } from '../../src/drill/scenarios/data-loss';
import type { TestDrillWorld } from './world';

/** What a drill must leave behind: nothing running, nothing paged, nothing degraded, no drill objects. */
export async function worldProblems(t: TestDrillWorld): Promise<string[]> {
  const problems: string[] = [];
  const { world, sandbox, app } = t;
  for await (const w of world.client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    if (w.taskQueue === world.taskQueue || w.taskQueue.startsWith('drill_scaled') || w.taskQueue.startsWith(`${world.taskQueue}-drill-`))
      problems.push(`still running: ${w.workflowId} (${w.type})`);
  }
  const open = Object.entries(sandbox.pagerduty.alerts()).filter(([, s]) => s !== 'resolved');
  if (open.length) problems.push(`PagerDuty alerts not resolved: ${open.map(([k, s]) => `${k}=${s}`).join(', ')}`);
  const statuspage = sandbox.statuspage.incidents().filter((i) => i.status !== 'resolved');
  if (statuspage.length) problems.push(`status page incidents open: ${statuspage.map((i) => i.name).join(', ')}`);
  const providers = Object.entries(sandbox.state.snapshot().providers).filter(([, p]) => p.indicator !== 'none');
  if (providers.length) problems.push(`providers not operational: ${providers.map(([n]) => n).join(', ')}`);
  const degraded = sandbox.state
    .snapshot()
    .apps.instances.filter((i) => i.profile.errorRate > 1 || i.profile.healthy === false || i.profile.maintenance === true);
  if (degraded.length) problems.push(`degraded app instances: ${degraded.map((i) => i.deploymentId).join(', ')}`);
  const schema = await app.pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [DRILL_SCHEMA]);
  if (schema.rowCount) problems.push(`schema ${DRILL_SCHEMA} left in the app database`);
  // Roles are cluster-wide and other test files share the cluster: a role left behind shows as a failed
  // cleanup step in the result (`clean`); here, no session of a drill role may be left in this database.
  const sessions = await app.pool.query(
    "SELECT usename, query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND (usename LIKE 'runbook_drill_%' OR query LIKE '%pg_sleep(3600)%')",
  );
  if (sessions.rowCount)
    problems.push(`drill sessions left: ${sessions.rows.map((r) => `${r.usename}: ${String(r.query).slice(0, 40)}`).join(', ')}`);
  return problems;
}

export function explain(r: ScenarioResult): string {
  return JSON.stringify({ outcome: r.outcome, failures: r.failures, cleanup: r.cleanupProblems, notes: r.notes }, null, 2);
}

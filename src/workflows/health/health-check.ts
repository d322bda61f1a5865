import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { HealthActivities } from '../../activities/health';
import { messageOf, parseInput, publish, type RaisedAlertInput } from '../common';
import {
  checkKey,
  healthCheckInput,
  type AlertTransition,
  type CheckResult,
  type HealthCheckInput,
  type HealthCheckResult,
} from './contract';

const quick = proxyActivities<HealthActivities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 5 } });
// Alert delivery keeps retrying: a transition recorded but never raised would leave its incident unopened or unresolved.
const alerts = proxyActivities<Pick<Activities, 'raiseAlerts'>>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumInterval: '1m' },
});

/**
 * One alert per changed check; the check key is the dedup key, so every check has its own incident, unless
 * it names the incident it joins (a SQL rule's `sameIncidentAs`): then it is one more alert of that incident.
 */
function toAlert(t: AlertTransition): RaisedAlertInput {
  const now = new Date().toISOString();
  return {
    source: 'health-check',
    dedupKey: t.incidentKey ?? t.key,
    fingerprint: t.key,
    status: t.to === 'ok' ? 'resolved' : 'firing',
    ...(t.severity ? { severity: t.severity } : {}),
    service: t.service,
    summary: t.summary,
    labels: { check: t.check, status: t.to, alertname: t.key },
    ...(t.customerFacing !== undefined ? { customerFacing: t.customerFacing } : {}),
    ...(t.to === 'ok' ? { endsAt: now } : {}),
  };
}

/**
 * System Status and Monitoring & Alerts, every 5 minutes: every check of both runbooks runs side by side,
 * the results go to the ops database, and only checks whose state changed raise (or resolve) an alert.
 */
export async function healthCheck(raw: HealthCheckInput = {}): Promise<HealthCheckResult> {
  const input = parseInput(healthCheckInput, raw);
  const checks = proxyActivities<HealthActivities>({
    startToCloseTimeout: '2m',
    retry: { maximumAttempts: input.checkAttempts, initialInterval: '1s' },
  });
  publish({ kind: 'healthCheck' });

  // A check that cannot run at all is "unknown": recorded, and it leaves its alert as it was.
  const guarded = (what: string, run: () => Promise<CheckResult[]>) =>
    run().catch((err): CheckResult[] => [
      {
        key: checkKey('runbook', what),
        service: 'runbook',
        check: what,
        status: 'unknown',
        summary: `${what} could not run: ${messageOf(err)}`,
      },
    ]);

  const plan = await quick.healthPlan();
  const results = (
    await Promise.all([
      // Primary health check, storage, frontend, error rate and p99 of each service.
      ...plan.services.map((service) => guarded(`service-${service}`, () => checks.checkService({ service }))),
      // Database latency, connections against the pool, disk.
      ...plan.databases.map((database) => guarded(`database-${database}`, () => checks.checkDatabase({ database }))),
      // AI provider status pages.
      ...(plan.providers ? [guarded('providers', () => checks.checkProviders())] : []),
      // Supabase project status, Edge Functions (401 = up), Telegram/Slack webhooks.
      ...(plan.supabase ? [guarded('supabase', () => checks.checkSupabase())] : []),
      // TLS certificate expiry.
      ...(plan.tlsHosts ? [guarded('tls', () => checks.checkTls())] : []),
      // Custom SQL alert rules.
      ...(plan.sqlRules ? [guarded('sql-rules', () => checks.evaluateSqlRules())] : []),
    ])
  ).flat();

  // Only changes travel the alert path: a steady failure stays one open incident, a recovery resolves it.
  const transitions = await quick.recordHealth({ results });
  if (transitions.length) await alerts.raiseAlerts(transitions.map(toAlert));

  const failing = results.filter((r) => r.status === 'warning' || r.status === 'critical');
  publish({ status: failing.length ? 'failing' : 'healthy' });
  return {
    total: results.length,
    failing: failing.map((r) => ({ key: r.key, status: r.status, summary: r.summary })),
    unknown: results.filter((r) => r.status === 'unknown').map((r) => ({ key: r.key, summary: r.summary })),
    transitions,
    alertsRaised: transitions.length,
  };
}

import { readFileSync } from 'node:fs';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { QueryConfig } from 'pg';
import { connect } from '../../db/connect';
import { checkKey, planFrom, type AlertTransition, type CheckResult, type HealthPlan } from '../../workflows/health/contract';
import { messageOf } from '../../workflows/common';
import { invalidInput, requirePlatforms, type ActivityDeps } from '../deps';
import { createMetricReader } from '../metrics';
import {
  appHealthChecks,
  connectionsCheck,
  diskCheck,
  edgeFunctionCheck,
  frontendCheck,
  metricCheck,
  metricChecks,
  probeRequest,
  providerCheck,
  supabaseProjectCheck,
  tlsCheck,
  webhookCheck,
} from './checks';
import { recordHealthRun } from './state';
import { readCertificate } from './tls';

const unknown = (key: string, service: string, check: string, why: string): CheckResult => ({
  key,
  service,
  check,
  status: 'unknown',
  summary: why,
});

export function createHealthActivities(deps: ActivityDeps) {
  const cfg = deps.config;
  const signal = () => Context.current().cancellationSignal;
  const platforms = () => requirePlatforms(deps);
  const metricReader = createMetricReader({ ...deps, probe: () => platforms().probe });

  return {
    async healthPlan(): Promise<HealthPlan> {
      return planFrom(cfg);
    },

    /**
     * The app's /api/health (and storage from it), the frontend's 200, and the request metrics against the
     * thresholds: the service's configured metrics through their providers, or else its /api/metrics.
     */
    async checkService(input: { service: string }): Promise<CheckResult[]> {
      const service = cfg.services.find((s) => s.name === input.service);
      if (!service) throw invalidInput(`no service "${input.service}" in the configuration`);
      const { probe } = platforms();
      // A service whose health path is its front page (the second runbook) gets one request, not two.
      const frontPage = service.healthPath === '/';
      const [health, front] = await Promise.all([
        probe.health(service.productionUrl, service.healthPath),
        frontPage ? undefined : probe.get(service.productionUrl),
      ]);
      const results = [...appHealthChecks(service, health)];
      if (front) results.push(frontendCheck(service, front));
      if (service.metrics.length) {
        const readings = await metricReader.readMetrics(service, { baseUrl: service.productionUrl, signal: signal() });
        results.push(...readings.map((r) => metricCheck(service, r)));
      } else if (health.status !== null) {
        try {
          results.push(...metricChecks(service, await probe.metrics(service.productionUrl), cfg.thresholds));
        } catch (err) {
          results.push(
            unknown(checkKey(service.name, 'error-rate'), service.name, 'error-rate', `request metrics unreadable: ${messageOf(err)}`),
          );
        }
      }
      return results;
    },

    /** Database latency (SELECT 1), connections against the pool, and disk use where the disk size is configured. */
    async checkDatabase(input: { database: string }): Promise<CheckResult[]> {
      const db = cfg.databases[input.database];
      const key = checkKey(input.database, 'database');
      const started = performance.now();
      let client;
      try {
        client = await connect(deps.databaseUrl(input.database), 'runbook-health');
        await client.query(`SET statement_timeout = ${cfg.platforms.requestTimeout}`);
        await client.query('SELECT 1');
      } catch (err) {
        await client?.end().catch(() => undefined);
        return [
          {
            key,
            service: input.database,
            check: 'database',
            status: 'critical',
            summary: `database ${input.database} does not answer: ${messageOf(err)}`,
          },
        ];
      }
      try {
        const latency = Math.round(performance.now() - started);
        const results: CheckResult[] = [
          {
            key,
            service: input.database,
            check: 'database',
            status: 'ok',
            summary: `database ${input.database} answers SELECT 1 in ${latency} ms`,
            value: latency,
            unit: 'ms',
          },
        ];
        const { rows } = await client.query<{ n: number; bytes: string }>(
          `SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS n, pg_database_size(current_database())::text AS bytes`,
        );
        results.push(connectionsCheck(input.database, rows[0].n, db.poolSize, cfg.thresholds));
        const disk = cfg.maintenance.diskBytes[input.database];
        if (disk) results.push(diskCheck(input.database, Number(rows[0].bytes), disk, cfg.thresholds));
        return results;
      } finally {
        await client.end().catch(() => undefined);
      }
    },

    /** AI provider status pages (Statuspage format). */
    async checkProviders(): Promise<CheckResult[]> {
      const { providers } = platforms();
      return Promise.all(
        providers.providers.map(async (name) => {
          try {
            return providerCheck(name, await providers.status(name));
          } catch (err) {
            return unknown(checkKey('provider', name), name, 'status-page', `${name} status page unreadable: ${messageOf(err)}`);
          }
        }),
      );
    },

    /** Second runbook: project ACTIVE_HEALTHY, Edge Functions answer 401 to an invalid JWT, bot webhooks answer. */
    async checkSupabase(): Promise<CheckResult[]> {
      const sb = cfg.platforms.supabase;
      const timeoutMs = cfg.platforms.requestTimeout;
      const results: CheckResult[] = [];
      if (sb.projectRef) {
        try {
          results.push(supabaseProjectCheck(sb.projectRef, (await platforms().supabase.getProject(sb.projectRef)).status));
        } catch (err) {
          results.push(
            unknown(checkKey('supabase', 'project'), 'supabase', 'project', `Supabase Management API unreadable: ${messageOf(err)}`),
          );
        }
      }
      const webhooks = cfg.maintenance.botWebhooks;
      const webhookFunctions = new Set(webhooks.map((w) => w.function).filter(Boolean));
      const functionUrl = (slug: string) => (sb.projectUrl ? `${sb.projectUrl.replace(/\/$/, '')}/functions/v1/${slug}` : undefined);
      for (const slug of sb.edgeFunctions.filter((f) => !webhookFunctions.has(f))) {
        const url = functionUrl(slug);
        if (!url) {
          results.push(
            unknown(checkKey('supabase', `function-${slug}`), 'supabase', `function-${slug}`, 'platforms.supabase.projectUrl is not set'),
          );
          continue;
        }
        results.push(
          edgeFunctionCheck(
            slug,
            await probeRequest(url, { headers: { authorization: 'Bearer invalid_token' }, timeoutMs, signal: signal() }),
          ),
        );
      }
      for (const w of webhooks) {
        const url = w.url ?? functionUrl(w.function!);
        if (!url) {
          results.push(unknown(checkKey('webhook', w.name), w.name, 'webhook', 'platforms.supabase.projectUrl is not set'));
          continue;
        }
        results.push(webhookCheck(w.name, await probeRequest(url, { method: 'POST', body: w.body, timeoutMs, signal: signal() })));
      }
      return results;
    },

    /** Certificate expiry of maintenance.tlsHosts. */
    async checkTls(): Promise<CheckResult[]> {
      const m = cfg.maintenance;
      const ca = m.tlsCaFile ? readFileSync(m.tlsCaFile) : undefined;
      return Promise.all(
        m.tlsHosts.map(async (entry) => {
          try {
            const connectTo = m.tlsConnectTo[entry];
            return tlsCheck(
              entry,
              await readCertificate(entry, { timeoutMs: cfg.platforms.requestTimeout, ca, signal: signal(), connectTo }),
              m.tlsWarnDays,
            );
          } catch (err) {
            const via = m.tlsConnectTo[entry] ? ` (via ${m.tlsConnectTo[entry]})` : '';
            return unknown(checkKey('tls', entry), entry, 'tls', `cannot read the certificate of ${entry}${via}: ${messageOf(err)}`);
          }
        }),
      );
    },

    /** Monitoring & Alerts → Custom Alerts: a rule fires when its query returns a row. */
    async evaluateSqlRules(): Promise<CheckResult[]> {
      const results: CheckResult[] = [];
      for (const rule of cfg.maintenance.sqlAlertRules) {
        const key = checkKey(rule.database, `rule-${rule.name}`);
        let client;
        try {
          client = await connect(deps.databaseUrl(rule.database), 'runbook-health');
          await client.query(`SET statement_timeout = ${cfg.platforms.requestTimeout}`);
          // Read-only: a rule can look, never change anything. The rule travels alone in the extended protocol,
          // which takes exactly one statement, so a `COMMIT; DELETE …` cannot end the read-only transaction.
          await client.query('BEGIN READ ONLY');
          const { rows } = await client.query({ text: rule.query, queryMode: 'extended' } as QueryConfig);
          await client.query('ROLLBACK');
          const row = rows[0] as Record<string, unknown> | undefined;
          const shown = row
            ? Object.entries(row)
                .map(([k, v]) => `${k}=${v instanceof Date ? v.toISOString() : String(v)}`)
                .join(', ')
            : '';
          results.push({
            key,
            service: rule.database,
            check: `rule-${rule.name}`,
            status: row ? 'warning' : 'ok',
            severity: row ? rule.severity : undefined,
            summary: row ? `${rule.summary} (${shown})` : `${rule.name}: no rows`,
            details: row ? { rows: rows.length } : undefined,
            ...(rule.sameIncidentAs ? { incidentKey: checkKey(rule.database, rule.sameIncidentAs) } : {}),
          });
        } catch (err) {
          results.push(unknown(key, rule.database, `rule-${rule.name}`, `rule ${rule.name} could not run: ${messageOf(err)}`));
        } finally {
          await client?.end().catch(() => undefined);
        }
      }
      return results;
    },

    /** Stores the run and answers the alert transitions it causes. */
    async recordHealth(input: { results: CheckResult[] }): Promise<AlertTransition[]> {
      const execution = Context.current().info.workflowExecution;
      if (!execution) throw ApplicationFailure.nonRetryable('recordHealth runs inside the healthCheck workflow only');
      const { workflowId, runId } = execution;
      return recordHealthRun(deps.ops, { workflowId, runId, results: input.results });
    },
  };
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;

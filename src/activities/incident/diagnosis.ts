import type { Finding } from '../../workflows/incident/contract';
import { formatElapsed } from '../../workflows/incident/contract';
import { redactQuery } from '../../db/sql';
import { callPlatform } from '../../platforms/activity-errors';
import { requirePlatforms, type ActivityDeps } from '../deps';
import { appAccess } from './services';

/** The runbook's "vercel deployments --since 1h". */
const RECENT_DEPLOYMENTS_MS = 3_600_000;

/** The troubleshooting guide's "Diagnosis" steps: each returns a finding, never a failure the incident must handle. */
export function createDiagnosisActivities(deps: Pick<ActivityDeps, 'config' | 'databaseUrl' | 'platforms'>) {
  const platforms = () => requirePlatforms(deps);
  const { serviceConfig, withAppDatabase } = appAccess(deps);

  return {
    /** Playbook 1, step 2: "Check recent deployments" (production, the last hour). */
    async recentDeployments(args: { service: string }): Promise<Finding> {
      const svc = serviceConfig(args.service);
      const since = Date.now() - RECENT_DEPLOYMENTS_MS;
      if (svc.platform === 'vercel') {
        const items = await callPlatform(() =>
          platforms().vercel.listAllDeployments({ projectId: svc.projectId, target: 'production', since }, 20),
        );
        const recent = items.filter((d) => d.created >= since);
        return {
          check: 'recent-deployments',
          ok: true,
          summary: recent.length
            ? `${recent.length} production deployment(s) in the last hour: ${recent.map((d) => `${d.uid} ${d.readyState} ${formatElapsed(Date.now() - d.created)} ago`).join(', ')}`
            : 'no production deployment in the last hour',
          details: {
            recentCount: recent.length,
            deployments: recent.map((d) => ({ id: d.uid, state: d.readyState, createdAt: new Date(d.created).toISOString(), url: d.url })),
          },
        };
      }
      const deploys = await callPlatform(() => platforms().netlify.listDeploys(svc.projectId, { production: true, perPage: 20 }));
      const recent = deploys.filter((d) => Date.parse(d.created_at) >= since);
      return {
        check: 'recent-deployments',
        ok: true,
        summary: recent.length
          ? `${recent.length} production deploy(s) in the last hour: ${recent.map((d) => `${d.id} ${d.state}`).join(', ')}`
          : 'no production deploy in the last hour',
        details: { recentCount: recent.length, deployments: recent.map((d) => ({ id: d.id, state: d.state, createdAt: d.created_at })) },
      };
    },

    /** "Verify outage: curl <production>/api/health". */
    async checkHealthEndpoint(args: { service: string }): Promise<Finding> {
      const svc = serviceConfig(args.service);
      const r = await platforms().probe.health(svc.productionUrl, svc.healthPath);
      if (r.status === null)
        return { check: 'health-endpoint', ok: false, summary: `${r.url}: no answer (${r.error})`, details: { url: r.url } };
      const healthy = r.status >= 200 && r.status < 300 && (!r.health || r.health.status === 'healthy');
      const failing = Object.entries(r.health?.checks ?? {})
        .filter(([, c]) => c && c.status !== 'healthy')
        .map(([name, c]) => `${name} ${c!.status}${c!.error ? ` (${c!.error})` : ''}`);
      return {
        check: 'health-endpoint',
        ok: healthy,
        summary: `${r.url} answered ${r.status} in ${r.latencyMs} ms${r.health ? `, ${r.health.status}` : ''}${failing.length ? `: ${failing.join(', ')}` : ''}`,
        details: { url: r.url, status: r.status, latencyMs: r.latencyMs, health: r.health?.status ?? null },
      };
    },

    /** "Check AI provider status" on each configured provider's status page. */
    async checkProviderStatus(): Promise<Finding> {
      const providers = platforms().providers;
      const results = await Promise.all(
        providers.providers.map(async (name) => {
          try {
            const s = await providers.status(name);
            return { name, indicator: s.status.indicator as string, description: s.status.description };
          } catch (err) {
            return { name, indicator: 'unknown', description: err instanceof Error ? err.message : String(err) };
          }
        }),
      );
      const down = results.filter((r) => r.indicator === 'major' || r.indicator === 'critical').map((r) => r.name);
      const unknown = results.filter((r) => r.indicator === 'unknown');
      return {
        check: 'provider-status',
        ok: unknown.length === results.length && results.length > 0 ? null : down.length === 0,
        summary:
          results.map((r) => `${r.name} ${r.indicator}${r.indicator !== 'none' ? ` (${r.description})` : ''}`).join(', ') ||
          'no provider status pages configured',
        details: { down, providers: results },
      };
    },

    /** "Check connection pool": connections by state against the configured pool size and thresholds. */
    async checkDatabaseConnections(args: { database: string }): Promise<Finding> {
      const poolSize = deps.config.databases[args.database]?.poolSize ?? 0;
      const { warning, critical } = deps.config.thresholds.dbConnections;
      return withAppDatabase(args.database, async (db) => {
        const { rows } = await db.query<{ state: string | null; n: number }>(
          `SELECT state, count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = current_database() GROUP BY state`,
        );
        const total = rows.reduce((n, r) => n + r.n, 0);
        const percent = poolSize ? Math.round((total / poolSize) * 1000) / 10 : 0;
        const level = percent > critical ? 'critical' : percent > warning ? 'warning' : 'ok';
        return {
          check: 'db-connections',
          ok: level !== 'critical',
          summary: `${total} connection(s), ${percent}% of the pool of ${poolSize} (${rows.map((r) => `${r.state ?? 'unknown'} ${r.n}`).join(', ')})${level !== 'ok' ? ` — above ${level} threshold` : ''}`,
          details: { total, percent, level, byState: Object.fromEntries(rows.map((r) => [r.state ?? 'unknown', r.n])) },
        };
      });
    },

    /** Playbook 3, step 1: "Identify slow queries" running longer than incidents.longQueryThreshold. */
    async findLongRunningQueries(args: { database: string }): Promise<Finding> {
      const threshold = deps.config.incidents.longQueryThreshold;
      return withAppDatabase(args.database, async (db) => {
        const { rows } = await db.query<{ pid: number; usename: string | null; state: string; seconds: number; query: string }>(
          `SELECT pid, usename, state, round(extract(epoch FROM now() - query_start))::int AS seconds, query
           FROM pg_stat_activity
           WHERE state <> 'idle' AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND datname = current_database()
             AND query_start < now() - make_interval(secs => $1::double precision / 1000)
           ORDER BY query_start LIMIT 10`,
          [threshold],
        );
        // The evidence lands in chat and on the timeline: no literals (user data, tokens), and short.
        for (const r of rows) r.query = redactQuery(r.query, 300);
        return {
          check: 'long-running-queries',
          ok: rows.length === 0,
          summary: rows.length
            ? `${rows.length} quer${rows.length === 1 ? 'y' : 'ies'} running over ${formatElapsed(threshold)}: ${rows.map((r) => `pid ${r.pid} (${r.usename}, ${formatElapsed(r.seconds * 1000)}) ${redactQuery(r.query, 80)}`).join('; ')}`
            : `no query running over ${formatElapsed(threshold)}`,
          details: { queries: rows },
        };
      });
    },
  };
}

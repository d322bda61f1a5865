import { ApplicationFailure } from '@temporalio/common';
import type { Client as PgClient } from 'pg';
import { connect } from '../db/connect';
import type { Severity, ServiceConfig } from '../config/schema';
import { renderPostmortem } from '../incidents/postmortem';
import { quoteIdent } from '../db/sql';
import { callPlatform } from '../platforms/activity-errors';
import type { PagerdutySeverity } from '../platforms/schemas';
import type { PlatformClients } from '../platforms/types';
import { formatElapsed, incidentPolicyFrom, type Finding, type IncidentRecord, type IncidentState, type TimelineEvent } from '../shared/incident';
import { invalidInput as invalid, requirePlatforms, type ActivityDeps } from './deps';

/**
 * Side effects of the `incident` workflow: its record in the ops database, paging, chat, the status page,
 * the troubleshooting "Diagnosis" steps and the mitigation playbooks.
 */
const STATUSPAGE_IMPACT: Record<Severity, 'critical' | 'major' | 'minor' | 'none'> = { P0: 'critical', P1: 'major', P2: 'minor', P3: 'none' };
/** The runbook's "vercel deployments --since 1h". */
const RECENT_DEPLOYMENTS_MS = 3_600_000;


export function createIncidentActivities(deps: ActivityDeps) {
  const platforms = (): PlatformClients => requirePlatforms(deps);
  const serviceConfig = (name: string): ServiceConfig => {
    const svc = deps.config.services.find((s) => s.name === name);
    if (!svc) throw invalid(`no service "${name}" in the configuration (services[].name)`);
    return svc;
  };

  /** Runs `fn` once per effect id: a retry after the call succeeded does not page or post again. */
  async function once<T>(effectId: string, incidentId: string, kind: string, fn: () => Promise<T>): Promise<T | undefined> {
    const done = await deps.ops.query('SELECT 1 FROM incident_side_effects WHERE effect_id = $1', [effectId]);
    if (done.rowCount) return undefined;
    const result = await fn();
    await deps.ops.query(
      `INSERT INTO incident_side_effects (effect_id, incident_id, kind, result) VALUES ($1, $2, $3, $4) ON CONFLICT (effect_id) DO NOTHING`,
      [effectId, incidentId, kind, JSON.stringify(result ?? null)],
    );
    return result;
  }

  /** A short-lived connection to a configured database, labelled so the guards below recognise it. */
  async function withDatabase<T>(name: string, fn: (db: PgClient) => Promise<T>): Promise<T> {
    if (!deps.config.databases[name]) throw invalid(`no database "${name}" in the configuration (databases.${name})`);
    const db = await connect(deps.databaseUrl(name), 'runbook-incident', { statement_timeout: 30_000 });
    try {
      return await fn(db);
    } finally {
      await db.end().catch(() => undefined);
    }
  }

  return {
    /** The config subset an incident runs under (read once per incident, so a config change never splits one incident). */
    async incidentPolicy() {
      return incidentPolicyFrom(deps.config);
    },

    // ---- record -------------------------------------------------------------------------------

    /** Upserts the incident row and appends timeline events; a retry inserts nothing twice. */
    async recordIncident(args: { record: IncidentRecord; events: TimelineEvent[] }): Promise<void> {
      const r = args.record;
      const db = await deps.ops.connect();
      try {
        await db.query('BEGIN');
        await db.query(
          `INSERT INTO incidents (id, workflow_id, dedup_key, title, severity, status, service, customer_facing, commander, opened_at,
             acknowledged_at, acknowledged_by, resolved_at, resolved_by, closed_at, statuspage_id, last_seq, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, now())
           ON CONFLICT (id) DO UPDATE SET
             title = EXCLUDED.title, severity = EXCLUDED.severity, status = EXCLUDED.status, service = EXCLUDED.service,
             customer_facing = EXCLUDED.customer_facing, commander = EXCLUDED.commander, acknowledged_at = EXCLUDED.acknowledged_at,
             acknowledged_by = EXCLUDED.acknowledged_by, resolved_at = EXCLUDED.resolved_at, resolved_by = EXCLUDED.resolved_by,
             closed_at = EXCLUDED.closed_at, statuspage_id = EXCLUDED.statuspage_id, last_seq = EXCLUDED.last_seq, updated_at = now()
           WHERE incidents.last_seq <= EXCLUDED.last_seq`,
          [
            r.chainId,
            r.workflowId,
            r.dedupKey,
            r.title,
            r.severity,
            r.status,
            r.service,
            r.customerFacing,
            r.commander ?? null,
            r.openedAt,
            r.acknowledgedAt ?? null,
            r.acknowledgedBy ?? null,
            r.resolvedAt ?? null,
            r.resolvedBy ?? null,
            r.closedAt ?? null,
            r.statuspageId ?? null,
            r.lastSeq,
          ],
        );
        if (args.events.length) {
          await db.query(
            `INSERT INTO incident_events (incident_id, seq, at, actor, kind, text, data)
             SELECT $1, e.seq, e.at, e.by, e.kind, e.text, e.data
             FROM jsonb_to_recordset($2::jsonb) AS e(seq integer, at timestamptz, by text, kind text, text text, data jsonb)
             ON CONFLICT (incident_id, seq) DO NOTHING`,
            [r.chainId, JSON.stringify(args.events)],
          );
        }
        await db.query('COMMIT');
      } catch (err) {
        await db.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        db.release();
      }
    },

    /** The post-mortem draft from the full stored timeline; stored (or replaced, after a reopen) in the ops database. */
    async storePostmortemDraft(args: { chainId: string; state: IncidentState }): Promise<{ actionItems: string[]; chars: number }> {
      const { rows } = await deps.ops.query<{ seq: number; at: Date; actor: string; kind: TimelineEvent['kind']; text: string; data: Record<string, unknown> | null }>(
        'SELECT seq, at, actor, kind, text, data FROM incident_events WHERE incident_id = $1 ORDER BY seq',
        [args.chainId],
      );
      const events: TimelineEvent[] = rows.map((e) => ({ seq: e.seq, at: e.at.toISOString(), by: e.actor, kind: e.kind, text: e.text, ...(e.data ? { data: e.data } : {}) }));
      const draft = renderPostmortem(args.state, events);
      await deps.ops.query(
        `INSERT INTO incident_postmortems (incident_id, markdown, action_items, drafted_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (incident_id) DO UPDATE SET markdown = EXCLUDED.markdown, action_items = EXCLUDED.action_items, drafted_at = now()
         WHERE incident_postmortems.done_at IS NULL`,
        [args.chainId, draft.markdown, JSON.stringify(draft.actionItems)],
      );
      return { actionItems: draft.actionItems, chars: draft.markdown.length };
    },

    async completePostmortemRecord(args: { chainId: string; by: string; link?: string; rootCause?: string; actionItems?: string[] }): Promise<void> {
      await deps.ops.query(
        `UPDATE incident_postmortems SET done_at = COALESCE(done_at, now()), done_by = $2, link = COALESCE($3, link),
           root_cause = COALESCE($4, root_cause), action_items = COALESCE($5::jsonb, action_items)
         WHERE incident_id = $1`,
        [args.chainId, args.by, args.link ?? null, args.rootCause ?? null, args.actionItems ? JSON.stringify(args.actionItems) : null],
      );
    },

    // ---- paging, chat, status page --------------------------------------------------------------

    /** PagerDuty trigger for one on-call level, dedup_key = incident id, with that level's routing key. */
    async pageOnCall(args: {
      chainId: string;
      pageNo: number;
      incidentId: string;
      level: number;
      summary: string;
      severity: PagerdutySeverity;
      service: string;
      details: Record<string, unknown>;
    }): Promise<{ level: string }> {
      const level = deps.config.oncall.levels[args.level];
      if (!level) throw invalid(`no on-call level ${args.level} (oncall.levels has ${deps.config.oncall.levels.length})`);
      const pd = platforms().pagerduty;
      await once(`${args.chainId}:page:${args.pageNo}`, args.chainId, 'page', () =>
        callPlatform(() =>
          pd.trigger({
            dedupKey: args.incidentId,
            summary: args.summary,
            source: args.service,
            severity: args.severity,
            component: args.service,
            group: level.name,
            class: 'incident',
            customDetails: args.details,
            ...(level.pagerdutyRoutingKeyEnv ? { routingKeyEnv: level.pagerdutyRoutingKeyEnv } : {}),
          }),
        ),
      );
      return { level: level.name };
    },

    /** PagerDuty acknowledge or resolve on every routing key the incident paged. */
    async pagerdutyEvent(args: { chainId: string; incidentId: string; action: 'acknowledge' | 'resolve'; levels: number[]; effect: string }): Promise<void> {
      const pd = platforms().pagerduty;
      const keyEnvs = [...new Set(args.levels.map((l) => deps.config.oncall.levels[l]?.pagerdutyRoutingKeyEnv))];
      for (const keyEnv of keyEnvs) {
        await once(`${args.chainId}:${args.effect}:${keyEnv ?? 'default'}`, args.chainId, `pagerduty-${args.action}`, () =>
          callPlatform(() => (args.action === 'acknowledge' ? pd.acknowledge(args.incidentId, keyEnv) : pd.resolve(args.incidentId, keyEnv))),
        );
      }
    },

    /** Posts to every configured chat (Slack incoming webhook, Telegram). */
    async postToChat(args: { chainId: string; effect: string; text: string }): Promise<{ channels: string[] }> {
      const { slack, telegram } = platforms();
      const channels: string[] = [];
      if (slack.configured) {
        await once(`${args.chainId}:${args.effect}:slack`, args.chainId, 'chat', () => callPlatform(() => slack.post({ text: args.text })));
        channels.push('Slack');
      }
      if (telegram.configured) {
        await once(`${args.chainId}:${args.effect}:telegram`, args.chainId, 'chat', () => callPlatform(() => telegram.sendMessage(args.text)));
        channels.push('Telegram');
      }
      if (!channels.length) throw ApplicationFailure.nonRetryable('no chat configured (notifications.slack / notifications.telegram)', 'InvalidInput');
      return { channels };
    },

    /** Finds the incident's status page incident among the unresolved ones, or creates it: never two per incident. */
    async openStatuspage(args: { incidentId: string; title: string; severity: Severity; body: string }): Promise<{ id: string; status: string; shortlink?: string }> {
      const sp = platforms().statuspage;
      const componentIds = deps.config.notifications.statuspage?.componentIds ?? [];
      const { incident } = await callPlatform(() =>
        sp.findOrCreateIncident({
          identity: args.incidentId,
          name: args.title.slice(0, 200),
          status: 'investigating',
          impact_override: STATUSPAGE_IMPACT[args.severity],
          body: args.body,
          deliver_notifications: true,
          ...(componentIds.length ? { component_ids: componentIds } : {}),
        }),
      );
      return { id: incident.id, status: incident.status, ...(incident.shortlink ? { shortlink: incident.shortlink } : {}) };
    },

    async updateStatuspage(args: { statuspageId: string; status: 'investigating' | 'identified' | 'monitoring' | 'resolved'; body: string }): Promise<{ status: string }> {
      const sp = platforms().statuspage;
      const incident = await callPlatform(() => sp.updateIncident(args.statuspageId, { status: args.status, body: args.body }));
      return { status: incident.status };
    },

    // ---- diagnosis ------------------------------------------------------------------------------

    /** Playbook 1, step 2: "Check recent deployments" (production, the last hour). */
    async recentDeployments(args: { service: string }): Promise<Finding> {
      const svc = serviceConfig(args.service);
      const since = Date.now() - RECENT_DEPLOYMENTS_MS;
      if (svc.platform === 'vercel') {
        const items = await callPlatform(() => platforms().vercel.listAllDeployments({ projectId: svc.projectId, target: 'production', since }, 20));
        const recent = items.filter((d) => d.created >= since);
        return {
          check: 'recent-deployments',
          ok: true,
          summary: recent.length
            ? `${recent.length} production deployment(s) in the last hour: ${recent.map((d) => `${d.uid} ${d.readyState} ${formatElapsed(Date.now() - d.created)} ago`).join(', ')}`
            : 'no production deployment in the last hour',
          details: { recentCount: recent.length, deployments: recent.map((d) => ({ id: d.uid, state: d.readyState, createdAt: new Date(d.created).toISOString(), url: d.url })) },
        };
      }
      const deploys = await callPlatform(() => platforms().netlify.listDeploys(svc.projectId, { production: true, perPage: 20 }));
      const recent = deploys.filter((d) => Date.parse(d.created_at) >= since);
      return {
        check: 'recent-deployments',
        ok: true,
        summary: recent.length ? `${recent.length} production deploy(s) in the last hour: ${recent.map((d) => `${d.id} ${d.state}`).join(', ')}` : 'no production deploy in the last hour',
        details: { recentCount: recent.length, deployments: recent.map((d) => ({ id: d.id, state: d.state, createdAt: d.created_at })) },
      };
    },

    /** "Verify outage: curl <production>/api/health". */
    async checkHealthEndpoint(args: { service: string }): Promise<Finding> {
      const svc = serviceConfig(args.service);
      const r = await platforms().probe.health(svc.productionUrl, svc.healthPath);
      if (r.status === null) return { check: 'health-endpoint', ok: false, summary: `${r.url}: no answer (${r.error})`, details: { url: r.url } };
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
        summary: results.map((r) => `${r.name} ${r.indicator}${r.indicator !== 'none' ? ` (${r.description})` : ''}`).join(', ') || 'no provider status pages configured',
        details: { down, providers: results },
      };
    },

    /** "Check connection pool": connections by state against the configured pool size and thresholds. */
    async checkDatabaseConnections(args: { database: string }): Promise<Finding> {
      const poolSize = deps.config.databases[args.database]?.poolSize ?? 0;
      const { warning, critical } = deps.config.thresholds.dbConnections;
      return withDatabase(args.database, async (db) => {
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
      return withDatabase(args.database, async (db) => {
        const { rows } = await db.query<{ pid: number; usename: string | null; state: string; seconds: number; query: string }>(
          `SELECT pid, usename, state, round(extract(epoch FROM now() - query_start))::int AS seconds, left(query, 300) AS query
           FROM pg_stat_activity
           WHERE state <> 'idle' AND pid <> pg_backend_pid() AND backend_type = 'client backend'
             AND query_start < now() - make_interval(secs => $1::double precision / 1000)
           ORDER BY query_start LIMIT 10`,
          [threshold],
        );
        return {
          check: 'long-running-queries',
          ok: rows.length === 0,
          summary: rows.length
            ? `${rows.length} quer${rows.length === 1 ? 'y' : 'ies'} running over ${formatElapsed(threshold)}: ${rows.map((r) => `pid ${r.pid} (${r.usename}, ${formatElapsed(r.seconds * 1000)}) ${r.query.replace(/\s+/g, ' ').slice(0, 80)}`).join('; ')}`
            : `no query running over ${formatElapsed(threshold)}`,
          details: { queries: rows },
        };
      });
    },

    // ---- mitigation playbooks -------------------------------------------------------------------

    /** Value of a production environment variable (to restore on undo); null when unset. */
    async readProductionEnv(args: { service: string; key: string }): Promise<{ value: string | null }> {
      const svc = serviceConfig(args.service);
      if (svc.platform !== 'vercel') throw invalid(`${svc.name} runs on ${svc.platform}: environment playbooks need Vercel`);
      const envs = await callPlatform(() => platforms().vercel.listEnv(svc.projectId, { decrypt: true }));
      const found = envs.find((e) => e.key === args.key && e.target.includes('production'));
      return { value: found ? (found.value ?? '') : null };
    },

    /**
     * `vercel env add KEY=value` for production. The platform API has no delete in our contract, so "removing"
     * a variable (value null) sets it empty, which the app reads as unset.
     */
    async setProductionEnv(args: { service: string; key: string; value: string | null }): Promise<void> {
      const svc = serviceConfig(args.service);
      if (svc.platform !== 'vercel') throw invalid(`${svc.name} runs on ${svc.platform}: environment playbooks need Vercel`);
      const result = await callPlatform(() =>
        platforms().vercel.upsertEnv(svc.projectId, { key: args.key, value: args.value ?? '', type: 'encrypted', target: ['production'] }),
      );
      const failed = result.failed?.find((f) => f.error.key === args.key || !f.error.key);
      if (failed) throw ApplicationFailure.nonRetryable(`setting ${args.key} on ${svc.name} failed: ${failed.error.code} ${failed.error.message ?? ''}`.trim(), 'PlatformRejected');
    },

    /**
     * `vercel --prod`: a production build from `fromDeploymentId` (what production serves now), tagged with
     * `identity` so a retry makes no second one; waits for READY.
     */
    async redeployProduction(args: { service: string; identity: string; fromDeploymentId?: string }): Promise<{ deploymentId: string; url: string }> {
      const svc = serviceConfig(args.service);
      if (svc.platform !== 'vercel') throw invalid(`${svc.name} runs on ${svc.platform}: environment playbooks need Vercel`);
      const vercel = platforms().vercel;
      const { deployment } = await callPlatform(() =>
        vercel.findOrCreateDeployment({
          identity: args.identity,
          projectId: svc.projectId,
          name: svc.projectId,
          target: 'production',
          ...(args.fromDeploymentId ? { deploymentId: args.fromDeploymentId } : {}),
          meta: { reason: 'incident mitigation' },
        }),
      );
      const ready = await callPlatform(() => vercel.waitForDeployment(deployment.id, { intervalMs: deps.config.deploy.pollInterval }));
      if (ready.readyState !== 'READY') {
        throw ApplicationFailure.nonRetryable(`redeploy ${ready.id} of ${svc.name} ended ${ready.readyState}${ready.errorMessage ? `: ${ready.errorMessage}` : ''}`, 'RedeployFailed');
      }
      return { deploymentId: ready.id, url: ready.url };
    },

    /**
     * Playbook 3, step 2: `pg_terminate_backend(pid)`, guarded: only a client backend of this database, never a
     * replication/walsender backend, never a superuser's session, never our own.
     */
    async terminateBackend(args: { database: string; pid: number }): Promise<{ pid: number; usename: string; query: string; runningFor: string }> {
      return withDatabase(args.database, async (db) => {
        const { rows } = await db.query<{
          pid: number;
          backend_type: string;
          usename: string | null;
          superuser: boolean | null;
          replication: boolean;
          own: boolean;
          seconds: number | null;
          query: string;
        }>(
          `SELECT a.pid, a.backend_type, a.usename, r.rolsuper AS superuser,
                  EXISTS (SELECT 1 FROM pg_stat_replication s WHERE s.pid = a.pid) AS replication,
                  a.pid = pg_backend_pid() AS own,
                  round(extract(epoch FROM now() - a.query_start))::int AS seconds, left(a.query, 300) AS query
           FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
           WHERE a.pid = $1`,
          [args.pid],
        );
        const b = rows[0];
        if (!b) throw invalid(`pid: no backend ${args.pid} on database ${args.database} (it may have finished already)`);
        if (b.own) throw invalid(`pid: ${args.pid} is this runbook's own connection`);
        if (b.replication || b.backend_type === 'walsender') throw invalid(`pid: ${args.pid} is a replication backend (${b.backend_type}); never terminated`);
        if (b.backend_type !== 'client backend') throw invalid(`pid: ${args.pid} is a ${b.backend_type}, not a client backend`);
        if (b.superuser) throw invalid(`pid: ${args.pid} belongs to superuser ${b.usename}; never terminated`);
        // The same guards again in the statement itself, so a pid reused in between is not hit.
        const killed = await db.query<{ ok: boolean }>(
          `SELECT pg_terminate_backend(a.pid) AS ok
           FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
           WHERE a.pid = $1 AND a.backend_type = 'client backend' AND NOT r.rolsuper AND a.pid <> pg_backend_pid()
             AND NOT EXISTS (SELECT 1 FROM pg_stat_replication s WHERE s.pid = a.pid)`,
          [args.pid],
        );
        if (!killed.rows[0]?.ok) throw invalid(`pid: backend ${args.pid} could not be terminated (it may have ended)`);
        return { pid: b.pid, usename: b.usename ?? 'unknown', query: b.query, runningFor: formatElapsed((b.seconds ?? 0) * 1000) };
      });
    },

    /** A user's current limits, read before the playbook changes them so the undo can restore them. */
    async readUserLimits(args: { database: string; userId: string }): Promise<Record<string, unknown>> {
      return withDatabase(args.database, async (db) => {
        const cols = await userColumns(db);
        const { rows } = await db.query(`SELECT ${cols.map((c) => quoteIdent(c)).join(', ')} FROM users WHERE id = $1`, [args.userId]).catch(badUserId(args.userId));
        if (!rows[0]) throw invalid(`userId: no user "${args.userId}" in users`);
        return rows[0] as Record<string, unknown>;
      });
    },

    /** The runbook's `UPDATE users SET rate_limit = 10` / `SET blocked = true, blocked_reason = …`, and their undo. */
    async setUserLimits(args: { database: string; userId: string; limits: Record<string, unknown> }): Promise<{ updated: number }> {
      return withDatabase(args.database, async (db) => {
        const cols = await userColumns(db);
        const entries = Object.entries(args.limits).filter(([k]) => USER_LIMIT_COLUMNS.includes(k));
        const missing = entries.filter(([k]) => !cols.includes(k)).map(([k]) => k);
        if (missing.length) throw invalid(`users has no column ${missing.join(', ')}: the playbook needs ${missing.join(', ')} on the users table`);
        if (!entries.length) throw invalid('limits: nothing to change');
        const sets = entries.map(([k], i) => `${quoteIdent(k)} = $${i + 2}`).join(', ');
        const r = await db.query(`UPDATE users SET ${sets} WHERE id = $1`, [args.userId, ...entries.map(([, v]) => v)]).catch(badUserId(args.userId));
        if (!r.rowCount) throw invalid(`userId: no user "${args.userId}" in users`);
        return { updated: r.rowCount };
      });
    },
  };
}

const USER_LIMIT_COLUMNS = ['rate_limit', 'blocked', 'blocked_reason'];

/** A user id that does not fit the id column's type (e.g. not a uuid) is bad input, not a reason to retry. */
function badUserId(userId: string) {
  return (err: { code?: string; message?: string }): never => {
    if (err.code === '22P02') throw invalid(`userId: "${userId}" does not fit users.id (${err.message})`);
    throw err;
  };
}

async function userColumns(db: PgClient): Promise<string[]> {
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
     WHERE table_name = 'users' AND table_schema = ANY (current_schemas(false)) AND column_name = ANY ($1)`,
    [USER_LIMIT_COLUMNS],
  );
  return rows.map((r) => r.column_name);
}

export type IncidentActivities = ReturnType<typeof createIncidentActivities>;


import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client as PgClient } from 'pg';
import { quoteIdent, redactQuery } from '../../db/sql';
import { callPlatform } from '../../platforms/activity-errors';
import { invalidInput } from '../../workflows/common';
import { planFrom as deployPlanFrom } from '../../workflows/deploy/contract';
import { formatElapsed } from '../../workflows/incident/contract';
import { netlifyTarget } from '../deploy/targets/netlify';
import { vercelTarget } from '../deploy/targets/vercel';
import type { AliasOutcome, DeployTarget } from '../deploy/targets/target';
import { requirePlatforms, type ActivityDeps } from '../deps';
import { appAccess } from './services';

/** The mitigation playbooks' side effects: production environment switches and redeploys, runaway queries, user limits. */
export function createPlaybookActivities(deps: Pick<ActivityDeps, 'config' | 'databaseUrl' | 'platforms'>) {
  const platforms = () => requirePlatforms(deps);
  const { serviceConfig, withAppDatabase } = appAccess(deps);

  return {
    /** Value of a production environment variable (to restore on undo); null when unset. */
    async readProductionEnv(args: { service: string; key: string }): Promise<{ value: string | null }> {
      const svc = serviceConfig(args.service);
      if (svc.platform !== 'vercel') throw invalidInput(`${svc.name} runs on ${svc.platform}: environment playbooks need Vercel`);
      // Listed without values; only the one variable is then read decrypted.
      const vercel = platforms().vercel;
      const envs = await callPlatform(() => vercel.listEnv(svc.projectId));
      const found = envs.find((e) => e.key === args.key && e.target.includes('production'));
      if (!found) return { value: null };
      const env = await callPlatform(() => vercel.getEnv(svc.projectId, found.id));
      return { value: env.value ?? '' };
    },

    /**
     * `vercel env add KEY=value` for production. The platform API has no delete in our contract, so "removing"
     * a variable (value null) sets it empty, which the app reads as unset.
     */
    async setProductionEnv(args: { service: string; key: string; value: string | null }): Promise<void> {
      const svc = serviceConfig(args.service);
      if (svc.platform !== 'vercel') throw invalidInput(`${svc.name} runs on ${svc.platform}: environment playbooks need Vercel`);
      const result = await callPlatform(() =>
        platforms().vercel.upsertEnv(svc.projectId, { key: args.key, value: args.value ?? '', type: 'encrypted', target: ['production'] }),
      );
      const failed = result.failed?.find((f) => f.error.key === args.key || !f.error.key);
      if (failed)
        throw ApplicationFailure.nonRetryable(
          `setting ${args.key} on ${svc.name} failed: ${failed.error.code} ${failed.error.message ?? ''}`.trim(),
          'PlatformRejected',
        );
    },

    /**
     * `vercel --prod`: a production build from `fromDeploymentId` (what production serves now), tagged with
     * `identity` so a retry makes no second one; waits for READY. It does not serve production yet where the
     * project stages production builds (rolling releases, no auto-assigned domains): see serveProductionBuild.
     */
    async redeployProduction(args: {
      service: string;
      identity: string;
      fromDeploymentId?: string;
    }): Promise<{ deploymentId: string; url: string }> {
      const svc = serviceConfig(args.service);
      if (svc.platform !== 'vercel') throw invalidInput(`${svc.name} runs on ${svc.platform}: environment playbooks need Vercel`);
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
        throw ApplicationFailure.nonRetryable(
          `redeploy ${ready.id} of ${svc.name} ended ${ready.readyState}${ready.errorMessage ? `: ${ready.errorMessage}` : ''}`,
          'RedeployFailed',
        );
      }
      return { deploymentId: ready.id, url: ready.url };
    },

    /**
     * The playbook's READY build made to serve production, as the deploy runbook's promotion does it, and checked:
     * on a Vercel service with rolling releases the build becomes the canary of a rolling release that is
     * completed at once (an incident does not wait out the stages); otherwise it is promoted (Vercel's alias
     * job; Netlify publishes it). Asks once: a build already serving production is left as it is. Fails unless the
     * platform then reports the build as production.
     */
    async serveProductionBuild(args: {
      service: string;
      deploymentId: string;
      tries?: number;
    }): Promise<{ deploymentId: string; via: ServedVia }> {
      const svc = serviceConfig(args.service);
      const pollIntervalMs = deps.config.deploy.pollInterval;
      const id = args.deploymentId;
      const stages = deployPlanFrom(deps.config, svc).rollingStages;
      const promoted = (r: AliasOutcome, how: ServedVia): ServedVia => {
        if (!r.ok)
          throw ApplicationFailure.nonRetryable(
            `${how} of ${id} on ${svc.name} did not finish: ${r.status}${r.message ? ` (${r.message})` : ''}`,
            'PromotionFailed',
          );
        return r.status === 'already-current' ? 'already-serving' : how;
      };
      const vercel = svc.platform === 'vercel' ? vercelTarget(svc, platforms) : undefined;
      const target: DeployTarget = vercel ?? netlifyTarget(svc, platforms);
      let via: ServedVia;
      if (vercel && stages.length) {
        // The deploy runbook's rolling release, started and completed at once; not started again for a build already serving.
        if ((await callPlatform(() => vercel.currentProduction()))?.id === id) via = 'already-serving';
        else {
          await vercel.startRollingRelease(id, stages);
          const done = await vercel.advanceRollingRelease(id, stages.length - 1, true);
          if (!done.complete)
            throw ApplicationFailure.nonRetryable(
              `the rolling release of ${id} on ${svc.name} did not complete (${done.percent}%)`,
              'PromotionFailed',
            );
          via = 'rolling-release';
        }
      } else {
        via = promoted(await callPlatform(() => target.promote(id, pollIntervalMs)), vercel ? 'promote' : 'publish');
      }

      // Production must now be this build (the platform may take a moment to report it).
      const tries = args.tries ?? 5;
      let serving: string | undefined;
      for (let i = 0; i < tries; i++) {
        if (i > 0) await Context.current().sleep(pollIntervalMs);
        Context.current().heartbeat(i);
        serving = (await callPlatform(() => target.currentProduction()))?.id;
        if (serving === id) return { deploymentId: id, via };
      }
      throw ApplicationFailure.nonRetryable(
        `${svc.name}: production serves ${serving ?? 'nothing'}, not the new build ${id}`,
        'PromotionNotServing',
      );
    },

    /**
     * Playbook 3, step 2: `pg_terminate_backend(pid)`, guarded: only a client backend of this database (a session of
     * another database on the same server, e.g. the ops or Temporal database, is not found), never a
     * replication/walsender backend, never a superuser's session, never our own.
     */
    async terminateBackend(args: {
      database: string;
      pid: number;
    }): Promise<{ pid: number; usename: string; query: string; runningFor: string }> {
      return withAppDatabase(args.database, async (db) => {
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
                  round(extract(epoch FROM now() - a.query_start))::int AS seconds, a.query
           FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
           WHERE a.pid = $1 AND a.datname = current_database()`,
          [args.pid],
        );
        const b = rows[0];
        if (!b)
          throw invalidInput(
            `pid: no backend ${args.pid} on database ${args.database} (it may have finished already, or belong to another database)`,
          );
        if (b.own) throw invalidInput(`pid: ${args.pid} is this runbook's own connection`);
        if (b.replication || b.backend_type === 'walsender')
          throw invalidInput(`pid: ${args.pid} is a replication backend (${b.backend_type}); never terminated`);
        if (b.backend_type !== 'client backend') throw invalidInput(`pid: ${args.pid} is a ${b.backend_type}, not a client backend`);
        if (b.superuser) throw invalidInput(`pid: ${args.pid} belongs to superuser ${b.usename}; never terminated`);
        // The same guards again in the statement itself, so a pid reused in between is not hit.
        const killed = await db.query<{ ok: boolean }>(
          `SELECT pg_terminate_backend(a.pid) AS ok
           FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid
           WHERE a.pid = $1 AND a.datname = current_database() AND a.backend_type = 'client backend' AND NOT r.rolsuper
             AND a.pid <> pg_backend_pid()
             AND NOT EXISTS (SELECT 1 FROM pg_stat_replication s WHERE s.pid = a.pid)`,
          [args.pid],
        );
        if (!killed.rows[0]?.ok) throw invalidInput(`pid: backend ${args.pid} could not be terminated (it may have ended)`);
        // The query goes to chat and the timeline: literals replaced, cut short.
        return {
          pid: b.pid,
          usename: b.usename ?? 'unknown',
          query: redactQuery(b.query, 200),
          runningFor: formatElapsed((b.seconds ?? 0) * 1000),
        };
      });
    },

    /** A user's current limits, read before the playbook changes them so the undo can restore them. */
    async readUserLimits(args: { database: string; userId: string }): Promise<Record<string, unknown>> {
      return withAppDatabase(args.database, async (db) => {
        const cols = await userColumns(db);
        const { rows } = await db
          .query(`SELECT ${cols.map((c) => quoteIdent(c)).join(', ')} FROM users WHERE id = $1`, [args.userId])
          .catch(badUserId(args.userId));
        if (!rows[0]) throw invalidInput(`userId: no user "${args.userId}" in users`);
        return rows[0] as Record<string, unknown>;
      });
    },

    /** The runbook's `UPDATE users SET rate_limit = 10` / `SET blocked = true, blocked_reason = …`, and their undo. */
    async setUserLimits(args: { database: string; userId: string; limits: Record<string, unknown> }): Promise<{ updated: number }> {
      return withAppDatabase(args.database, async (db) => {
        const cols = await userColumns(db);
        const entries = Object.entries(args.limits).filter(([k]) => USER_LIMIT_COLUMNS.includes(k));
        const missing = entries.filter(([k]) => !cols.includes(k)).map(([k]) => k);
        if (missing.length)
          throw invalidInput(`users has no column ${missing.join(', ')}: the playbook needs ${missing.join(', ')} on the users table`);
        if (!entries.length) throw invalidInput('limits: nothing to change');
        const sets = entries.map(([k], i) => `${quoteIdent(k)} = $${i + 2}`).join(', ');
        const r = await db
          .query(`UPDATE users SET ${sets} WHERE id = $1`, [args.userId, ...entries.map(([, v]) => v)])
          .catch(badUserId(args.userId));
        if (!r.rowCount) throw invalidInput(`userId: no user "${args.userId}" in users`);
        return { updated: r.rowCount };
      });
    },
  };
}

/** How a playbook's build came to serve production. */
export type ServedVia = 'rolling-release' | 'promote' | 'publish' | 'already-serving';

const USER_LIMIT_COLUMNS = ['rate_limit', 'blocked', 'blocked_reason'];

/** A user id that does not fit the id column's type (e.g. not a uuid) is bad input, not a reason to retry. */
function badUserId(userId: string) {
  return (err: { code?: string; message?: string }): never => {
    if (err.code === '22P02') throw invalidInput(`userId: "${userId}" does not fit users.id (${err.message})`);
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

import { Client as PgClient } from 'pg';
import { approveMitigationUpdate, requestMitigationUpdate, type Mitigation } from '../../workflows/incident/contract';
import type { Scenario } from '../types';
import { closeIncident, measureIncident, messageOf, sendAlert, shortId, waitFor, waitForFirstPage, waitForIncident } from '../util';

function asRole(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = '';
  return u.toString();
}

/**
 * Database overload (first runbook, Playbook 3 and the "Database Alert" > 180 connections): runaway
 * `pg_sleep` queries and connections over the threshold (scaled down by --db-threshold). Expected: the
 * connection rule alerts, an incident pages, terminate-query is proposed and approved for each runaway
 * backend, and the sessions are gone. The sessions log in as a role of the drill's own (terminate-query
 * never touches a superuser's session), dropped afterwards.
 */
export const dbOverload: Scenario = {
  name: 'db-overload',
  description: 'runaway pg_sleep queries and connections over the (scaled) threshold → alert → terminate-query approved → sessions gone',
  async run(run) {
    const { world, opts } = run;
    const database = world.config.services[0]?.database ?? 'app';
    const id = shortId();
    const role = `runbook_drill_${id}`;
    const admin = new PgClient({ connectionString: world.appDatabaseUrl });
    admin.on('error', () => undefined);
    await admin.connect();
    const sessions: PgClient[] = [];
    run.cleanup.push({
      what: `close the drill's sessions and drop role ${role}`,
      run: async () => {
        await Promise.all(sessions.map((s) => s.end().catch(() => undefined)));
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]).catch(() => undefined);
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
        await admin.end().catch(() => undefined);
      },
    });
    await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER`);

    // The runbook's rule counts every connection of the server; push it over the threshold.
    const count = async () => Number((await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity')).rows[0].n);
    const baseline = await count();
    const threshold = opts.dbThreshold;
    const extra = Math.max(opts.runawayQueries, threshold + 3 - baseline);
    const url = asRole(world.appDatabaseUrl, role);
    for (let i = 0; i < extra; i++) {
      const c = new PgClient({ connectionString: url, application_name: `runbook-drill-${id}` });
      c.on('error', () => undefined);
      await c.connect();
      sessions.push(c);
    }
    const runaway = sessions
      .slice(0, opts.runawayQueries)
      .map((c) => c.query('SELECT pg_sleep(3600) /* runaway (game day) */').catch((err: unknown) => messageOf(err)));
    run.injectedAt = Date.now();
    await waitFor(
      'the runaway queries to run',
      async () => {
        const n = Number(
          (
            await admin.query(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
              [role],
            )
          ).rows[0].n,
        );
        return n >= opts.runawayQueries;
      },
      10_000,
      50,
    );
    run.note(
      `${extra} sessions opened (${opts.runawayQueries} running pg_sleep), ${baseline} before; threshold ${threshold} (runbook: 180)`,
    );

    // The runbook's Database Alert: SELECT count(*) FROM pg_stat_activity … > threshold.
    const rule = await admin.query(`SELECT count(*) AS connections FROM pg_stat_activity HAVING count(*) > ${Number(threshold)}`);
    run.check(rule.rowCount === 1, `the connection rule fires (count ${await count()} > ${threshold})`);
    const ruleSeverity = world.config.maintenance.sqlAlertRules.find((r) => /connections/.test(r.name))?.severity ?? 'P1';
    const dedupKey = `drill:db-overload:${id}`;
    const { incidentId } = await sendAlert(world, {
      dedupKey,
      status: 'firing',
      severity: ruleSeverity,
      service: world.config.services[0]?.name,
      summary: `Game day: more than ${threshold} database connections (${rule.rows[0]?.connections ?? '?'})`,
    });
    run.incidentId = incidentId;
    run.cleanup.push({ what: `close incident ${incidentId}`, run: async () => void (await closeIncident(world, incidentId, opts.actor)) });
    await waitForFirstPage(run, incidentId);

    // Playbook 3: find the long-running queries, terminate each (proposed, then approved).
    const pids = (
      await admin.query(
        "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%pg_sleep%' ORDER BY pid",
        [role],
      )
    ).rows.map((r) => Number(r.pid));
    const handle = world.client.workflow.getHandle(incidentId);
    let ok = 0;
    for (const pid of pids) {
      let m = (await handle.executeUpdate(requestMitigationUpdate, {
        args: [{ playbook: { kind: 'terminate-query', pid, database }, by: opts.actor, reason: `runaway query pid ${pid} (game day)` }],
      })) as Mitigation;
      if (m.status === 'awaiting-approval')
        m = (await handle.executeUpdate(approveMitigationUpdate, { args: [{ mitigationId: m.id, by: opts.actor }] })) as Mitigation;
      if (run.check(m.status === 'succeeded', `terminate-query ${pid} succeeded (got ${m.status}${m.error ? `: ${m.error}` : ''})`)) ok++;
    }
    const ended = await Promise.race([Promise.all(runaway), new Promise((r) => setTimeout(() => r(undefined), 10_000))]);
    run.check(Array.isArray(ended), 'the runaway queries ended');
    const left = Number(
      (await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND query LIKE '%pg_sleep%'", [role])).rows[0]
        .n,
    );
    run.check(left === 0, `no runaway session left (${left})`);
    const s = await waitForIncident(world, incidentId, (x) => Boolean(x.mitigatedAt), 'the incident to record the mitigation', 30_000);
    measureIncident(run, s);
    run.note(`${ok} of ${pids.length} runaway backends terminated through the incident (proposed + approved)`);

    // The idle connections go away with the cleanup; the alert resolves.
    await Promise.all(sessions.map((c) => c.end().catch(() => undefined)));
    await sendAlert(world, { dedupKey, status: 'resolved', summary: 'Game day: connections back under the threshold' });
    const final = await closeIncident(world, incidentId, opts.actor);
    if (final) measureIncident(run, final);
  },
};

import { existsSync, readFileSync } from 'node:fs';
import { Client as PgClient } from 'pg';
import {
  backupWorkflowId,
  confirmRestoreUpdate,
  restoreStatusQuery,
  restoreWorkflowId,
  type BackupInput,
  type BackupManifest,
  type BackupResult,
  type RestoreInput,
  type RestoreResult,
} from '../../workflows/backup/contract';
import type { Scenario } from '../types';
import { closeIncident, formatMs, measureIncident, sendAlert, shortId, waitFor, waitForFirstPage } from '../util';

/** The table the drill damages: its own, in a schema of its own, dropped afterwards. */
export const DRILL_SCHEMA = 'runbook_drill';
const TABLE = `${DRILL_SCHEMA}.customer_notes`;
const ROWS = 500;

/**
 * Data loss (second runbook, Emergency Procedures 3; first runbook, Restore Procedures): rows deleted from
 * a table of the app database. Expected: an incident pages; a guarded restore (typed confirmation = the
 * approval step) from the newest verified backup brings the table back to the backup manifest's counts.
 * The drill takes a verified backup first, so the restore loses nothing written before the drill began.
 */
export const dataLoss: Scenario = {
  name: 'data-loss',
  description:
    'rows deleted from an app table → incident → guarded restore from the newest verified backup (approved) → counts match the manifest',
  async run(run) {
    const { world, opts } = run;
    const database = world.config.services[0]?.database ?? 'app';
    if (!world.config.databases[database]) throw new Error(`no databases.${database} in the configuration`);
    const id = shortId();
    const pg = new PgClient({ connectionString: world.appDatabaseUrl, application_name: `runbook-drill-${id}` });
    pg.on('error', () => undefined);
    await pg.connect();
    const count = async () => Number((await pg.query(`SELECT count(*)::int AS n FROM ${TABLE}`)).rows[0].n);
    try {
      run.cleanup.push({ what: `drop schema ${DRILL_SCHEMA}`, run: () => dropDrillSchema(world.appDatabaseUrl) });
      await pg.query(`CREATE SCHEMA IF NOT EXISTS ${DRILL_SCHEMA}`);
      await pg.query(`DROP TABLE IF EXISTS ${TABLE}`);
      await pg.query(
        `CREATE TABLE ${TABLE} (id int PRIMARY KEY, customer text NOT NULL, note text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
      );
      await pg.query(
        `INSERT INTO ${TABLE} (id, customer, note) SELECT g, 'customer-' || (g % 50), 'note ' || g FROM generate_series(1, ${ROWS}) g`,
      );

      // The newest verified backup: taken now, verified by a real restore into a scratch database.
      const at = new Date();
      const backupInput: BackupInput = {
        database,
        reason: `runbook drill data-loss ${id}`,
        requestedBy: opts.actor,
        trigger: 'manual',
        verify: true,
      };
      const backup = (await world.client.workflow.execute('backup', {
        taskQueue: world.taskQueue,
        workflowId: backupWorkflowId(database, at, `drill-${id}`),
        args: [backupInput],
      })) as BackupResult;
      run.check(
        backup.verified?.ok === true,
        `backup ${backup.backupId} verified (${
          backup.verified?.checks
            .filter((c) => !c.ok)
            .map((c) => c.detail)
            .join('; ') || 'no verification'
        })`,
      );
      const manifest = readManifest(backup.location);
      const expected = manifest?.tables.find((t) => t.table === TABLE)?.rows ?? ROWS;
      run.note(`verified backup ${backup.backupId} (${backup.tables} table${backup.tables === 1 ? '' : 's'})`);

      // The fault: a destructive statement deletes half of the table.
      const deleted = (await pg.query(`DELETE FROM ${TABLE} WHERE id % 2 = 0`)).rowCount ?? 0;
      run.injectedAt = Date.now();

      // Detection: a row-count check against the backup's manifest notices and alerts.
      const now = await count();
      const dedupKey = `drill:data-loss:${id}`;
      const { incidentId } = await sendAlert(world, {
        dedupKey,
        status: 'firing',
        severity: 'P1',
        service: world.config.services[0]?.name,
        summary: `Game day: data loss in ${TABLE}: ${expected - now} of ${expected} rows missing`,
        description: `Row count ${now}, manifest of ${backup.backupId} says ${expected}.`,
      });
      run.incidentId = incidentId;
      run.cleanup.push({
        what: `close incident ${incidentId}`,
        run: async () => void (await closeIncident(world, incidentId, opts.actor)),
      });
      await waitForFirstPage(run, incidentId);
      // Second runbook, Data Loss Event: response time < 10 minutes.
      run.detection.slaMs = 600_000;
      run.detection.sla = 'data loss response 10m';

      // Stop further damage (the runbook's first step): the app goes into maintenance mode, so no request
      // writes while the restore runs and its verification compares the tables with the backup's manifest.
      const service = world.config.services[0];
      if (service) {
        await world.sandbox.degrade(`production/${service.projectId}`, { maintenance: true });
        run.cleanup.push({
          what: `${service.name} out of maintenance mode`,
          run: () => world.sandbox.degrade(`production/${service.projectId}`, { maintenance: false }).then(() => undefined),
        });
        run.note(`${service.name} in maintenance mode during the restore`);
      }

      // The guarded restore: the plan names the backup; the on-call confirms by typing the database name.
      await pg.end().catch(() => undefined);
      const restoreInput: RestoreInput = {
        into: database,
        before: new Date().toISOString(),
        requestedBy: opts.actor,
        reason: `${incidentId}: ${deleted} rows deleted`,
        confirmTimeout: 600_000,
      };
      const restore = await world.client.workflow.start('restore', {
        taskQueue: world.taskQueue,
        workflowId: `${restoreWorkflowId(database, new Date())}-drill-${id}`,
        args: [restoreInput],
      });
      const status = await waitFor(
        'the restore plan',
        async () => {
          const s = await restore.query(restoreStatusQuery);
          return s.stage === 'awaiting-confirmation' ? s : undefined;
        },
        60_000,
      );
      run.check(
        status.plan?.backupId === backup.backupId,
        `restore plan uses the newest verified backup ${backup.backupId} (got ${status.plan?.backupId})`,
      );
      await restore.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: status.plan!.confirmName, by: opts.actor }] });
      run.note(`restore approved by typing "${status.plan!.confirmName}"`);
      const result = (await restore.result()) as RestoreResult;
      run.mitigation.ms = run.since(Date.now());
      run.mitigation.slaMs = 2.5 * 3_600_000;
      run.mitigation.sla = 'RTO 2.5h';
      run.check(result.stage === 'completed', `restore completed (got ${result.stage}${result.error ? `: ${result.error}` : ''})`);
      run.check(
        (result.mismatches ?? []).length === 0,
        `every table matches the manifest after the restore (${(result.mismatches ?? []).length} mismatches)`,
      );

      const after = new PgClient({ connectionString: world.appDatabaseUrl });
      after.on('error', () => undefined);
      await after.connect();
      try {
        const restored = Number((await after.query(`SELECT count(*)::int AS n FROM ${TABLE}`)).rows[0].n);
        run.check(restored === expected, `${TABLE} has the manifest's ${expected} rows again (has ${restored})`);
        run.note(
          `${deleted} rows deleted, ${restored}/${expected} back after the restore (pre-restore backup ${result.preRestoreBackupId ?? '-'}) in ${formatMs(run.mitigation.ms)}`,
        );
      } finally {
        await after.end().catch(() => undefined);
      }

      await sendAlert(world, { dedupKey, status: 'resolved', summary: `Game day: ${TABLE} restored` });
      const final = await closeIncident(world, incidentId, opts.actor);
      if (final) measureIncident(run, final);
    } finally {
      await pg.end().catch(() => undefined);
    }
  },
};

function readManifest(location: string): BackupManifest | undefined {
  const file = location.replace(/\.dump\.[a-z0-9]+$/, '.manifest.json');
  if (!file.startsWith('/') || !existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BackupManifest;
  } catch {
    return undefined;
  }
}

export async function dropDrillSchema(url: string): Promise<void> {
  const pg = new PgClient({ connectionString: url });
  pg.on('error', () => undefined);
  await pg.connect();
  try {
    await pg.query(`DROP SCHEMA IF EXISTS ${DRILL_SCHEMA} CASCADE`);
  } finally {
    await pg.end().catch(() => undefined);
  }
}

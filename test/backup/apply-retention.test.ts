import { existsSync } from 'node:fs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBackupActivities, type DumpRequest } from '../../src/activities/backup';
import type { BackupResult, RetentionResult } from '../../src/workflows/backup/contract';
import { testDeps, uniqueName } from '../harness';
import { backupConfig, backupDatabasesForFile, storeDir } from './helpers';

jest.setTimeout(120_000);

describe('applyBackupRetention on real backups', () => {
  const { ops, source } = backupDatabasesForFile('bkr');

  it('keeps the last verified backup and deletes older ones from the store, logging each in the catalogue', async () => {
    const config = backupConfig(['app'], {
      store: { type: 'directory', path: storeDir('retention') },
      retention: { daily: 1, weekly: 0, monthly: 0 },
    });
    const activities = createBackupActivities(testDeps(config, ops, { app: source.url }));
    const env = new MockActivityEnvironment();
    const ids = [uniqueName('b-old'), uniqueName('b-verified'), uniqueName('b-new')];
    const results: BackupResult[] = [];
    for (const [i, id] of ids.entries()) {
      const req: DumpRequest = { backupId: id, database: 'app', workflowId: id, trigger: 'schedule', requestedBy: 'jest' };
      results.push(await env.run(activities.dumpBackup, req));
      // Spread them over three days.
      await ops.pool.query(`UPDATE backups SET started_at = now() - make_interval(days => $2) WHERE id = $1`, [id, 3 - i]);
    }
    await ops.pool.query(`UPDATE backups SET verification_status = 'passed', verified_at = now() WHERE id = $1`, [ids[1]]);

    const retain = (database: string): Promise<RetentionResult> => env.run(activities.applyBackupRetention, database);
    const outcome = await retain('app');
    expect(outcome.deleted).toEqual([{ backupId: ids[0], reason: 'outside the retention policy' }]);
    expect(outcome.kept.sort()).toEqual([ids[1], ids[2]].sort());
    expect(existsSync(results[0].location)).toBe(false);
    expect(existsSync(results[1].location)).toBe(true);
    expect(existsSync(results[2].location)).toBe(true);
    const { rows } = await ops.pool.query('SELECT id, status, deleted_reason FROM backups ORDER BY started_at');
    expect(rows.map((r) => r.status)).toEqual(['deleted', 'completed', 'completed']);
    expect(rows[0].deleted_reason).toBe('outside the retention policy');

    // Run again: nothing more to delete (the verified one is the newest verified, the newest has no newer verified backup).
    expect((await retain('app')).deleted).toEqual([]);
  });
});

import { MockActivityEnvironment } from '@temporalio/testing';
import { createMaintenanceActivities } from '../../src/activities/maintenance';
import { scratchDatabase, testConfig, testDeps } from '../harness';
import { databasesForFile } from '../harness/fixtures';

jest.setTimeout(60_000);

/** A report query blocked behind someone's lock ends at maintenance.statementTimeout instead of waiting with it. */
describe('report queries are bounded by the statement timeout', () => {
  const { ops, app } = databasesForFile({ ops: () => scratchDatabase('rto_ops', { ops: true }), app: () => scratchDatabase('rto_app') });
  beforeAll(async () => {
    await app.pool.query('CREATE TABLE busy (id int PRIMARY KEY)');
  });

  it('table-sizes behind an ACCESS EXCLUSIVE lock fails after about a second, naming the statement timeout', async () => {
    const config = testConfig({ maintenance: { statementTimeout: '1s', lockTimeout: '30s' } });
    const activities = createMaintenanceActivities(testDeps(config, ops, { app: app.url }));
    const holder = await app.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE busy IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const report = new MockActivityEnvironment().run(activities.databaseReport, {
        database: 'app',
        report: 'table-sizes' as const,
        days: 7,
      });
      const hung = new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 15_000).unref());
      const outcome = await Promise.race([
        report.then(
          () => 'answered',
          (err: Error) => err.message,
        ),
        hung,
      ]);
      expect(outcome).toMatch(/statement timeout/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  });
});

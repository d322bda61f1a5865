import { Client } from 'pg';
import { CleanupConfigError, runCleanup, type CleanupPolicy } from '../../src/activities/maintenance/cleanup';
import { ConfigError } from '../../src/config/load';
import { scratchDatabase, testConfig, uniqueName, type ScratchDatabase } from '../harness';

/** A cleanup's `where` and the reports' table names are checked, never pasted into SQL as written. */
describe('cleanup conditions and report tables', () => {
  const problems = (maintenance: Record<string, unknown>): string[] => {
    try {
      testConfig({ maintenance });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };
  const policy = (where: string) => ({ name: 'tasks', table: 'tasks', timestampColumn: 'completed_at', olderThan: '7d', where });

  it('refuses a where that is not a plain condition, naming the field, and a report table that is not a table name', () => {
    expect(problems({ cleanup: [policy("status = 'failed'")] })).toEqual([]);
    expect(problems({ cleanup: [policy("status = 'failed') OR (true")] })).toEqual([
      expect.stringMatching(/^maintenance\.cleanup\.0\.where: conditions can only be joined by AND at "\)"/),
    ]);
    expect(problems({ cleanup: [policy('x) OR (true')] })).toEqual([
      expect.stringMatching(/^maintenance\.cleanup\.0\.where: expected an operator .* at "\)"/),
    ]);
    for (const bad of [
      "status = 'failed' OR true",
      "status = 'failed'; DELETE FROM tasks",
      "status = lower('FAILED')",
      "status = 'failed' -- ",
      "completed_at < now() - interval '1 day; DROP TABLE tasks'",
      'id IN (SELECT id FROM tasks)',
    ])
      expect(problems({ cleanup: [policy(bad)] })).toEqual([expect.stringMatching(/^maintenance\.cleanup\.0\.where: /)]);
    expect(problems({ auditTable: 'audit_logs WHERE false; DELETE FROM users', messagesTable: 'javari_messages' })).toEqual([
      expect.stringMatching(/^maintenance\.auditTable: must be a table name/),
    ]);
    expect(problems({ messagesTable: 'messages m, users' })).toEqual([
      expect.stringMatching(/^maintenance\.messagesTable: must be a table name/),
    ]);
  });

  describe('on PostgreSQL', () => {
    let ops: ScratchDatabase;
    let app: ScratchDatabase;
    let target: Client;
    beforeAll(async () => {
      [ops, app] = await Promise.all([scratchDatabase('where_ops', { ops: true }), scratchDatabase('where_app')]);
      target = new Client({ connectionString: app.url });
      await target.connect();
    });
    beforeEach(async () => {
      await app.pool.query(`
        DROP TABLE IF EXISTS tasks;
        CREATE TABLE tasks (id bigserial PRIMARY KEY, status text NOT NULL, attempts int NOT NULL, note text,
                            started_at timestamptz, completed_at timestamptz NOT NULL);
        INSERT INTO tasks (status, attempts, note, started_at, completed_at) VALUES
          ('failed', 5, NULL, now() - interval '40 days', now() - interval '30 days'),  -- 1: matches all
          ('failed', 1, NULL, now() - interval '40 days', now() - interval '30 days'),  -- 2: too few attempts
          ('failed', 5, 'keep', now() - interval '40 days', now() - interval '30 days'),-- 3: has a note
          ('done', 5, NULL, now() - interval '40 days', now() - interval '30 days'),    -- 4: not failed
          ('failed', 5, NULL, now() - interval '2 days', now() - interval '30 days'),   -- 5: started recently
          ('failed', 5, NULL, now(), now())                                             -- 6: fresh`);
    });
    afterAll(async () => {
      await target?.end();
      await Promise.all([ops?.drop(), app?.drop()]);
    });
    const run = (where: string) =>
      runCleanup({
        target,
        database: 'app',
        ops: ops.pool,
        policy: { ...policy(where), olderThan: 7 * 86_400_000, batchSize: 100 } as CleanupPolicy,
        runKey: uniqueName('where'),
        lockTimeoutMs: 1_000,
        statementTimeoutMs: 10_000,
      });
    const left = async () => (await app.pool.query<{ id: string }>('SELECT id FROM tasks ORDER BY id')).rows.map((r) => Number(r.id));

    it('deletes only the rows the parsed condition selects', async () => {
      const r = await run(
        "status IN ('failed', 'error') AND attempts >= 3 AND note IS NULL AND started_at < now() - interval '10 days' AND status <> 'x'",
      );
      expect(r.deleted).toBe(1);
      expect(await left()).toEqual([2, 3, 4, 5, 6]);
    });

    it('refuses a condition that would widen the delete, and deletes nothing', async () => {
      await expect(run("status = 'failed') OR (true")).rejects.toThrow(CleanupConfigError);
      await expect(run("status = 'failed') OR (true")).rejects.toThrow(/cleanup "tasks": where: conditions can only be joined by AND/);
      await expect(run("statuz = 'failed'")).rejects.toThrow(/where: table tasks in database "app" has no column statuz/);
      expect(await left()).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });
});

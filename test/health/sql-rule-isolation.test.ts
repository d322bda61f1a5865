import { createHealthActivities } from '../../src/activities/health';
import { scratchDatabase, testConfig, testDeps, type ScratchDatabase } from '../harness';

/** Monitoring & Alerts → Custom Alerts: a rule's SQL can read, and nothing else, even when it tries to end its transaction. */
describe('SQL alert rules are read-only', () => {
  let app: ScratchDatabase;
  beforeAll(async () => {
    app = await scratchDatabase('rules_app');
    await app.pool.query(
      `CREATE TABLE victims (id serial PRIMARY KEY, name text); INSERT INTO victims (name) SELECT 'v' || g FROM generate_series(1, 5) g`,
    );
  });
  afterAll(async () => {
    await app?.drop();
  });

  it('runs a reading rule, and refuses a rule that commits and deletes, a plain write and a writing CTE', async () => {
    const rule = (name: string, query: string) => ({ name, query, summary: `rule ${name}` });
    const config = testConfig({
      databases: { app: { urlEnv: 'DATABASE_URL', poolSize: 10 } },
      maintenance: {
        sqlAlertRules: [
          rule('reads', 'SELECT count(*) AS n FROM victims HAVING count(*) > 0'),
          rule('escapes', 'COMMIT; DELETE FROM victims'),
          rule('writes', 'DELETE FROM victims RETURNING id'),
          rule('cte-writes', 'WITH gone AS (DELETE FROM victims RETURNING id) SELECT count(*) FROM gone'),
          rule('sets-read-write', "SELECT set_config('transaction_read_only', 'off', true)"),
        ],
      },
    });
    const results = await createHealthActivities(testDeps(config, app, { app: app.url })).evaluateSqlRules();
    const by = Object.fromEntries(results.map((r) => [r.check, r]));
    expect(by['rule-reads']).toMatchObject({ status: 'warning', summary: 'rule reads (n=5)' });
    expect(by['rule-escapes']).toMatchObject({ status: 'unknown', summary: expect.stringMatching(/multiple commands/) });
    expect(by['rule-writes']).toMatchObject({ status: 'unknown', summary: expect.stringMatching(/read-only transaction/) });
    expect(by['rule-cte-writes']).toMatchObject({ status: 'unknown', summary: expect.stringMatching(/read-only transaction/) });
    expect(by['rule-sets-read-write'].status).toBe('unknown');
    const { rows } = await app.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM victims');
    expect(rows[0].n).toBe(5);
  });
});

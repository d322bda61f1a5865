import type { Client, Pool } from 'pg';
import { runReport } from '../../src/activities/maintenance/reports';
import { testConfig } from '../harness';

/**
 * The slow-query report shows query text without literals. pg_stat_statements needs a server preloaded with it,
 * which the test cluster is not, so the view's rows come from a stand-in client here.
 */
describe('slow-query report', () => {
  it('replaces the literals pg_stat_statements keeps (utility statements keep theirs) and cuts long text', async () => {
    const statements = [
      { query: "ALTER ROLE app PASSWORD 'hunter2'", calls: '1', mean_ms: '250.0', total_ms: '250' },
      { query: 'SELECT * FROM users WHERE email = $1 AND id > 41', calls: '9', mean_ms: '180.2', total_ms: '1622' },
      { query: `SELECT ${'col, '.repeat(200)}x FROM t`, calls: '2', mean_ms: '120.0', total_ms: '240' },
    ];
    const client = {
      query: async (sql: string) => ({ rows: sql.includes('pg_extension') ? [{ extversion: '1.10' }] : statements.map((s) => ({ ...s })) }),
    } as unknown as Client;
    const out = await runReport('slow-queries', { client, database: 'app', ops: {} as Pool, config: testConfig() }, 7);
    expect(out.markdown).toContain('`ALTER ROLE app PASSWORD ?`');
    expect(out.markdown).toContain('`SELECT * FROM users WHERE email = $1 AND id > ?`');
    expect(out.markdown).not.toMatch(/hunter2|41/);
    expect(out.markdown!.split('\n').every((line) => line.length < 300)).toBe(true);
  });
});

import { Client as PgClient } from 'pg';
import { createDiagnosisActivities } from '../../src/activities/incident/diagnosis';
import { createPlaybookActivities } from '../../src/activities/incident/playbooks';
import { redactQuery } from '../../src/db/sql';
import { scratchDatabase, testDeps, uniqueName, type ScratchDatabase } from '../harness';
import { incidentConfig } from './helpers';

/**
 * Playbook 3 (runaway queries) sees only the app's own database: a session of another database on the same
 * server (the ops database, Temporal's) is neither listed as evidence nor terminated; the query text it shows
 * has its literals replaced.
 */
describe('runaway-query playbook: scope and query text', () => {
  let app: ScratchDatabase;
  let other: ScratchDatabase;
  const role = uniqueName('sleeper');
  const sessions: PgClient[] = [];

  /** A non-superuser session on `db` that runs `sql` until it is ended; its pid. */
  async function sleeper(db: ScratchDatabase, sql: string): Promise<{ pid: number; running: Promise<string> }> {
    const url = new URL(db.url);
    url.username = role;
    url.password = 'x';
    const c = new PgClient({ connectionString: url.toString() });
    c.on('error', () => undefined);
    await c.connect();
    sessions.push(c);
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const running = c.query(sql).then(
      () => 'finished',
      (err: Error) => err.message,
    );
    return { pid, running };
  }

  beforeAll(async () => {
    [app, other] = await Promise.all([scratchDatabase('scope_app'), scratchDatabase('scope_other')]);
    await app.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD 'x'`);
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.end().catch(() => undefined)));
    await Promise.all([app?.drop(), other?.drop()]);
    await app?.pool.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  });

  it('lists and terminates only sessions of the app database, and shows their query without literals', async () => {
    const config = incidentConfig({ longQueryThreshold: 200 });
    const deps = testDeps(config, app, { app: app.url });
    const elsewhere = await sleeper(other, "SELECT pg_sleep(600), 'ops-secret' AS token");
    const runaway = await sleeper(app, "SELECT pg_sleep(600), 'alice@example.com' AS email, 4242 AS card -- note 'x'");
    await new Promise((r) => setTimeout(r, 500));

    const evidence = await createDiagnosisActivities(deps).findLongRunningQueries({ database: 'app' });
    const listed = (evidence.details as { queries: { pid: number; query: string }[] }).queries;
    expect(listed.map((q) => q.pid)).toEqual([runaway.pid]);
    expect(listed[0].query).toBe('SELECT pg_sleep(?), ? AS email, ? AS card');
    expect(evidence.summary).not.toMatch(/alice|4242|ops-secret/);

    const playbooks = createPlaybookActivities(deps);
    await expect(playbooks.terminateBackend({ database: 'app', pid: elsewhere.pid })).rejects.toThrow(
      new RegExp(`no backend ${elsewhere.pid} on database app`),
    );
    const alive = await other.pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [elsewhere.pid]);
    expect(alive.rows[0].n).toBe(1);

    const ended = await playbooks.terminateBackend({ database: 'app', pid: runaway.pid });
    expect(ended.query).toBe('SELECT pg_sleep(?), ? AS email, ? AS card');
    expect(await runaway.running).toMatch(/terminat/);
  });

  it('replaces every kind of literal and cuts long text', () => {
    expect(redactQuery("UPDATE users SET email = 'a''b@x.io', n = -12.5e3 WHERE id = $1 AND t2.c1 = 7")).toBe(
      'UPDATE users SET email = ?, n = -? WHERE id = $1 AND t2.c1 = ?',
    );
    expect(redactQuery("SELECT E'it\\'s', $$body$$, $fn$x$fn$, X'ff', \"Quoted 1\" /* 'c' */ FROM t")).toBe(
      'SELECT ?, ?, ?, ?, "Quoted 1" FROM t',
    );
    // Text the server already cut inside a literal.
    expect(redactQuery("INSERT INTO t VALUES ('secret-tok")).toBe('INSERT INTO t VALUES (?');
    const long = redactQuery(`SELECT ${'a, '.repeat(200)}b FROM t`, 50);
    expect(long.length).toBeLessThanOrEqual(50);
    expect(long.endsWith('…')).toBe(true);
  });
});

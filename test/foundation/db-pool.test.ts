import { Client } from 'pg';
import { createPool, isConnectionLost, retryWhileConnectionLost } from '../../src/db/connect';
import { scratchDatabase, testEnv, type ScratchDatabase } from '../harness';

/**
 * A PostgreSQL restart ends every connection, including one an activity holds between two queries of a
 * transaction. That must fail the activity's next query (Temporal retries it), never the worker process:
 * an unhandled pg 'error' event once took a worker down with every activity it ran.
 */
describe('connections the server ends', () => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await scratchDatabase('pool_errors');
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function terminate(pid: number): Promise<void> {
    const admin = new Client({ connectionString: testEnv.pgAdminUrl });
    await admin.connect();
    try {
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    } finally {
      await admin.end();
    }
  }

  it('a checked-out client ended between two queries fails its next query, and the pool goes on with a new one', async () => {
    const pool = createPool(db.url, { max: 1 });
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const held = await pool.connect();
      const pid = (await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await held.query('BEGIN');
      await terminate(pid);
      // The server's FATAL message reaches the client while no query is active.
      await new Promise((r) => setTimeout(r, 300));
      const next = await held.query('SELECT 1').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(next).toBeInstanceOf(Error);
      expect(isConnectionLost(next)).toBe(true);
      held.release();
      // The broken client was dropped: the pool's one slot serves a new connection.
      const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(rows[0].pid).not.toBe(pid);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await pool.end();
    }
  });

  it('retryWhileConnectionLost tries again only while the connection is lost, and not for a wrong statement', async () => {
    let calls = 0;
    const lost = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    await expect(retryWhileConnectionLost(async () => (++calls < 3 ? Promise.reject(lost) : 'recorded'))).resolves.toBe('recorded');
    expect(calls).toBe(3);
    calls = 0;
    await expect(db.pool.query('SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '42P01' });
    await expect(
      retryWhileConnectionLost(() => {
        calls++;
        return db.pool.query('SELECT * FROM no_such_table');
      }),
    ).rejects.toMatchObject({ code: '42P01' });
    expect(calls).toBe(1);
  });
});

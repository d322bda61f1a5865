import { Client as PgClient } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { RunbookKind } from '../../src/workflows/common/search-attributes';
import { freePort } from '../../src/stack/ports';
import { isAlive, readStackFile } from '../../src/stack/state';
import { runCli } from '../harness/cli';
import { uniqueName } from '../harness';
import { cleanUpStack, processesOf, serverPid, stackEnv, startStack, waitFor, type StartedStack } from '../harness/stack';

/** /readyz's status code, or 0 when the receiver itself does not answer. */
async function readyz(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) })).status;
  } catch {
    return 0;
  }
}

async function selfCheckRows(opsUrl: string): Promise<number> {
  const db = new PgClient({ connectionString: opsUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM self_checks');
    return Number(rows[0].n);
  } finally {
    await db.end();
  }
}

describe('npm start supervises its embedded servers', () => {
  describe('kill -9 of a server under a running stack', () => {
    let dataDir: string;
    let env: Record<string, string>;
    let ports: Awaited<ReturnType<typeof stackEnv>>['ports'];
    let running: StartedStack | undefined;
    let connection: Connection;
    let client: Client;

    beforeAll(async () => {
      // A restart waits 15 s, so the outage is long enough to watch /readyz and `runbook doctor` during it (6 s was not, once,
      // in a loaded CI run: the doctor found Temporal back).
      ({ dataDir, env, ports } = await stackEnv({ RUNBOOK_RESTART_BACKOFF_MS: '15000' }));
      running = await startStack(env);
      connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
      client = new Client({ connection });
    }, 180_000);

    afterAll(async () => {
      await connection?.close();
      await cleanUpStack(dataDir, running);
    });

    const selfCheck = (prefix: string, startDelay?: '2s' | '3s') =>
      client.workflow.start('selfCheck', {
        taskQueue: 'durable-runbooks',
        workflowId: uniqueName(prefix),
        args: [{ requestedBy: 'supervision test' }],
        typedSearchAttributes: [{ key: RunbookKind, value: 'selfCheck' }],
        ...(startDelay ? { startDelay } : {}),
      });

    it('Temporal: restarted on the same port with its history; /readyz 503 then 200; doctor names it; a workflow started before completes', async () => {
      expect(await readyz(ports.webhooks)).toBe(200);
      const before = await selfCheck('done-before-kill');
      await before.result();
      // Started before the kill, its first task comes due while the server is down.
      const inFlight = await selfCheck('in-flight', '2s');

      const pid = serverPid(dataDir, 'temporal');
      process.kill(pid, 'SIGKILL');
      const down = await waitFor('/readyz answers 503', async () => (await readyz(ports.webhooks)) === 503, 10_000);

      const doctor = await runCli(['doctor'], { RUNBOOK_DATA_DIR: dataDir });
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toMatch(new RegExp(`FAIL\\s+temporal\\s+Temporal unreachable at 127\\.0\\.0\\.1:${ports.temporal}`));
      expect(doctor.stdout).toMatch(/ok\s+postgres\s+ops database at 127\.0\.0\.1:\d+\/ops/);

      const up = await waitFor('/readyz answers 200 again', async () => (await readyz(ports.webhooks)) === 200, 60_000);
      expect(running!.output()).toMatch(new RegExp(`\\[temporal\\] the Temporal dev server \\(pid ${pid}\\) killed by SIGKILL`));
      expect(running!.output()).toMatch(/\[temporal\] the Temporal dev server restarted \(pid \d+\)/);
      const restarted = serverPid(dataDir, 'temporal');
      expect(restarted).not.toBe(pid);
      expect(readStackFile(dataDir)?.pids).toContain(restarted);
      expect(readStackFile(dataDir)?.pids).not.toContain(pid);

      // The worker reconnected by itself and ran the workflow; the one from before the kill is still in history.
      await expect(inFlight.result()).resolves.toMatchObject({ database: 'ops' });
      expect((await before.describe()).status.name).toBe('COMPLETED');
      const healthy = await runCli(['doctor'], { RUNBOOK_DATA_DIR: dataDir });
      expect({ code: healthy.code, out: healthy.stdout }).toEqual({ code: 0, out: expect.stringContaining('all checks passed') });
      console.log(`temporal kill: /readyz 503 after ${down} ms, 200 again ${up} ms after the doctor run`);
    }, 180_000);

    it('PostgreSQL: restarted on the same port with its data; a workflow writing to the ops database completes', async () => {
      const opsUrl = readStackFile(dataDir)!.opsDatabaseUrl!;
      const rowsBefore = await selfCheckRows(opsUrl);
      expect(rowsBefore).toBeGreaterThanOrEqual(2);
      // Its activity runs while the database is down, fails, and succeeds on a retry after the restart.
      const inFlight = await selfCheck('pg-in-flight', '3s');

      const pid = serverPid(dataDir, 'postgres');
      process.kill(pid, 'SIGKILL');
      const doctor = await runCli(['doctor'], { RUNBOOK_DATA_DIR: dataDir });
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toMatch(
        new RegExp(`FAIL\\s+postgres\\s+PostgreSQL ops database unreachable at 127\\.0\\.0\\.1:${ports.pg}/ops`),
      );
      expect(doctor.stdout).toMatch(/ok\s+temporal/);

      await expect(inFlight.result()).resolves.toMatchObject({ database: 'ops' });
      expect(running!.output()).toMatch(new RegExp(`\\[postgres\\] PostgreSQL \\(pid ${pid}\\) killed by SIGKILL`));
      expect(running!.output()).toMatch(/\[postgres\] PostgreSQL restarted \(pid \d+\)/);
      expect(serverPid(dataDir, 'postgres')).not.toBe(pid);
      expect(readStackFile(dataDir)?.opsDatabaseUrl).toBe(opsUrl); // same port
      expect(await selfCheckRows(opsUrl)).toBe(rowsBefore + 1); // nothing lost, the new row written

      // The stack still stops cleanly, servers included.
      expect(await running!.interrupt()).toBe(0);
      expect(processesOf(dataDir)).toEqual([]);
    }, 180_000);
  });

  it('runbook doctor with nothing running: one FAIL line for Temporal and one for the ops database, exit 1', async () => {
    const [temporalPort, pgPort] = [await freePort(), await freePort()];
    const res = await runCli(['doctor'], {
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      OPS_DATABASE_URL: `postgres://u:secret@127.0.0.1:${pgPort}/ops`,
    });
    expect(res.code).toBe(1);
    const fails = res.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(fails).toEqual([
      expect.stringMatching(new RegExp(`^FAIL\\s+temporal\\s+Temporal unreachable at 127\\.0\\.0\\.1:${temporalPort}$`)),
      expect.stringMatching(new RegExp(`^FAIL\\s+postgres\\s+PostgreSQL ops database unreachable at 127\\.0\\.0\\.1:${pgPort}/ops: `)),
    ]);
    expect(res.stdout).not.toContain('secret');
  });

  it('repeated failures: the stack exits non-zero naming the component and the reason, leaving no server behind', async () => {
    const { dataDir, env } = await stackEnv({
      RUNBOOK_RESTART_LIMIT: '1',
      RUNBOOK_RESTART_WINDOW_MS: '120000',
      RUNBOOK_RESTART_BACKOFF_MS: '200',
    });
    let running: StartedStack | undefined;
    try {
      running = await startStack(env);
      const first = serverPid(dataDir, 'temporal');
      process.kill(first, 'SIGKILL');
      await waitFor('the first restart', () => running!.output().includes('the Temporal dev server restarted'), 60_000);
      const second = serverPid(dataDir, 'temporal');
      process.kill(second, 'SIGKILL');

      expect(await running.exited).toBe(1);
      const out = running.output();
      expect(out).toMatch(
        new RegExp(
          `ERROR: \\[stack\\] temporal: giving up after 2 failures within 120 s \\(restart limit 1\\); last: the Temporal dev server \\(pid ${second}\\) killed by SIGKILL`,
        ),
      );
      expect(out).toMatch(/stopping worker[\s\S]*stopping postgres[\s\S]*stopping temporal/);
      expect(processesOf(dataDir)).toEqual([]);
      for (const pid of [first, second]) expect(isAlive(pid)).toBe(false);
    } finally {
      await cleanUpStack(dataDir, running);
    }
  }, 180_000);
});

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { RunbookKind, RunbookSeverity, RunbookStage, RunbookStatus } from '../../src/workflows/common/search-attributes';
import type { StatusReport } from '../../src/cli/commands/status';
import type { DoctorReport } from '../../src/cli/commands/doctor';
import { freePort } from '../../src/stack/ports';
import { ROOT, runCli } from '../harness/cli';
import { scratchDatabase, startTestWorker, testClient, testConfig, testDeps, testEnv, uniqueName, type ScratchDatabase } from '../harness';

/** The first runbook's example config on a task queue of this test's own. */
function configOnQueue(dir: string, taskQueue: string): string {
  const raw = parseYaml(readFileSync(path.join(ROOT, 'config', 'examples', 'vercel-supabase.yaml'), 'utf8')) as Record<string, unknown>;
  const file = path.join(dir, `${taskQueue}.yaml`);
  writeFileSync(file, toYaml({ ...raw, temporal: { taskQueue } }));
  return file;
}

describe('runbook CLI against a real Temporal server', () => {
  let dir: string;
  let client: Client;
  let connection: Connection;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'runbook-cli-'));
    ({ client, connection } = await testClient());
  });
  afterAll(async () => {
    await connection.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const cliEnv = (config: string) => ({ TEMPORAL_ADDRESS: testEnv.temporalAddress, RUNBOOK_CONFIG: config });

  it('`status --json` lists an open run of this service by kind, with its search attributes, and nothing from other queues', async () => {
    const taskQueue = uniqueName('status');
    const config = configOnQueue(dir, taskQueue);
    const ours = uniqueName('self-check-probe');
    const theirs = uniqueName('other-service');
    const handles: WorkflowHandle[] = [];
    try {
      // No worker polls: the runs stay open, which is what `status` lists.
      handles.push(
        await client.workflow.start('selfCheck', {
          taskQueue,
          workflowId: ours,
          args: [{ requestedBy: 'jest' }],
          typedSearchAttributes: [
            { key: RunbookKind, value: 'selfCheck' },
            { key: RunbookStatus, value: 'probing' },
            { key: RunbookSeverity, value: 'P2' },
            { key: RunbookStage, value: 'waiting' },
          ],
        }),
        await client.workflow.start('selfCheck', {
          taskQueue: uniqueName('elsewhere'),
          workflowId: theirs,
          args: [{}],
          typedSearchAttributes: [{ key: RunbookKind, value: 'selfCheck' }],
        }),
      );

      let report: StatusReport | undefined;
      for (let attempt = 0; attempt < 10; attempt++) {
        const res = await runCli(['status', '--json'], cliEnv(config));
        expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
        report = JSON.parse(res.stdout) as StatusReport;
        if (report.total > 0) break;
        await new Promise((r) => setTimeout(r, 500)); // visibility is eventually consistent
      }
      expect(report).toMatchObject({ taskQueue, total: 1 });
      expect(Object.keys(report!.kinds)).toEqual(['selfCheck']);
      expect(report!.kinds.selfCheck).toEqual([
        expect.objectContaining({
          workflowId: ours,
          kind: 'selfCheck',
          type: 'selfCheck',
          executionStatus: 'RUNNING',
          status: 'probing',
          severity: 'P2',
          stage: 'waiting',
        }),
      ]);

      const human = await runCli(['status'], cliEnv(config));
      expect(human.code).toBe(0);
      expect(human.stdout).toContain('1 open run on task queue');
      expect(human.stdout).toMatch(new RegExp(`selfCheck \\(1\\)[\\s\\S]*${ours}\\s+-\\s+P2\\s+probing\\s+waiting`));
      expect(human.stdout).not.toContain(theirs);
    } finally {
      await Promise.all(handles.map((h) => h.terminate('test over').catch(() => undefined)));
    }
  });

  it('with more runs than one page, totals come from the count API and lists page through all or say what they leave out', async () => {
    const taskQueue = uniqueName('many');
    const config = configOnQueue(dir, taskQueue);
    const runs = 230; // visibility pages hold 100
    const handles: WorkflowHandle[] = [];
    try {
      for (let i = 0; i < runs; i += 10) {
        handles.push(
          ...(await Promise.all(
            Array.from({ length: Math.min(10, runs - i) }, (_, j) =>
              client.workflow.start('incident', {
                taskQueue, // no worker polls it: the runs stay open
                workflowId: `${taskQueue}-incident-${i + j}`,
                args: [{ dedupKey: `${taskQueue}:${i + j}` }],
                typedSearchAttributes: [
                  { key: RunbookKind, value: 'incident' },
                  { key: RunbookStatus, value: 'open' },
                ],
              }),
            ),
          )),
        );
      }
      type Listed = { total: number; shown: number; incidents: { incidentId: string }[] };
      let all: Listed | undefined;
      for (let attempt = 0; attempt < 20; attempt++) {
        const res = await runCli(['incident', 'list', '--json'], cliEnv(config));
        expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
        all = JSON.parse(res.stdout) as Listed;
        if (all.total === runs && all.incidents.length === runs) break;
        await new Promise((r) => setTimeout(r, 500)); // visibility is eventually consistent
      }
      expect(all).toMatchObject({ total: runs, shown: runs });
      expect(new Set(all!.incidents.map((x) => x.incidentId)).size).toBe(runs);

      const limited = JSON.parse((await runCli(['incident', 'list', '--limit', '20', '--json'], cliEnv(config))).stdout) as Listed;
      expect(limited).toMatchObject({ total: runs, shown: 20 });
      expect(limited.incidents).toHaveLength(20);
      const human = await runCli(['incident', 'list', '--limit', '20'], cliEnv(config));
      expect(human.stdout).toContain(`${runs} open incidents (showing 20 of ${runs}; --limit shows more)`);

      const status = JSON.parse((await runCli(['status', '--json'], cliEnv(config))).stdout) as StatusReport;
      expect(status).toMatchObject({ total: runs, shown: 200 });
      expect(status.kinds.incident).toHaveLength(200);
      const statusHuman = await runCli(['status', '--limit', '50'], cliEnv(config));
      expect(statusHuman.stdout).toContain(`${runs} open runs on task queue "${taskQueue}"`);
      expect(statusHuman.stdout).toContain(`(showing 50 of ${runs}; --limit shows more)`);
      const everything = JSON.parse((await runCli(['status', '--limit', '1000', '--json'], cliEnv(config))).stdout) as StatusReport;
      expect(everything).toMatchObject({ total: runs, shown: runs });
    } finally {
      for (let i = 0; i < handles.length; i += 20)
        await Promise.all(handles.slice(i, i + 20).map((h) => h.terminate('test over').catch(() => undefined)));
    }
  }, 120_000);

  describe('doctor', () => {
    let ops: ScratchDatabase;
    beforeAll(async () => {
      ops = await scratchDatabase('doctor', { ops: true });
    });
    afterAll(async () => {
      await ops.drop();
    });

    it('runs the selfCheck workflow end to end through the worker into the ops database', async () => {
      const taskQueue = uniqueName('doctor');
      const worker = await startTestWorker({ deps: testDeps(testConfig(), ops), taskQueue });
      try {
        const res = await worker.run(() => runCli(['doctor', '--json'], cliEnv(configOnQueue(dir, taskQueue))));
        expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
        const report = JSON.parse(res.stdout) as DoctorReport;
        expect(report.ok).toBe(true);
        expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
          ['temporal', true],
          ['search attributes', true],
          ['worker', true],
          ['selfCheck workflow', true],
        ]);
        expect(report.selfCheck).toMatchObject({ database: ops.name });
        const { rows } = await ops.pool.query('SELECT id, requested_by, workflow_id FROM self_checks');
        expect(rows).toEqual([
          { id: String(report.selfCheck!.checkId), requested_by: 'runbook doctor', workflow_id: report.selfCheck!.workflowId },
        ]);
      } finally {
        await worker.close();
      }
    });

    it('names `runbook db migrate` when the external ops database has no schema, which the command then applies once', async () => {
      const bare = await scratchDatabase('doctor_bare');
      const taskQueue = uniqueName('doctor');
      const env = { ...cliEnv(configOnQueue(dir, taskQueue)), OPS_DATABASE_URL: bare.url };
      const worker = await startTestWorker({ deps: testDeps(testConfig(), bare), taskQueue });
      try {
        await worker.run(async () => {
          const before = await runCli(['doctor'], env);
          expect(before.code).toBe(1);
          expect(before.stdout).toMatch(
            /FAIL\s+postgres\s+ops database at .+ lacks \d+ schema migration\(s\) .*run `npx runbook db migrate`/,
          );
          expect(before.stdout).not.toContain('selfCheck workflow');

          const migrate = await runCli(['db', 'migrate', '--json'], env);
          expect({ code: migrate.code, stderr: migrate.stderr }).toEqual({ code: 0, stderr: '' });
          const applied = (JSON.parse(migrate.stdout) as { applied: string[] }).applied;
          expect(applied).toEqual(
            readdirSync(path.join(ROOT, 'migrations', 'ops'))
              .map((f) => f.replace(/\.sql$/, ''))
              .sort(),
          );
          const again = await runCli(['db', 'migrate'], env);
          expect(again.stdout.trim()).toMatch(/schema already up to date$/);

          const after = await runCli(['doctor', '--json'], env);
          const report = JSON.parse(after.stdout) as DoctorReport;
          expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
            ['temporal', true],
            ['postgres', true],
            ['search attributes', true],
            ['worker', true],
            ['selfCheck workflow', true],
          ]);
          expect(after.code).toBe(0);
        });
      } finally {
        await worker.close();
        await bare.drop();
      }
    });

    it('fails with exit 1 and says how to start a worker when none polls', async () => {
      const res = await runCli(['doctor'], cliEnv(configOnQueue(dir, uniqueName('idle'))));
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(/FAIL\s+worker\s+no worker polls task queue "idle_[0-9a-f]+": start one with `npm start`/);
      expect(res.stdout).not.toContain('selfCheck workflow');
    });
  });

  it('when Temporal is unreachable: exit 3 and one line naming the address and `npm start`', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const res = await runCli(['status'], { TEMPORAL_ADDRESS: address });
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^runbook: Temporal is not reachable at ${address} .*\`npm start\``)),
    ]);

    const json = await runCli(['status', '--json'], { TEMPORAL_ADDRESS: address });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 3, address } });
  });

  it('usage errors exit 2 with one line and no stack trace', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe("error: unknown command 'frobnicate'");
    const badOption = await runCli(['status', '--limit', 'many'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(badOption.code).toBe(2);
    expect(badOption.stderr.trim()).toBe('runbook: --limit: must be a positive integer, got "many"');
  });
});

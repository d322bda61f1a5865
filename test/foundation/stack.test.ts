import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { RunbookKind } from '../../src/workflows/common/search-attributes';
import type { StatusReport } from '../../src/cli/commands/status';
import { temporalCli } from '../../src/stack/binaries';
import { runCli } from '../harness/cli';
import { uniqueName } from '../harness';
import { cleanUpStack, processesOf, stackEnv, startStack, type StartedStack } from '../harness/stack';

describe('npm start: the whole stack in the foreground', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let ports: { temporal: number; ui: number; pg: number };
  let running: StartedStack | undefined;

  beforeAll(async () => {
    ({ dataDir, env, ports } = await stackEnv());
  });

  afterAll(() => cleanUpStack(dataDir, running));

  it('serves the UI, has the worker polling, keeps history across a restart, and leaves no process behind', async () => {
    const address = `127.0.0.1:${ports.temporal}`;

    // 1. First start: banner says where everything is.
    running = await startStack(env);
    const banner = running.output();
    expect(banner).toContain(
      `Temporal      ${address} (namespace default), history in ${path.join(dataDir, 'temporal', 'temporal.sqlite')}`,
    );
    expect(banner).toContain(`Temporal UI   http://localhost:${ports.ui}`);
    expect(banner).toContain(`ops database  postgres://postgres@127.0.0.1:${ports.pg}/ops (embedded)`);
    expect(banner).toContain(`app database  postgres://postgres@127.0.0.1:${ports.pg}/app (embedded)`);
    expect(banner).toMatch(/worker\s+task queue "durable-runbooks"/);

    // 2. The Web UI answers, and `temporal task-queue describe` shows our worker polling.
    const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
    expect(ui.status).toBe(200);
    const describe = execFileSync(temporalCli(), ['task-queue', 'describe', '--task-queue', 'durable-runbooks', '--address', address], {
      encoding: 'utf8',
    });
    const pollers = describe.slice(describe.indexOf('Pollers:'));
    expect(pollers).toMatch(/workflow\s+\d+@\S+\s+(now|\d+ seconds? ago)/);
    expect(pollers).toMatch(/activity\s+\d+@\S+\s+(now|\d+ seconds? ago)/);

    // 3. A workflow runs through the stack's own worker into its ops database.
    const workflowId = uniqueName('before-restart');
    const connection = await Connection.connect({ address });
    try {
      const result = await new Client({ connection }).workflow.execute('selfCheck', {
        taskQueue: 'durable-runbooks',
        workflowId,
        args: [{ requestedBy: 'stack test' }],
        typedSearchAttributes: [{ key: RunbookKind, value: 'selfCheck' }],
      });
      expect(result).toMatchObject({ database: 'ops' });
    } finally {
      await connection.close();
    }

    // 4. Ctrl-C: a clean stop, no temporal or postgres process of this data dir left.
    expect(processesOf(dataDir).length).toBeGreaterThanOrEqual(2);
    expect(await running.interrupt()).toBe(0);
    expect(running.output()).toMatch(/stopping worker[\s\S]*stopping postgres[\s\S]*stopping temporal[\s\S]*stopped/);
    expect(processesOf(dataDir)).toEqual([]);
    expect(spawnSync('pgrep', ['-f', dataDir]).status).toBe(1);

    // 5. Start again: the run completed before the restart is still listed.
    running = await startStack(env);
    const status = await runCli(['status', '--all', '--json'], { RUNBOOK_DATA_DIR: dataDir }); // finds the server via <data>/stack.json
    expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(report.kinds.selfCheck).toContainEqual(expect.objectContaining({ workflowId, executionStatus: 'COMPLETED' }));

    expect(await running.interrupt()).toBe(0);
    expect(processesOf(dataDir)).toEqual([]);
  }, 240_000);
});

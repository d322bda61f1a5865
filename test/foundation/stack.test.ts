import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { RunbookKind } from '../../src/workflows/common/search-attributes';
import type { StatusReport } from '../../src/cli/commands/status';
import { temporalCli } from '../../src/stack/binaries';
import { freePort } from '../../src/stack/ports';
import { readStackFile } from '../../src/stack/state';
import { cleanEnv, ROOT, runCli, TSX } from '../harness/cli';
import { uniqueName } from '../harness';

/** `npm start` without its prestart set-up step (already done for the test run). */
const START = path.join(ROOT, 'src', 'stack', 'start.ts');

interface StartedStack {
  child: ChildProcess;
  output(): string;
  /** Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. */
  interrupt(): Promise<number | null>;
}

async function startStack(env: Record<string, string>): Promise<StartedStack> {
  // Own process group, like a shell job, so the interrupt reaches tsx and node together.
  const child = spawn(TSX, [START], { cwd: ROOT, env: cleanEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!out.includes('Durable Runbooks is running')) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode} before its banner:\n${out}`);
    if (Date.now() > deadline) throw new Error(`no banner within 120 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    output: () => out,
    async interrupt() {
      process.kill(-child.pid!, 'SIGINT');
      return exited;
    },
  };
}

/** Processes whose command line names `dir` (the servers of that data dir), like `pgrep -af <dir>`. */
function processesOf(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmd.includes(dir) && Number(pid) !== process.pid) found.push(`${pid} ${cmd}`);
    } catch {
      // exited while we looked
    }
  }
  return found;
}

describe('npm start: the whole stack in the foreground', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let ports: { temporal: number; ui: number; pg: number };
  let running: StartedStack | undefined;

  beforeAll(async () => {
    dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'runbook-stack-')), 'data');
    chmodSync(path.dirname(dataDir), 0o755); // PostgreSQL runs as the postgres account when we are root
    ports = { temporal: await freePort(), ui: await freePort(), pg: await freePort() };
    env = {
      RUNBOOK_DATA_DIR: dataDir,
      RUNBOOK_TEMPORAL_PORT: String(ports.temporal),
      RUNBOOK_UI_PORT: String(ports.ui),
      RUNBOOK_PG_PORT: String(ports.pg),
      RUNBOOK_METRICS_PORT: '0',
    };
  });

  afterAll(async () => {
    if (running && running.child.exitCode === null) await running.interrupt();
    for (const pid of readStackFile(dataDir)?.pids ?? []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

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

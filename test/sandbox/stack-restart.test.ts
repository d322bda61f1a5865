import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { deployStartOptions, type DeployInput } from '../../src/workflows/deploy/contract';
import { freePort } from '../../src/stack/ports';
import { readStackFile } from '../../src/stack/state';
import { cleanEnv, ROOT, runCli, TSX } from '../harness/cli';
import { until } from './http';

/**
 * The restart test: a deployment in its production watch and an open P1 incident, then kill -9
 * of every process of the stack (npm start, Temporal, PostgreSQL) and `npm start` again. Both end as
 * if nothing had happened: the sandbox's call log shows no extra promotion, rollback, page or incident.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const START = path.join(ROOT, 'src', 'stack', 'start.ts');

async function startStack(env: Record<string, string>): Promise<{ child: ChildProcess; output(): string }> {
  const child = spawn(TSX, [START], { cwd: ROOT, env: cleanEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 120_000;
  while (!out.includes('Durable Runbooks is running')) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode} before its banner:\n${out}`);
    if (Date.now() > deadline) throw new Error(`no banner within 120 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => out };
}

/** Process ids whose command line names `dir` (the servers of that data dir). */
function processesOf(dir: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dir) && Number(pid) !== process.pid) found.push(Number(pid));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

const kill = (pid: number) => {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
};

describe('npm start killed with -9 under a deployment watch and an open P1', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let sandboxUrl: string;
  let stack: { child: ChildProcess; output(): string } | undefined;

  const killAll = async () => {
    const pids = [...(readStackFile(dataDir)?.pids ?? []), ...processesOf(dataDir)];
    if (stack?.child.pid) kill(-stack.child.pid);
    for (const pid of pids) kill(pid);
    await until(() => (processesOf(dataDir).length === 0 ? true : (processesOf(dataDir).forEach(kill), undefined)), 15_000, 100);
  };

  beforeAll(async () => {
    dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'runbook-kill9-')), 'data');
    chmodSync(path.dirname(dataDir), 0o755); // PostgreSQL runs as the postgres account when we are root
    const sandboxPort = await freePort();
    sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    env = {
      RUNBOOK_DATA_DIR: dataDir,
      RUNBOOK_TEMPORAL_PORT: String(await freePort()),
      RUNBOOK_UI_PORT: String(await freePort()),
      RUNBOOK_PG_PORT: String(await freePort()),
      RUNBOOK_WEBHOOK_PORT: String(await freePort()),
      RUNBOOK_METRICS_PORT: '0',
      SANDBOX_PORT: String(sandboxPort),
      SANDBOX_STEP_MS: '50',
    };
  });

  afterAll(async () => {
    await killAll().catch(() => undefined);
    rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });

  it('the watch ends as it would have and the incident stays as it was: no extra promotion, rollback, page or incident', async () => {
    const cli = async (args: string[]) => {
      const r = await runCli([...args, '--json'], { RUNBOOK_DATA_DIR: dataDir });
      if (r.code !== 0) throw new Error(`runbook ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      return JSON.parse(r.stdout) as Json;
    };
    const sandbox = async (p: string) => (await (await fetch(`${sandboxUrl}/_sandbox${p}`)).json()) as Json[];
    const counts = async () => {
      const vercel = await sandbox('/calls?vendor=vercel&method=POST');
      return {
        // Promotion is a rolling release here (10 %, 50 %, 100 %): every call that moves production forward.
        promotions: vercel
          .filter((c) => /\/promote\/|\/rolling-release\/(start|approve-stage|complete)$/.test(c.path))
          .map((c) => `${c.path} ${c.status}`),
        rollbacks: vercel.filter((c) => /\/rollback\//.test(c.path)).length,
        pages: (await sandbox('/pagerduty/events')).filter((e) => e.event_action === 'trigger').length,
        statusIncidents: (await sandbox('/calls?vendor=statuspage&method=POST')).length,
      };
    };

    stack = await startStack(env);
    // As `runbook deploy start` does, with the rolling release's stage watches shortened too.
    const input: DeployInput = {
      service: 'javari-web',
      ref: 'main',
      requestedBy: 'kill -9 test',
      durations: { watch: '40s', stageWatch: '12s', sampleInterval: '3s' },
    };
    const first = await Connection.connect({ address: `127.0.0.1:${env.RUNBOOK_TEMPORAL_PORT}` });
    const deployId = (
      await new Client({ connection: first }).workflow.start('deploy', {
        taskQueue: 'durable-runbooks',
        ...deployStartOptions(input),
        args: [input],
      })
    ).workflowId;
    await first.close();
    await until(async () => ((await cli(['deploy', 'status', deployId])).stage === 'watching' ? true : undefined), 90_000, 1000);
    const declared = await cli(['incident', 'declare', '--title', 'Checkout failing', '--severity', 'P1', '--key', 'kill9-p1']);
    const incidentId = declared.incidentId as string;
    await until(async () => ((await counts()).pages >= 1 ? true : undefined), 30_000, 500);
    await until(async () => (((await cli(['deploy', 'status', deployId])).samplesTaken as number) >= 2 ? true : undefined), 30_000, 1000);
    const before = await counts();
    expect(before.promotions.length).toBeGreaterThanOrEqual(1);
    expect(before.rollbacks).toBe(0);

    // kill -9 of everything: npm start (tsx and node), Temporal, PostgreSQL.
    await killAll();
    stack = await startStack(env);
    expect(stack.output()).toContain(`LOCAL SANDBOX at ${sandboxUrl}`);

    const connection = await Connection.connect({ address: `127.0.0.1:${env.RUNBOOK_TEMPORAL_PORT}` });
    try {
      const handle = new Client({ connection }).workflow.getHandle(deployId);
      let timer: NodeJS.Timeout | undefined;
      const result = (await Promise.race([
        handle.result().finally(() => clearTimeout(timer)),
        new Promise((_, reject) => {
          timer = setTimeout(async () => {
            const progress = await handle.query('progress').catch((e: Error) => e.message);
            reject(
              new Error(`no deploy result within 150 s after the restart: ${JSON.stringify(progress)}\n${stack?.output().slice(-6000)}`),
            );
          }, 150_000);
        }),
      ])) as Json;
      expect({ verdict: result.verdict, reason: result.verdictReason, rollback: result.rollback }).toMatchObject({
        verdict: 'succeeded',
        rollback: undefined,
      });
    } finally {
      await connection.close();
    }
    const incident = await cli(['incident', 'show', incidentId]);
    expect(incident.status).toBe('open');
    // The release went on where it was: each step of it once, none repeated; no rollback, page or status incident more.
    const after = await counts();
    const steps = ['start', 'approve-stage', 'complete'].map((step) => `/v1/projects/crav-javari/rolling-release/${step} 200`);
    expect(after.promotions).toEqual(steps);
    expect(after.promotions.slice(0, before.promotions.length)).toEqual(before.promotions);
    expect({ ...after, promotions: undefined }).toEqual({ ...before, promotions: undefined });
    const open = (await cli(['incident', 'list'])) as unknown as { total: number; incidents: Json[] };
    expect(open.incidents.map((i) => i.incidentId)).toEqual([incidentId]);
    expect(open.total).toBe(1);
  }, 420_000);
});

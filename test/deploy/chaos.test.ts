import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { deployStartOptions, type DeployResult } from '../../src/workflows/deploy/contract';
import { deploy } from '../../src/workflows';
import { testClient, testEnv, uniqueName } from '../harness';
import { openStage, type Stage } from './stage';

/**
 * Chaos: 20 deployments run at once while their only worker, a child process, is SIGKILLed at random
 * moments and restarted. The sandbox's call log must still show, per project, one preview, one
 * production build, exactly one promotion, and a rollback only where the release was made to breach.
 */

const DEPLOYMENTS = 20;
const BREACHING = new Set([3, 7, 11, 15, 19]);
/** Kills, each at a random moment 0.5–4 s after the restarted worker polls again; then it runs in peace. */
const KILLS = 10;
const projects = Array.from({ length: DEPLOYMENTS }, (_, i) => `chaos-${String(i).padStart(2, '0')}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startWorker(stage: Stage, taskQueue: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'chaos-worker.ts')], {
    env: {
      ...process.env,
      ...stage.deps.env,
      CHAOS_CONFIG: JSON.stringify(stage.config),
      CHAOS_OPS_URL: stage.ops.url,
      CHAOS_TEMPORAL_ADDRESS: testEnv.temporalAddress,
      CHAOS_TASK_QUEUE: taskQueue,
      CHAOS_BUNDLE: testEnv.workflowBundle,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return child;
}

/** Resolves once the worker polls (it prints "ready"), or when it exits. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
    child.once('exit', () => resolve());
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('deploy chaos: the worker is SIGKILLed at random points across 20 concurrent deployments', () => {
  let stage: Stage;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child) await kill(child);
    await stage?.close();
  });

  it('still makes exactly one promotion per deployment and at most one rollback', async () => {
    stage = await openStage({
      noWorker: true,
      services: projects.map((p) => ({ name: p, projectId: p, rollingRelease: undefined })),
    });
    const before = new Map(projects.map((p) => [p, stage.sandbox.apps.production(p)!.current!]));
    const taskQueue = uniqueName('chaos');
    const { client, connection } = await testClient();
    const handles: WorkflowHandle<typeof deploy>[] = [];
    let kills = 0;
    try {
      child = startWorker(stage, taskQueue);
      for (const p of projects) {
        const input = {
          service: p,
          ref: 'main',
          requestedBy: 'chaos',
          durations: {
            // Long enough that the deployments are still running when the fifth kill comes.
            watch: 10_000,
            stageWatch: 2_000,
            sampleInterval: 1_000,
            pollInterval: 100,
            activityTimeout: 3_000,
            buildTimeout: 120_000,
          },
        };
        const o = deployStartOptions(input);
        handles.push(
          await client.workflow.start(deploy, {
            ...o,
            workflowId: `${o.workflowId}-${uniqueName('c')}`,
            taskQueue,
            args: [input],
            workflowTaskTimeout: '5s',
          }),
        );
      }
      let finished = false;
      const results = Promise.allSettled(handles.map((h) => h.result())).finally(() => (finished = true));

      // Breach the releases chosen to fail, as soon as each one serves production.
      const breached = new Set<string>();
      const breacher = (async () => {
        while (!finished) {
          for (const i of BREACHING) {
            const p = projects[i];
            const live = stage.sandbox.apps.production(p)!.current!;
            if (!breached.has(p) && live !== before.get(p)) {
              stage.sandbox.apps.degrade(live, { errorRate: 25 });
              breached.add(p);
            }
          }
          await sleep(50);
        }
      })();

      // The chaos: kill at a random moment after the worker is back, restart at once, again and again.
      while (!finished && kills < KILLS) {
        await Promise.race([ready(child), results]);
        await Promise.race([sleep(500 + Math.random() * 2_000), results]);
        if (finished) break;
        await kill(child);
        kills += 1;
        child = startWorker(stage, taskQueue);
      }
      await results;
      await breacher;

      const settled = await results;
      const outcomes = settled.map(
        (s, i) => (s.status === 'fulfilled' ? s.value.verdict : `error: ${(s.reason as Error).message}`) + ` (${projects[i]})`,
      );
      process.stdout.write(`chaos: ${kills} SIGKILLs across ${DEPLOYMENTS} deployments\n`);
      expect(kills).toBeGreaterThanOrEqual(5);
      expect(outcomes.filter((o) => o.startsWith('error'))).toEqual([]);

      for (const [i, p] of projects.entries()) {
        const calls = stage.sandbox.calls({ vendor: 'vercel', method: 'POST' });
        const creates = calls.filter((c) => c.path === '/v13/deployments' && (c.body as { project?: string }).project === p);
        const promotes = calls.filter((c) => c.path.startsWith(`/v10/projects/${p}/promote/`));
        const rollbacks = calls.filter((c) => c.path.startsWith(`/v1/projects/${p}/rollback/`));
        expect({ p, previews: creates.filter((c) => !(c.body as { target?: string }).target).length }).toEqual({ p, previews: 1 });
        expect({ p, productionBuilds: creates.filter((c) => (c.body as { target?: string }).target === 'production').length }).toEqual({
          p,
          productionBuilds: 1,
        });
        expect({ p, promotions: promotes.length }).toEqual({ p, promotions: 1 });
        expect({ p, rollbacks: rollbacks.length }).toEqual({ p, rollbacks: BREACHING.has(i) ? 1 : 0 });
        const result = settled[i].status === 'fulfilled' ? (settled[i] as PromiseFulfilledResult<DeployResult>).value : undefined;
        expect(outcomes[i]).toBe(`${BREACHING.has(i) ? 'rolled-back' : 'succeeded'} (${p})`);
        if (BREACHING.has(i)) {
          expect(rollbacks[0].path).toBe(`/v1/projects/${p}/rollback/${before.get(p)}`);
          expect(stage.sandbox.apps.production(p)!.current).toBe(before.get(p));
        } else {
          expect(stage.sandbox.apps.production(p)!.current).toBe(result?.production?.id);
        }
      }
      const { rows } = await stage.ops.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM deployments');
      expect(rows[0].n).toBe(DEPLOYMENTS);
    } finally {
      await connection.close();
    }
  }, 240_000);
});

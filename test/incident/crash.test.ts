import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { testClient, testEnv, uniqueName } from '../harness';
import { alert, incidentConfig, incidentStack, key, pdTriggers, raise, waitForState, type IncidentStack } from './helpers';

/**
 * SIGKILL of the worker during an escalation wait: the escalation step falls due while no worker is alive, another worker
 * starts, and the next on-call level is paged exactly once (counted in the sandbox's PagerDuty log).
 * The worker runs as a child process (test/deploy/chaos-worker.ts) so it dies the way a crashed host does.
 */
const SLA = 6_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('worker killed during the escalation wait', () => {
  let stack: IncidentStack;
  let child: ChildProcess | undefined;
  const taskQueue = uniqueName('incident_crash');
  const steps = [
    { after: 0, targets: ['primary'] },
    { after: SLA, targets: ['vendor-support'] },
  ];
  const config = incidentConfig({
    sla: { P0: SLA, P1: SLA, P2: SLA, P3: SLA },
    escalation: { P0: steps, P1: steps, P2: steps, P3: steps },
  });

  function startWorker(): { process: ChildProcess; ready: Promise<void> } {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'deploy', 'chaos-worker.ts')], {
      env: {
        ...process.env,
        ...stack.deps.env,
        CHAOS_CONFIG: JSON.stringify(stack.deps.config),
        CHAOS_OPS_URL: stack.ops.url,
        CHAOS_TEMPORAL_ADDRESS: testEnv.temporalAddress,
        CHAOS_TASK_QUEUE: taskQueue,
        CHAOS_BUNDLE: testEnv.workflowBundle,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const ready = new Promise<void>((resolve, reject) => {
      p.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
      p.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
    });
    return { process: p, ready };
  }

  async function kill(p: ChildProcess): Promise<void> {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  beforeAll(async () => {
    stack = await incidentStack(config);
  });
  afterAll(async () => {
    if (child) await kill(child);
    await stack?.close();
  });

  it('pages the escalation level exactly once after a SIGKILL and a restart', async () => {
    const { client, connection } = await testClient();
    try {
      const first = startWorker();
      child = first.process;
      await first.ready;
      const handle = await raise(client, taskQueue, [
        alert({ dedupKey: key('crash'), severity: 'P0', summary: 'Complete service outage' }),
      ]);
      const incidentId = handle.workflowId;
      const s = await waitForState(handle, (x) => x.escalation.pages.length === 1 && x.chatOpened, 'the initial page');
      const dueMs = Date.parse(s.escalation.dueAt!);

      // Killed in the middle of the SLA wait; the SLA runs out while no worker is alive.
      await sleep(SLA / 3);
      await kill(first.process);
      await sleep(Math.max(0, dueMs - Date.now()) + 1_000);
      expect(pdTriggers(stack.sandbox, incidentId)).toHaveLength(1);

      const second = startWorker();
      child = second.process;
      await second.ready;
      const after = await waitForState(handle, (x) => x.escalation.pages.length === 2, 'the escalation after the restart', 30_000);
      expect(after.escalation.pages[1]).toMatchObject({ level: 1, reason: 'escalation', name: 'vendor-support' });

      // Give a duplicate every chance to show up before counting.
      await sleep(2_000);
      const triggers = pdTriggers(stack.sandbox, incidentId);
      const byLevel = (env: string) => triggers.filter((t) => t.routing_key === `sandbox-${env.toLowerCase()}`);
      expect(byLevel('PAGERDUTY_ROUTING_KEY')).toHaveLength(1);
      expect(byLevel('PAGERDUTY_ROUTING_KEY_SECONDARY')).toHaveLength(1);
      expect(triggers).toHaveLength(2);
      const final = await waitForState(handle, () => true, 'state');
      expect(final.timeline.filter((e) => e.kind === 'escalation')).toHaveLength(1);
      await handle.terminate('test over');
    } finally {
      await connection.close();
    }
  });
});

/**
 * The deploy suites' stage: a sandbox, a scratch ops database, the example config pointed at the
 * sandbox with millisecond durations, and a worker running the real activities against them.
 * `openStages()` opens the sandbox, database and Temporal connections once per file (beforeAll);
 * each test then gets its own config, activities and task queue from `forTest()`.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { createPlatformClients } from '../../src/platforms';
import { sandboxConfigOverrides, startSandbox, type Sandbox } from '../../src/sandbox';
import type { CallRecord } from '../../src/sandbox';
import type { RunbookConfig } from '../../src/config/schema';
import {
  deployStartOptions,
  rollbackStartOptions,
  type DeployInput,
  type DeployProgress,
  type RollbackInput,
} from '../../src/workflows/deploy/contract';
import { deploy, rollback } from '../../src/workflows';
import {
  quietRuntime,
  scratchDatabase,
  startTestWorker,
  testClient,
  testConfig,
  testDeps,
  testEnv,
  timeSkippingEnv,
  uniqueName,
  type ScratchDatabase,
  type TestWorker,
} from '../harness';
import { createActivities, type Activities, type ActivityDeps } from '../../src/activities';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../src/workflows/common/search-attributes';

/**
 * Durations scaled down: a 3-sample watch. The dev server fires timers on whole seconds, so a
 * sample interval under 1 s would only pretend to be faster.
 */
export const FAST = {
  watch: 3_000,
  stageWatch: 2_000,
  sampleInterval: 1_000,
  pollInterval: 50,
  activityTimeout: 5_000,
  buildTimeout: 60_000,
  approvalTimeout: 60_000,
};

/** The rollback an incident asks for: to the deployment before the current one, with millisecond durations. */
export const ROLLBACK_FROM_INCIDENT: RollbackInput = {
  service: 'javari-web',
  reason: 'checkout errors after the last release',
  requestedBy: 'roy',
  incidentId: 'incident-checkout-1',
  durations: FAST,
};

/** A second request, by someone else, naming the deployment to roll back to. */
export const rollbackRequestTo = (toDeploymentId: string): RollbackInput => ({
  service: 'javari-web',
  toDeploymentId,
  reason: 'make sure',
  requestedBy: 'ana',
  durations: FAST,
});

export interface Stage {
  sandbox: Sandbox;
  ops: ScratchDatabase;
  config: RunbookConfig;
  deps: ActivityDeps;
  worker: TestWorker;
  start(input: DeployInput): Promise<WorkflowHandle<typeof deploy>>;
  startRollback(input: RollbackInput): Promise<WorkflowHandle<typeof rollback>>;
  /** Vercel calls that change something (POST/PATCH), in order, as `METHOD path`. */
  sideEffects(vendor?: string): string[];
  calls(vendor?: string): CallRecord[];
  close(): Promise<void>;
}

export interface StageOptions {
  /** Replaces the first service's fields (the Vercel project `crav-javari`). */
  service?: Record<string, unknown>;
  /** Extra services (e.g. one per deployment in the chaos test). */
  services?: Record<string, unknown>[];
  deploy?: Record<string, unknown>;
  /** Other top-level config sections (e.g. metricProviders). */
  config?: Record<string, unknown>;
  databases?: Record<string, string>;
  /** Worker with a Temporal client, so `raiseAlerts` can open incidents. */
  withAlerts?: boolean;
  example?: 'vercel-supabase' | 'netlify-supabase';
  noWorker?: boolean;
  /** Run on the time-skipping test server: the runbook's real durations, with timers skipped. */
  timeSkipping?: boolean;
  /** Activities replaced or wrapped (typed from the real ones). */
  activities?: (real: Activities) => Partial<Activities>;
}

/** A file's sandbox, ops database and Temporal connections; `forTest` stages one test on them. */
export interface Stages {
  sandbox: Sandbox;
  ops: ScratchDatabase;
  /**
   * One test's stage: its config and activities on a fresh task queue, the call log and the
   * deployments table emptied first. Its `close()` stops only the test's worker.
   */
  forTest(opts?: StageOptions): Promise<Stage>;
  close(): Promise<void>;
}

export async function openStages(): Promise<Stages> {
  quietRuntime();
  const [sandbox, ops, native, client] = await Promise.all([
    startSandbox({ timing: 10 }),
    scratchDatabase('deploy', { ops: true }),
    NativeConnection.connect({ address: testEnv.temporalAddress }),
    testClient(),
  ]);
  let open: Stage | undefined;

  async function forTest(opts: StageOptions = {}): Promise<Stage> {
    await open?.close();
    sandbox.clearCalls();
    sandbox.clearFaults();
    await ops.pool.query('DELETE FROM deployments');
    const example = opts.example ?? 'vercel-supabase';
    const base = testConfig({}, example);
    const first = { ...base.services[0], ...opts.service };
    const services = [first, ...(opts.services ?? []).map((s) => ({ ...base.services[0], ...s }))];
    const databases = Object.fromEntries(Object.keys(opts.databases ?? {}).map((k) => [k, { urlEnv: 'DATABASE_URL', poolSize: 10 }]));
    const raw = testConfig(
      { ...opts.config, services, deploy: { ...opts.deploy }, databases: { ...base.databases, ...databases } },
      example,
    );
    const { config, env } = sandboxConfigOverrides(sandbox, raw, { requestTimeoutMs: 2_000 });
    const deps: ActivityDeps = { ...testDeps(config, ops, opts.databases ?? {}), env, platforms: createPlatformClients(config, env) };
    const activities = () => {
      const real = createActivities(deps);
      return { ...real, ...opts.activities?.(real) };
    };
    let worker: TestWorker | undefined;
    if (opts.timeSkipping) worker = await timeSkippingWorker(activities());
    else if (!opts.noWorker)
      worker = await startTestWorker({ activities: activities(), shared: { nativeConnection: native, client: client.client } });
    if (worker && opts.withAlerts) deps.temporal = { client: worker.client, taskQueue: worker.taskQueue };
    const stage: Stage = {
      sandbox,
      ops,
      config,
      deps,
      worker: worker!,
      async start(input) {
        const o = deployStartOptions(input);
        // A suffix keeps runs of different tests (and files) on the one Temporal server apart.
        return worker!.client.workflow.start(deploy, {
          taskQueue: worker!.taskQueue,
          ...o,
          workflowId: `${o.workflowId}-${uniqueName('t')}`,
          args: [input],
        });
      },
      async startRollback(input) {
        const o = rollbackStartOptions(input, new Date());
        return worker!.client.workflow.start(rollback, { taskQueue: worker!.taskQueue, ...o, args: [input] });
      },
      calls: (vendor = 'vercel') => sandbox.calls({ vendor }),
      sideEffects(vendor = 'vercel') {
        return sandbox
          .calls({ vendor })
          .filter((c) => c.method !== 'GET')
          .map((c) => `${c.method} ${c.path}`);
      },
      async close() {
        if (open === stage) open = undefined;
        await worker?.close();
      },
    };
    open = stage;
    return stage;
  }

  return {
    sandbox,
    ops,
    forTest,
    async close() {
      await open?.close();
      await client.connection.close();
      await native.close();
      await sandbox.stop();
      await ops.drop();
    },
  };
}

/**
 * openStages() for the whole file (opened before its tests, closed after them); the stage a test gets from
 * `forTest` is closed after that test.
 */
export function useStages(): Pick<Stages, 'sandbox' | 'ops' | 'forTest'> {
  let stages: Stages | undefined;
  let current: Stage | undefined;
  beforeAll(async () => {
    stages = await openStages();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  afterAll(async () => {
    await stages?.close();
  });
  return {
    get sandbox() {
      return stages!.sandbox;
    },
    get ops() {
      return stages!.ops;
    },
    async forTest(opts) {
      current = await stages!.forTest(opts);
      return current;
    },
  };
}

/** A stage of its own (sandbox, database, worker): for files with one test or a special setup. */
export async function openStage(opts: StageOptions = {}): Promise<Stage> {
  const stages = await openStages();
  const stage = await stages.forTest(opts);
  return { ...stage, close: () => stages.close() };
}

async function timeSkippingWorker(activities: object): Promise<TestWorker> {
  const env = await timeSkippingEnv();
  // The test server starts without this service's custom search attributes.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.keys(CUSTOM_SEARCH_ATTRIBUTES).map((k) => [k, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
  const taskQueue = uniqueName('ts');
  const w = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: testEnv.workflowBundle },
    activities,
  });
  return {
    taskQueue,
    client: env.client,
    run: (fn) => w.runUntil(fn),
    close: async () => {
      if (w.getState() === 'RUNNING') w.shutdown();
      await env.teardown();
    },
  };
}

/** Polls the progress query until `pred` holds (the workflow keeps running meanwhile). */
export async function waitForProgress(
  handle: WorkflowHandle<typeof deploy>,
  pred: (p: DeployProgress) => boolean,
  timeoutMs = 30_000,
): Promise<DeployProgress> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const p = await handle.query<DeployProgress>('progress');
    if (pred(p)) return p;
    if (Date.now() > until) throw new Error(`progress never matched; last stage ${p.stage}, samples ${p.samplesTaken}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * What several suites set up the same way: the platform sandbox with ops and app databases, a worker per
 * file or per test, a Temporal client per file, a worker on the time-skipping server. The `use…` and
 * `file…` fixtures register jest hooks, so call them in a describe block (or at the top of a file); what
 * their holder gives is set once their beforeAll has run: read it in tests and later hooks.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../src/activities';
import type { RunbookConfig } from '../../src/config/schema';
import { seedFromConfig, startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox';
import { dataConverterFromEnv } from '../../src/temporal/codec';
import {
  scratchDatabase,
  startTestWorker,
  testDeps,
  testEnv,
  uniqueName,
  withSandboxPlatforms,
  type ScratchDatabase,
  type TestWorker,
} from './index';

/** A client of the run's Temporal server for the whole file: it connects on first use and closes after the file's tests. */
export function fileTemporalClient(): Client {
  const connection = Connection.lazy({ address: testEnv.temporalAddress });
  afterAll(() => connection.close());
  const dataConverter = dataConverterFromEnv(process.env);
  return new Client({ connection, ...(dataConverter ? { dataConverter } : {}) });
}

/** An object that reads through to what `fill` is given, once it has been; before, any read fails saying so. */
function readThrough<T extends object>(what: string): { value: T; fill(v: T): void; opened(): T | undefined } {
  let opened: T | undefined;
  const value = new Proxy({} as T, {
    get(_target, key) {
      if (!opened) throw new Error(`${what} is opened in beforeAll: read it inside a test or a later hook`);
      const found: unknown = Reflect.get(opened, key);
      // Methods run on the object itself (private state, `this`), not on this stand-in.
      return typeof found === 'function' ? (found as (...args: unknown[]) => unknown).bind(opened) : found;
    },
  });
  return { value, fill: (v) => void (opened = v), opened: () => opened };
}

/**
 * What `open` gives, opened once for the file (beforeAll) and closed by `close` after its tests (afterAll);
 * the returned object reads through to it.
 */
export function oncePerFile<T extends object>(open: () => Promise<T>, close: (opened: T) => Promise<unknown>): T {
  const held = readThrough<T>('a file fixture');
  beforeAll(async () => held.fill(await open()));
  afterAll(async () => {
    const opened = held.opened();
    if (opened) await close(opened);
  });
  return held.value;
}

/** Scratch databases for the whole file, opened together before its tests and dropped after them. */
export function databasesForFile<K extends string>(open: Record<K, () => Promise<ScratchDatabase>>): Record<K, ScratchDatabase> {
  const names = Object.keys(open) as K[];
  const held = names.map((name) => readThrough<ScratchDatabase>(`database ${name}`));
  beforeAll(async () => {
    const dbs = await Promise.all(names.map((name) => open[name]()));
    dbs.forEach((db, i) => held[i].fill(db));
  });
  afterAll(async () => {
    await Promise.all(held.map((h) => h.opened()?.drop()));
  });
  return Object.fromEntries(names.map((name, i) => [name, held[i].value])) as Record<K, ScratchDatabase>;
}

export interface SandboxStack {
  ops: ScratchDatabase;
  /** The config's `app` database. */
  app: ScratchDatabase;
  sandbox: Sandbox;
  /** Activity deps whose platform calls all go to the sandbox. */
  deps: ActivityDeps;
  close(): Promise<void>;
}

/**
 * Ops and app databases, a sandbox seeded from `config` (20 ms steps unless `timing` says otherwise), and activity
 * deps whose platform calls all go to it (within `requestTimeoutMs`, else the config's platform timeout).
 */
export async function openSandboxStack(
  config: RunbookConfig,
  opts: { prefix: string; timing?: SandboxOptions['timing']; requestTimeoutMs?: number; env?: Record<string, string | undefined> },
): Promise<SandboxStack> {
  const [ops, app, sandbox] = await Promise.all([
    scratchDatabase(`${opts.prefix}_ops`, { ops: true }),
    scratchDatabase(`${opts.prefix}_app`),
    startSandbox({ timing: opts.timing ?? 20 }),
  ]);
  // An idle pooled connection ended by the server is discarded by the pool; without a listener it would crash the test.
  for (const db of [ops, app]) db.pool.on('error', () => undefined);
  seedFromConfig(sandbox, config);
  const deps = withSandboxPlatforms(testDeps(config, ops, { app: app.url }), sandbox, {
    requestTimeoutMs: opts.requestTimeoutMs,
    env: opts.env,
  });
  return {
    ops,
    app,
    sandbox,
    deps,
    async close() {
      await sandbox.stop();
      await Promise.all([ops.drop(), app.drop()]);
    },
  };
}

/**
 * The stack `open` gives, opened once for the file, and a worker running its activities on a task queue of its
 * own: one for the file, or a fresh one for each test (`workerPer: 'test'`, so no test sees another's tasks).
 */
export function useStackWithWorker<S extends { deps: ActivityDeps; close(): Promise<void> }>(
  open: () => Promise<S>,
  opts: { workerPer: 'file' | 'test' },
): { readonly stack: S; readonly worker: TestWorker } {
  const held: { stack?: S; worker?: TestWorker } = {};
  const startWorker = async () => void (held.worker = await startTestWorker({ deps: held.stack!.deps }));
  const closeWorker = async () => void (await held.worker?.close());
  beforeAll(async () => {
    held.stack = await open();
  });
  if (opts.workerPer === 'file') {
    beforeAll(startWorker);
    afterAll(closeWorker);
  } else {
    beforeEach(startWorker);
    afterEach(closeWorker);
  }
  afterAll(async () => {
    await held.stack?.close();
  });
  return {
    get stack() {
      return held.stack!;
    },
    get worker() {
      return held.worker!;
    },
  };
}

/**
 * Runs `fn` with a worker on a queue of its own on the time-skipping server, then terminates every workflow
 * `fn` put in `started`: the server stops skipping time while a workflow task waits for a worker, so nothing
 * may outlive its test.
 */
export async function withTimeSkippingWorker(
  env: TestWorkflowEnvironment,
  deps: ActivityDeps,
  fn: (taskQueue: string, started: WorkflowHandle[]) => Promise<void>,
): Promise<void> {
  const taskQueue = uniqueName('ts');
  const started: WorkflowHandle[] = [];
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: testEnv.workflowBundle },
    activities: createActivities(deps),
  });
  try {
    await worker.runUntil(fn(taskQueue, started));
  } finally {
    for (const h of started) await h.terminate('test over').catch(() => undefined);
  }
}

/** Wall-clock parts of an instant in `timeZone`: weekday as the config writes it (`mon`), `HH:MM`, the date and the day of the month. */
export function wallClock(ms: number, timeZone: string): { weekday: string; time: string; date: string; day: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
  }).formatToParts(new Date(ms));
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return {
    weekday: get('weekday').toLowerCase(),
    time: `${get('hour')}:${get('minute')}`,
    date: `${get('year')}-${get('month')}-${get('day')}`,
    day: Number(get('day')),
  };
}

/**
 * Turns on rolling releases (manual approval at 10, 50 and 100 %) for a sandbox Vercel project, as after any
 * deploy of a service configured with them: production builds then serve only once released. Returns the
 * answer's HTTP status.
 */
export async function enableRollingReleases(sandbox: Sandbox, project: string): Promise<number> {
  const res = await fetch(`${sandbox.url}/vercel/v1/projects/${project}/rolling-release/config`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox' },
    body: JSON.stringify({
      enabled: true,
      advancementType: 'manual-approval',
      stages: [{ targetPercentage: 10 }, { targetPercentage: 50 }, { targetPercentage: 100 }],
    }),
  });
  return res.status;
}

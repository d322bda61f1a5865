/**
 * What several suites set up the same way: a stack with a worker per file or per test, databases and a Temporal
 * client per file, a worker on the time-skipping server (the sandbox stack is in sandbox-stack.ts, so that suites
 * without a sandbox do not load it). The `use…`, `…ForFile` and `file…` fixtures register jest hooks, so call them
 * in a describe block (or at the top of a file); what they give is set once their beforeAll has run: read it in
 * tests and later hooks.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../src/activities';
import { dataConverterFromEnv } from '../../src/temporal/codec';
import { startTestWorker, testEnv, uniqueName, type ScratchDatabase, type TestWorker } from './index';

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

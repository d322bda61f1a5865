/**
 * A drill world as `npm start` builds it, in-process: the run's real Temporal and PostgreSQL (scratch ops
 * and app databases), a platform sandbox, the worker with the real activities, and the webhook receiver.
 */
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import type { ActivityDeps } from '../../src/activities';
import type { RunbookConfig } from '../../src/config/schema';
import { createPlatformClients } from '../../src/platforms';
import { startReceiver, type StartedReceiver } from '../../src/receiver/server';
import { sandboxConfigOverrides, startSandbox, type Sandbox } from '../../src/sandbox';
import { sandboxControl } from '../../src/drill/sandbox-client';
import { prepareAppDatabase } from '../../src/stack/app-databases';
import { startLocalTemporal } from '../../src/stack/temporal';
import { DEFAULT_OPTIONS, type DrillOptions, type DrillWorld } from '../../src/drill/types';
import {
  scratchDatabase,
  startTestWorker,
  testConfig,
  testDeps,
  testEnv,
  uniqueName,
  type ScratchDatabase,
  type TestWorker,
} from '../harness';

export const TOKEN = 'drill-test-webhook-token';

export interface TestDrillWorld {
  world: DrillWorld;
  /** The world's own Temporal server: incident ids are fixed by their dedup keys (health:provider:openai…), and
   * other suites open incidents with the same keys on the run's shared server. */
  temporalAddress: string;
  sandbox: Sandbox;
  ops: ScratchDatabase;
  app: ScratchDatabase;
  config: RunbookConfig;
  options: DrillOptions;
  close(): Promise<void>;
}

/** A worker polling in the background until `close`. */
async function background(worker: TestWorker): Promise<() => Promise<void>> {
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stop = r));
  const running = worker.run(() => stopped);
  return async () => {
    stop();
    await running.catch(() => undefined);
    await worker.close();
  };
}

export async function openDrillWorld(): Promise<TestDrillWorld> {
  const [ops, app, sandbox, temporal] = await Promise.all([
    scratchDatabase('drill_ops', { ops: true }),
    scratchDatabase('drill_app'),
    startSandbox({ timing: 10 }),
    startLocalTemporal({ headless: true }),
  ]);
  const address = temporal.address;
  for (const db of [ops, app]) db.pool.on('error', () => undefined);
  const base = testConfig();
  const raw = testConfig({
    temporal: { ...base.temporal, taskQueue: uniqueName('drill') },
    backup: { ...base.backup, store: { type: 'directory', path: mkdtempSync(path.join(testEnv.dir, 'drill-backups-')) } },
    // No certificate checks against the internet from a test.
    maintenance: { ...base.maintenance, tlsHosts: [] },
  });
  const { config, env } = sandboxConfigOverrides(sandbox, raw, { requestTimeoutMs: 3_000 });
  // The sample app's schema, as npm start gives its embedded app database (a deploy then finds nothing pending).
  if (config.deploy.migrationsDir) await prepareAppDatabase(app.url, config.deploy.migrationsDir, { historyDays: 0 });
  const receiverEnv = { ...env, RUNBOOK_WEBHOOK_TOKEN: TOKEN };
  const makeDeps = (c: RunbookConfig): ActivityDeps => ({
    ...testDeps(c, ops, { app: app.url }),
    env,
    platforms: createPlatformClients(c, env),
  });

  const deps = makeDeps(config);
  const worker = await startTestWorker({ deps, taskQueue: config.temporal.taskQueue, address });
  deps.temporal = { client: worker.client, taskQueue: worker.taskQueue };
  const stopWorker = await background(worker);
  const receiver: StartedReceiver = await startReceiver({
    config,
    client: worker.client,
    env: receiverEnv,
    port: 0,
    host: '127.0.0.1',
    deliveryJournal: null,
  });

  const scaled: (() => Promise<void>)[] = [];
  const world: DrillWorld = {
    client: worker.client,
    taskQueue: worker.taskQueue,
    config,
    sandbox: sandboxControl(sandbox.url),
    receiver: { url: receiver.url, token: TOKEN },
    appDatabaseUrl: app.url,
    opsDatabaseUrl: ops.url,
    async scaledWorker(patch) {
      const c = patch({ ...config, temporal: { ...config.temporal, taskQueue: uniqueName('drill_scaled') } });
      const d = makeDeps(c);
      const w = await startTestWorker({ deps: d, taskQueue: c.temporal.taskQueue, address });
      d.temporal = { client: w.client, taskQueue: w.taskQueue };
      const stop = await background(w);
      let closed = false;
      const close = async () => {
        if (closed) return;
        closed = true;
        await stop();
      };
      scaled.push(close);
      return { taskQueue: w.taskQueue, close };
    },
  };
  const options: DrillOptions = { ...DEFAULT_OPTIONS, scenarioTimeoutMs: 150_000, log: () => undefined };
  return {
    world,
    temporalAddress: address,
    sandbox,
    ops,
    app,
    config,
    options,
    async close() {
      for (const s of scaled) await s();
      await receiver.stop();
      await stopWorker();
      await sandbox.stop();
      await Promise.all([ops.drop(), app.drop(), temporal.stop()]);
    },
  };
}

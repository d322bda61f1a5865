import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { secretFromEnv } from '../config/load';
import type { RunbookConfig } from '../config/schema';
import { pointAtSandbox, sandboxBaseUrls, sandboxSecrets, type SandboxTarget } from '../platforms/sandbox-target';
import type { TemporalTarget } from '../temporal/connection';
import { createDeps, createWorker } from '../worker';
import { sandboxControl } from './sandbox-client';
import type { DrillTargets } from './stack-info';
import type { DrillWorld } from './types';

/** The sandbox's base URLs, as startSandbox lays them out on its one port. */
export function sandboxTarget(url: string): SandboxTarget {
  return {
    baseUrls: sandboxBaseUrls(url),
    apps: { productionUrl: (project) => `${url}/_apps/production/${project}` },
  };
}

let runtimeInstalled = false;

/** The world of a running `npm start`, for `runbook drill`. */
export function cliWorld(opts: {
  client: Client;
  target: TemporalTarget;
  config: RunbookConfig;
  taskQueue: string;
  env: NodeJS.ProcessEnv;
  targets: DrillTargets;
}): DrillWorld {
  const { client, target, env, targets } = opts;
  const sb = sandboxTarget(targets.sandboxUrl);
  const config = pointAtSandbox(opts.config, sb);
  const dbKey = config.services[0]?.database ?? 'app';
  const token = secretFromEnv(config.webhooks.bearerTokenEnv, env) ?? targets.webhookToken;
  return {
    client,
    taskQueue: opts.taskQueue,
    config,
    sandbox: sandboxControl(targets.sandboxUrl),
    receiver: { url: targets.receiverUrl, ...(token ? { token } : {}) },
    appDatabaseUrl: targets.appDatabaseUrl,
    opsDatabaseUrl: targets.opsDatabaseUrl,
    async scaledWorker(patch) {
      if (!runtimeInstalled) {
        runtimeInstalled = true;
        try {
          Runtime.install({ logger: new DefaultLogger('WARN') });
        } catch {
          // installed already
        }
      }
      const scaled = patch({
        ...config,
        temporal: { ...config.temporal, taskQueue: `${opts.taskQueue}-drill-${randomBytes(3).toString('hex')}` },
      });
      const workerEnv: NodeJS.ProcessEnv = {
        ...env,
        ...sandboxSecrets(scaled, sb),
        [config.databases[dbKey]?.urlEnv ?? 'DATABASE_URL']: targets.appDatabaseUrl,
      };
      const deps = await createDeps(scaled, target, workerEnv, targets.opsDatabaseUrl);
      let worker: Awaited<ReturnType<typeof createWorker>>;
      try {
        worker = await createWorker({ config: scaled, target, deps: deps.deps, production: env.NODE_ENV === 'production' });
      } catch (err) {
        await deps.close();
        throw err;
      }
      const running = worker.worker.run();
      let closed = false;
      return {
        taskQueue: scaled.temporal.taskQueue,
        async close() {
          if (closed) return;
          closed = true;
          if (worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
          await running.catch(() => undefined);
          await worker.connection.close();
          await deps.close();
        },
      };
    },
  };
}

import path from 'node:path';
import { existsSync } from 'node:fs';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { Pool } from 'pg';
import { createActivities, type ActivityDeps } from './activities';
import { loadConfig, ConfigError, secretFromEnv } from './config';
import type { RunbookConfig } from './config/schema';
import { connectionOptions, temporalTargetFromEnv, type TemporalTarget } from './temporal/connection';

export const WORKFLOWS_PATH = require.resolve('./workflows');
export const PREBUILT_BUNDLE = path.join(__dirname, '..', 'dist', 'workflow-bundle.js');

let runtimeInstalled = false;

/**
 * Installs the Temporal runtime once per process, with Prometheus metrics on a loopback port.
 * Later calls are no-ops: the runtime can only be installed before the first connection.
 */
export function installRuntime(metricsPort?: number): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  if (metricsPort === undefined) return;
  Runtime.install({
    telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } },
  });
}

/** Connection strings of configured databases: the env var the config names, else the embedded cluster. */
export function databaseResolver(config: RunbookConfig, env: NodeJS.ProcessEnv, fallback?: (name: string) => string) {
  return (name: string): string => {
    const db = config.databases[name];
    if (!db) throw new Error(`no database "${name}" in the configuration (databases.${name})`);
    const url = secretFromEnv(db.urlEnv, env);
    if (url) return url;
    if (fallback) return fallback(name);
    throw new Error(`database "${name}": environment variable ${db.urlEnv} is not set`);
  };
}

export interface RunWorkerOptions {
  config: RunbookConfig;
  target: TemporalTarget;
  deps: ActivityDeps;
  /** Use the prebuilt bundle (npm run build) instead of bundling at start. */
  production?: boolean;
  shutdownSignals?: NodeJS.Signals[];
  extra?: Partial<WorkerOptions>;
}

export async function createWorker(opts: RunWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect(connectionOptions(opts.target));
  const workflowSource: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> =
    opts.production && existsSync(PREBUILT_BUNDLE) ? { workflowBundle: { codePath: PREBUILT_BUNDLE } } : { workflowsPath: WORKFLOWS_PATH };
  if (opts.production && !existsSync(PREBUILT_BUNDLE)) {
    throw new Error(`production mode needs the prebuilt workflow bundle at ${PREBUILT_BUNDLE}; run \`npm run build\``);
  }
  const worker = await Worker.create({
    connection,
    namespace: opts.target.namespace,
    taskQueue: opts.config.temporal.taskQueue,
    activities: createActivities(opts.deps),
    shutdownGraceTime: '10s',
    ...(opts.shutdownSignals ? { shutdownSignals: opts.shutdownSignals } : {}),
    ...workflowSource,
    ...opts.extra,
  });
  return { worker, connection };
}

async function main(): Promise<void> {
  let config: RunbookConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const metricsPort = Number(process.env.RUNBOOK_WORKER_METRICS_PORT ?? 9464);
  installRuntime(metricsPort);
  const target = temporalTargetFromEnv(process.env, config.temporal.namespace);
  const opsUrl = process.env.OPS_DATABASE_URL;
  if (!opsUrl) {
    console.error('OPS_DATABASE_URL is not set: the worker needs the ops database (npm start sets it for the embedded stack)');
    process.exit(2);
  }
  const ops = new Pool({ connectionString: opsUrl, max: 10 });
  const deps: ActivityDeps = { config, ops, env: process.env, databaseUrl: databaseResolver(config, process.env) };
  const { worker, connection } = await createWorker({ config, target, deps, production: process.env.NODE_ENV === 'production' });
  console.log(`worker polling task queue "${config.temporal.taskQueue}" on ${target.address} (namespace ${target.namespace}); metrics on 127.0.0.1:${metricsPort}/metrics`);
  try {
    await worker.run();
  } finally {
    await connection.close();
    await ops.end();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

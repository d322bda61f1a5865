import path from 'node:path';
import { existsSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type Logger, type WorkerOptions } from '@temporalio/worker';
import { createPool } from './db/connect';
import type { Logger as Pino } from 'pino';
import { createActivities, type ActivityDeps } from './activities';
import { loadConfig, ConfigError, secretFromEnv } from './config';
import type { RunbookConfig } from './config/schema';
import { createLogger, temporalLogger } from './logging';
import { createPlatformClients } from './platforms';
import { freePort } from './stack/ports';
import { clientOptions, connectionOptions, temporalTargetFromEnv, type TemporalTarget } from './temporal/connection';

export const WORKFLOWS_PATH = require.resolve('./workflows');
export const PREBUILT_BUNDLE = path.join(__dirname, '..', 'dist', 'workflow-bundle.js');
/** Prometheus metrics of the worker (Temporal SDK runtime), on loopback. */
export const DEFAULT_METRICS_PORT = 9464;

export interface RuntimeSetup {
  /** Serve Prometheus metrics on 127.0.0.1:<port>. */
  metricsPort?: number;
  logger?: Logger;
  /** Signals on which the SDK itself shuts workers down; [] when the caller handles signals. */
  shutdownSignals?: NodeJS.Signals[];
}

let runtimeInstalled = false;

/**
 * Installs the Temporal runtime once per process. Later calls are no-ops: the runtime can only be
 * installed before the first native connection.
 */
export function installRuntime(setup: RuntimeSetup = {}): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    ...(setup.logger ? { logger: setup.logger } : {}),
    ...(setup.shutdownSignals ? { shutdownSignals: setup.shutdownSignals } : {}),
    telemetryOptions: {
      // Core (Rust) logs go through the same logger as ours, warnings and up.
      ...(setup.logger ? { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } } : {}),
      ...(setup.metricsPort !== undefined ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${setup.metricsPort}` } } } : {}),
    },
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
  extra?: Partial<WorkerOptions>;
}

/** The workflow code to load: the prebuilt bundle in production, else bundled from source at start. */
export function workflowSource(production: boolean | undefined): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (!production) return { workflowsPath: WORKFLOWS_PATH };
  if (!existsSync(PREBUILT_BUNDLE)) {
    throw new Error(`production mode needs the prebuilt workflow bundle at ${PREBUILT_BUNDLE}; run \`npm run build\``);
  }
  return { workflowBundle: { codePath: PREBUILT_BUNDLE } };
}

export async function createWorker(opts: RunWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const source = workflowSource(opts.production);
  const connection = await NativeConnection.connect(connectionOptions(opts.target));
  try {
    const worker = await Worker.create({
      connection,
      namespace: opts.target.namespace,
      taskQueue: opts.config.temporal.taskQueue,
      ...(opts.target.dataConverter ? { dataConverter: opts.target.dataConverter } : {}),
      activities: createActivities(opts.deps),
      // In-flight activities get this long to finish (or notice cancellation) on shutdown.
      shutdownGraceTime: '10s',
      ...source,
      ...opts.extra,
    });
    return { worker, connection };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

/** Real activity dependencies: the ops pool, configured databases, platform clients, and a client for activities that start workflows. */
export async function createDeps(
  config: RunbookConfig,
  target: TemporalTarget,
  env: NodeJS.ProcessEnv,
  opsUrl: string,
  fallbackDb?: (name: string) => string,
) {
  const ops = createPool(opsUrl, { max: 10 });
  const connection = await Connection.connect(connectionOptions(target));
  const deps: ActivityDeps = {
    config,
    ops,
    env,
    databaseUrl: databaseResolver(config, env, fallbackDb),
    temporal: { client: new Client(clientOptions(connection, target)), taskQueue: config.temporal.taskQueue },
    platforms: createPlatformClients(config, env),
  };
  return {
    deps,
    async close() {
      await connection.close();
      await ops.end();
    },
  };
}

/** The preferred metrics port: RUNBOOK_METRICS_PORT, default 9464; 0 means any free port. */
export function metricsPortFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.RUNBOOK_METRICS_PORT;
  if (raw === undefined || raw === '') return DEFAULT_METRICS_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('environment', [`RUNBOOK_METRICS_PORT: must be a port number, got "${raw}"`]);
  return port;
}

/** `npm run worker`: the worker alone, against TEMPORAL_ADDRESS and OPS_DATABASE_URL (npm start sets both up itself). */
async function main(): Promise<void> {
  const log: Pino = createLogger();
  let config: RunbookConfig & { source: string };
  let metricsPort: number;
  try {
    config = loadConfig();
    metricsPort = metricsPortFromEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.lines()) console.error(line);
      process.exit(2);
    }
    throw err;
  }
  const opsUrl = process.env.OPS_DATABASE_URL;
  if (!opsUrl) {
    console.error('OPS_DATABASE_URL is not set: the worker needs the ops database (`npm start` runs a local one)');
    process.exit(2);
  }
  // A busy preferred port falls back to a free one rather than failing the start.
  metricsPort = await freePort(metricsPort || undefined);
  installRuntime({ metricsPort, logger: temporalLogger(log) });
  const target = temporalTargetFromEnv(process.env, config.temporal.namespace);
  const { deps, close } = await createDeps(config, target, process.env, opsUrl);
  const production = process.env.NODE_ENV === 'production';
  const { worker, connection } = await createWorker({ config, target, deps, production });
  log.info(
    { component: 'worker' },
    `polling task queue "${config.temporal.taskQueue}" on ${target.address} (namespace ${target.namespace}); ` +
      `${production ? 'prebuilt bundle' : 'workflows bundled from source'}; config ${config.source}; metrics http://127.0.0.1:${metricsPort}/metrics`,
  );
  try {
    // Returns after SIGINT/SIGTERM: polling stops, in-flight tasks finish (shutdownGraceTime).
    await worker.run();
    log.info({ component: 'worker' }, 'stopped');
  } finally {
    await connection.close();
    await close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

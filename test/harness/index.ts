/**
 * What every suite uses: the run's real Temporal server and PostgreSQL cluster (see global-setup.ts),
 * a scratch database per test file, a worker on a task queue of its own, and the time-skipping server.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker, Runtime, DefaultLogger, type WorkerOptions } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createPool } from '../../src/db/connect';
import { parse as parseYaml } from 'yaml';
import { createActivities, type ActivityDeps } from '../../src/activities';
import { parseConfig } from '../../src/config/load';
import type { RunbookConfig } from '../../src/config/schema';
import { dropDatabase, ensureDatabase, startLocalPostgres } from '../../src/stack/postgres';
import { urlForDatabase } from '../../src/db/sql';
import { migrateOpsDatabase } from '../../src/stack/migrate';
import { temporalTestServer } from '../../src/stack/binaries';
import { dataConverterFromEnv } from '../../src/temporal/codec';
import { createPlatformClients } from '../../src/platforms';
import { pointAtSandbox, sandboxSecrets, type SandboxTarget } from '../../src/platforms/sandbox-target';

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run tests through jest so test/harness/global-setup.ts starts the stack`);
  return v;
}

let runtimeQuieted = false;
/** Keep Rust-core warnings (e.g. about task queues being shut down) out of test output; call before the first connection. */
export function quietRuntime(): void {
  if (runtimeQuieted) return;
  runtimeQuieted = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed by another module in this test file
  }
}

export const testEnv = {
  get temporalAddress() {
    return required('RUNBOOK_TEST_TEMPORAL_ADDRESS');
  },
  get pgAdminUrl() {
    return required('RUNBOOK_TEST_PG_URL');
  },
  get workflowBundle() {
    return required('RUNBOOK_TEST_WORKFLOW_BUNDLE');
  },
  get dir() {
    return required('RUNBOOK_TEST_DIR');
  },
};

/** A unique, valid identifier for databases, task queues and workflow ids. */
export function uniqueName(prefix: string): string {
  const base = (prefix.toLowerCase().replace(/[^a-z0-9]+/g, '_') || 't').slice(0, 30);
  return `${base}_${randomBytes(4).toString('hex')}`;
}

export interface ScratchDatabase {
  name: string;
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/**
 * A fresh database on the run's PostgreSQL cluster (or on `adminUrl`'s, see `privatePostgres`); `ops: true`
 * applies the ops schema migrations.
 */
export async function scratchDatabase(prefix: string, opts: { ops?: boolean; adminUrl?: string } = {}): Promise<ScratchDatabase> {
  const name = uniqueName(prefix);
  const adminUrl = opts.adminUrl ?? testEnv.pgAdminUrl;
  await ensureDatabase(adminUrl, name);
  const url = urlForDatabase(adminUrl, name);
  if (opts.ops) await migrateOpsDatabase(url);
  const pool = createPool(url, { max: 5 });
  return {
    name,
    url,
    pool,
    async drop() {
      await pool.end();
      await dropDatabase(adminUrl, name);
    },
  };
}

/**
 * A PostgreSQL cluster of the test file's own, for tests that count the server's connections (the connection
 * rule, the pool check): on the shared cluster, suites running beside them change the count, and see the
 * hundreds of connections such a test holds.
 */
export async function privatePostgres(prefix: string): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-pg-`));
  chmodSync(dir, 0o755); // PostgreSQL runs as the postgres account when we are root
  const pg = await startLocalPostgres({ dir, settings: { max_connections: '300', fsync: 'off' } });
  return {
    adminUrl: pg.url('postgres'),
    async stop() {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Example config (vercel-supabase by default) with top-level sections replaced by `overrides`. */
export function testConfig(
  overrides: Record<string, unknown> = {},
  example: 'vercel-supabase' | 'netlify-supabase' = 'vercel-supabase',
): RunbookConfig {
  const file = path.join(__dirname, '..', '..', 'config', 'examples', `${example}.yaml`);
  const raw = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  // The examples' metrics read the sample app's database; suites that test metric providers configure their own.
  const services = (raw.services as Record<string, unknown>[]).map((svc) => ({ ...svc, metrics: [] }));
  return parseConfig({ ...raw, services, metricProviders: {}, ...overrides }, file);
}

/** A client of the run's Temporal server, or of `address` (a test's own server). */
export async function testClient(
  address = testEnv.temporalAddress,
  dataConverter: DataConverter | undefined = dataConverterFromEnv(process.env),
): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, ...(dataConverter ? { dataConverter } : {}) }), connection };
}

export interface TestWorker {
  taskQueue: string;
  client: Client;
  /** Runs `fn` while the worker polls; the worker shuts down after. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A worker on its own task queue against the run's Temporal server, with the prebuilt bundle.
 * Pass `deps` for the real activities, or `activities` to replace some of them.
 */
export async function startTestWorker(opts: {
  deps?: ActivityDeps;
  activities?: Partial<ReturnType<typeof createActivities>> & Record<string, unknown>;
  taskQueue?: string;
  worker?: Partial<WorkerOptions>;
  /** A Temporal server of the test's own instead of the run's. */
  address?: string;
  /** Payload codecs for the worker and its client; by default the service's own from the environment (RUNBOOK_PAYLOAD_KEY). */
  dataConverter?: DataConverter;
  /** The activities raise alerts (deps.temporal): the incidents they open run on this worker, started by its client. */
  raisesAlerts?: boolean;
  /** Connections the file holds open for all its workers (close() leaves them open). */
  shared?: { nativeConnection: NativeConnection; client: Client };
}): Promise<TestWorker> {
  quietRuntime();
  const taskQueue = opts.taskQueue ?? uniqueName('tq');
  const address = opts.address ?? testEnv.temporalAddress;
  const dataConverter = opts.dataConverter ?? dataConverterFromEnv(process.env);
  const { client, connection } = opts.shared
    ? { client: opts.shared.client, connection: undefined }
    : await testClient(address, dataConverter);
  const nativeConnection = opts.shared?.nativeConnection ?? (await NativeConnection.connect({ address }));
  const deps = opts.deps && opts.raisesAlerts ? { ...opts.deps, temporal: { client, taskQueue } } : opts.deps;
  const activities = { ...(deps ? createActivities(deps) : {}), ...(opts.activities ?? {}) };
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle: { codePath: testEnv.workflowBundle },
    ...(dataConverter ? { dataConverter } : {}),
    activities,
    ...opts.worker,
  });
  return {
    taskQueue,
    client,
    run: (fn) => worker.runUntil(fn),
    async close() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      if (opts.shared) return;
      await connection?.close();
      await nativeConnection.close();
    },
  };
}

/** Runs `fn` while a worker started with `opts` polls (see startTestWorker); the worker is closed after, whatever happened. */
export async function withTestWorker<T>(opts: Parameters<typeof startTestWorker>[0], fn: (worker: TestWorker) => Promise<T>): Promise<T> {
  const worker = await startTestWorker(opts);
  try {
    return await worker.run(() => fn(worker));
  } finally {
    await worker.close();
  }
}

/** Expects `run` to fail as a workflow whose input was refused, the failure naming `field`. */
export async function expectRefusedInput(run: Promise<unknown>, field: string): Promise<void> {
  await expect(run).rejects.toThrow(WorkflowFailedError);
  await expect(run).rejects.toMatchObject({ cause: { message: expect.stringContaining(field) } });
}

/** The time-skipping test server from the installed binary (never the SDK's download). */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: temporalTestServer() } },
  });
}

/** Activity deps over a scratch ops database; platform clients are added by their suites. */
export function testDeps(config: RunbookConfig, ops: ScratchDatabase, databases: Record<string, string> = {}): ActivityDeps {
  return {
    config,
    ops: ops.pool,
    env: {},
    databaseUrl: (name) => {
      const url = databases[name];
      if (!url) throw new Error(`test has no database "${name}"`);
      return url;
    },
  };
}

/**
 * `deps` with every platform call going to a running sandbox (startSandbox from src/sandbox): config
 * URLs and production URLs point at it, placeholder secrets fill the env, and `platforms` holds the clients.
 */
export function withSandboxPlatforms(
  deps: ActivityDeps,
  sandbox: SandboxTarget,
  opts: { requestTimeoutMs?: number; env?: Record<string, string | undefined> } = {},
): ActivityDeps {
  const config = pointAtSandbox(deps.config, sandbox, { requestTimeoutMs: opts.requestTimeoutMs });
  const env = { ...sandboxSecrets(config, sandbox), ...deps.env, ...opts.env };
  return { ...deps, config, env, platforms: createPlatformClients(config, env) };
}

/**
 * The production topology on one machine, without Docker: Temporal's server (built from its Go module) on
 * PostgreSQL with SQL visibility, the Temporal UI, N workers, M webhook receivers and the backup transfer
 * worker of this service, each a process of its own. The schema and namespace steps are the compose file's
 * scripts (docker/temporal), run here with host paths.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { Client as PgClient } from 'pg';
import { Connection } from '@temporalio/client';
import { loadConfig, secretFromEnv } from '../../src/config/load';
import type { RunbookConfig } from '../../src/config/schema';
import { quoteIdent } from '../../src/db/sql';
import { postgresBinDir, temporalCli } from '../../src/stack/binaries';
import { migrateOpsDatabase } from '../../src/stack/migrate';
import { freePort, isPortFree, waitForPort } from '../../src/stack/ports';
import { startLocalPostgres, type LocalPostgres } from '../../src/stack/postgres';
import { sandboxDecision } from '../../src/sandbox/component';
import { sandboxConfigOverrides, startSandbox, type Sandbox } from '../../src/sandbox';
import { runLogged, spawnLogged, untilReady, type ClusterProcess } from './processes';
import { describeExit, tail } from '../../src/stack/supervise';

export const ROOT = path.join(__dirname, '..', '..');
const DOCKER_TEMPORAL = path.join(ROOT, 'docker', 'temporal');
/** The backup transfer worker's queue when the configuration names none. */
export const DEFAULT_TRANSFER_QUEUE = 'runbook-backup-transfer';
/** Temporal's own role and databases, as in the compose file. */
const TEMPORAL_DB_USER = 'temporal';
const TEMPORAL_DB_PASSWORD = 'temporal';

export interface ClusterOptions {
  /** Everything the cluster keeps: PostgreSQL's data, configs, logs (default .data/cluster). */
  dataDir: string;
  workers: number;
  receivers: number;
  ui: boolean;
  /** Preferred ports; a busy one falls back to a free one. */
  temporalPort?: number;
  uiPort?: number;
  postgresPort?: number;
  /** The service's configuration file (default: RUNBOOK_CONFIG, else the embedded example). */
  configFile?: string;
  /** Changes the configuration before the cluster writes it for its processes (tests shorten waits). */
  adjustConfig?: (config: RunbookConfig) => RunbookConfig;
  /** Environment of the service's processes; platform tokens and secrets come from here. */
  env?: NodeJS.ProcessEnv;
  /** Sandbox time step in ms (SANDBOX_STEP_MS); tests use small ones. */
  sandboxStepMs?: number;
  log?: (line: string) => void;
}

export interface Receiver {
  process: ClusterProcess;
  url: string;
}

export interface Cluster {
  address: string;
  namespace: string;
  uiUrl?: string;
  toolsDir: string;
  postgres: LocalPostgres;
  opsUrl: string;
  /** Environment the service's processes run with (TEMPORAL_ADDRESS, database URLs, RUNBOOK_CONFIG…). */
  env: NodeJS.ProcessEnv;
  config: RunbookConfig;
  configFile: string;
  sandbox?: Sandbox;
  webhookToken: string;
  server: ClusterProcess;
  workers: ClusterProcess[];
  backupWorker: ClusterProcess;
  receivers: Receiver[];
  ui?: ClusterProcess;
  logDir: string;
  /** Starts one more worker. */
  addWorker(): Promise<ClusterProcess>;
  /** Starts another backup transfer worker on the transfer queue (it becomes `backupWorker`). */
  addBackupWorker(): Promise<ClusterProcess>;
  /** Stops the Temporal server (SIGTERM, or kill -9 with `hard`) and starts it again on the same ports. */
  restartServer(opts?: { hard?: boolean; downMs?: number }): Promise<void>;
  /** Stops Temporal's PostgreSQL (fast shutdown, or kill -9 with `hard`) and starts it again on its port. */
  restartPostgres(opts?: { hard?: boolean; downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

const run = promisify(execFile);

/** Builds (or finds) the pinned server, sql tool and UI server; returns their directory. */
export async function buildTools(log: (line: string) => void, ui: boolean): Promise<string> {
  const started = Date.now();
  const { stdout, stderr } = await run('bash', [path.join(__dirname, 'build-tools.sh')], {
    env: { ...process.env, ...(ui ? {} : { RUNBOOK_CLUSTER_NO_UI: '1' }) },
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const line of stderr.trim().split('\n').filter(Boolean)) if (!line.startsWith('go: downloading')) log(line);
  const dir = stdout.trim().split('\n').pop()!;
  log(`Temporal tools ready in ${dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return dir;
}

async function sql(url: string, statements: string[]): Promise<void> {
  const db = new PgClient({ connectionString: url });
  await db.connect();
  try {
    for (const s of statements) await db.query(s);
  } finally {
    await db.end();
  }
}

async function exists(url: string, query: string, params: unknown[]): Promise<boolean> {
  const db = new PgClient({ connectionString: url });
  await db.connect();
  try {
    return (await db.query(query, params)).rowCount! > 0;
  } finally {
    await db.end();
  }
}

/**
 * Temporal's role, then the compose file's init script (the service's role and its ops and app databases),
 * which PostgreSQL's image runs once on an empty volume; here: when the runbook role is missing.
 */
async function prepareDatabases(pg: LocalPostgres, config: RunbookConfig): Promise<void> {
  const admin = pg.url('postgres');
  if (!(await exists(admin, 'SELECT 1 FROM pg_roles WHERE rolname = $1', [TEMPORAL_DB_USER])))
    await sql(admin, [`CREATE ROLE ${TEMPORAL_DB_USER} LOGIN SUPERUSER PASSWORD '${TEMPORAL_DB_PASSWORD}'`]);
  if (!(await exists(admin, 'SELECT 1 FROM pg_roles WHERE rolname = $1', ['runbook']))) {
    // With psql, as the postgres image runs it: the script switches databases with \connect.
    await run(path.join(postgresBinDir(), 'psql'), [
      '--no-psqlrc',
      '--quiet',
      '--set=ON_ERROR_STOP=1',
      `--dbname=${admin}`,
      `--file=${path.join(ROOT, 'docker', 'postgres', 'init-databases.sql')}`,
    ]);
  }
  // Databases the configuration names beyond the compose file's `app`, owned by the service's role.
  for (const name of Object.keys(config.databases)) {
    if (!(await exists(admin, 'SELECT 1 FROM pg_database WHERE datname = $1', [name])))
      await sql(admin, [`CREATE DATABASE ${quoteIdent(name)} OWNER runbook`]);
  }
}

/** The server's config: the module's PostgreSQL template with this cluster's ports, database and dynamic config. */
async function serverConfig(toolsDir: string, pgPort: number, frontendPort: number): Promise<Record<string, unknown>> {
  const cfg = parseYaml(readFileSync(path.join(toolsDir, 'config', 'development-postgres12.yaml'), 'utf8')) as {
    log: Record<string, unknown>;
    persistence: { datastores: Record<string, { sql: Record<string, unknown> }> };
    global: Record<string, unknown> & { metrics: { prometheus: Record<string, unknown> } };
    services: Record<string, { rpc: Record<string, unknown> }>;
    clusterMetadata: { clusterInformation: Record<string, Record<string, unknown>> };
    dynamicConfigClient: Record<string, unknown>;
  };
  cfg.log = { stdout: true, level: 'warn' };
  for (const store of Object.values(cfg.persistence.datastores)) {
    store.sql.connectAddr = `127.0.0.1:${pgPort}`;
    store.sql.user = TEMPORAL_DB_USER;
    store.sql.password = TEMPORAL_DB_PASSWORD;
  }
  delete cfg.global.pprof;
  cfg.global.metrics.prometheus.listenAddress = `127.0.0.1:${await freePort()}`;
  // Membership ports are stored as smallint: below 32768, so not from the ephemeral range; the template's
  // (6933…) when free.
  const taken = new Set<number>();
  const lowPort = async (preferred: number) => {
    for (let p = preferred; p < 32768; p++) if (!taken.has(p) && (await isPortFree(p))) return taken.add(p) && p;
    throw new Error(`no free port between ${preferred} and 32767 for Temporal's membership ring`);
  };
  for (const [name, svc] of Object.entries(cfg.services)) {
    svc.rpc.grpcPort = name === 'frontend' ? frontendPort : await freePort();
    svc.rpc.membershipPort = await lowPort(Number(svc.rpc.membershipPort) || 6933);
    if (name === 'frontend') svc.rpc.httpPort = await freePort();
  }
  cfg.clusterMetadata.clusterInformation.active.rpcAddress = `127.0.0.1:${frontendPort}`;
  // The compose file's dynamic config (DYNAMIC_CONFIG_FILE_PATH there).
  cfg.dynamicConfigClient = { filepath: path.join(DOCKER_TEMPORAL, 'dynamicconfig', 'development-sql.yaml'), pollInterval: '10s' };
  return cfg;
}

/** The first match of `pattern`'s group in a log, once it appears (given up after 180 s, as untilReady does). */
async function logMatch(file: string, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const m = existsSync(file) ? pattern.exec(readFileSync(file, 'utf8')) : null;
    if (m) return m[1];
    await new Promise((r) => setTimeout(r, 200));
  }
  return '';
}

/** Resolves once a process of ours (identity `<pid>@host`) polls the task queue (for workflow tasks, or activity tasks). */
async function polling(
  connection: Connection,
  namespace: string,
  taskQueue: string,
  pid: number,
  type: 'workflow' | 'activity' = 'workflow',
): Promise<void> {
  const deadline = Date.now() + 180_000; // untilReady gives up by then
  while (Date.now() < deadline) {
    const res = await connection.workflowService
      .describeTaskQueue({ namespace, taskQueue: { name: taskQueue, kind: 1 }, taskQueueType: type === 'workflow' ? 1 : 2 })
      .catch(() => undefined);
    if (res?.pollers?.some((p) => p.identity?.startsWith(`${pid}@`))) return;
    await new Promise((r) => setTimeout(r, 300));
  }
}

const tsxArgs = (file: string) => ['--import', 'tsx', path.join(ROOT, file)];

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  const logDir = path.join(dataDir, 'logs');
  rmSync(logDir, { recursive: true, force: true }); // this run's logs only; restarts append
  mkdirSync(logDir, { recursive: true });
  // PostgreSQL runs as the postgres account when we are root, and must reach its directory.
  if (process.getuid?.() === 0) chmodSync(dataDir, 0o755);
  const baseEnv = opts.env ?? process.env;
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch((err: unknown) => log(`stopping: ${(err as Error).message}`));
  };

  try {
    let config: RunbookConfig = loadConfig(opts.configFile ?? baseEnv.RUNBOOK_CONFIG);
    if (opts.adjustConfig) config = opts.adjustConfig(config);
    if (!config.backup.transferTaskQueue) config = { ...config, backup: { ...config.backup, transferTaskQueue: DEFAULT_TRANSFER_QUEUE } };

    // The workflow bundle is built once for every worker (they start without webpack), while the rest comes up.
    const bundler = spawnLogged({
      name: 'workflow-bundle',
      command: process.execPath,
      args: tsxArgs('scripts/build-workflow-bundle.ts'),
      env: baseEnv,
      logDir,
    });
    stops.push(() => bundler.stop(1_000));
    const bundle = bundler.exited.then((e) => {
      if (e.code !== 0) throw new Error(`building the workflow bundle ${describeExit(e)}; ${bundler.logFile}:\n${tail(bundler.logFile)}`);
    });
    bundle.catch(() => undefined);
    const toolsDir = await buildTools(log, opts.ui);
    const bin = (name: string) => path.join(toolsDir, 'bin', name);

    // 1. PostgreSQL for Temporal and for the service's ops and app databases (one server, as in compose).
    let pg = await startLocalPostgres({
      dir: path.join(dataDir, 'postgres'),
      preferredPort: opts.postgresPort ?? 55432,
      detached: true,
      log,
    });
    stops.push(() => pg.stop());
    log(`PostgreSQL on 127.0.0.1:${pg.port}`);
    await prepareDatabases(pg, config);

    // 2. Temporal's schemas: the compose file's set-up script.
    const schemaEnv = {
      ...process.env,
      POSTGRES_SEEDS: '127.0.0.1',
      DB_PORT: String(pg.port),
      POSTGRES_USER: TEMPORAL_DB_USER,
      SQL_PASSWORD: TEMPORAL_DB_PASSWORD,
      TEMPORAL_SCHEMA_DIR: path.join(toolsDir, 'schema', 'postgresql', 'v12'),
      TEMPORAL_SQL_TOOL: bin('temporal-sql-tool'),
    };
    await runLogged({ name: 'setup-schema', command: 'sh', args: [path.join(DOCKER_TEMPORAL, 'setup-schema.sh')], env: schemaEnv, logDir });
    log('Temporal schemas are up to date');

    // 3. The server, with the compose file's dynamic config.
    const frontendPort = await freePort(opts.temporalPort ?? 7233);
    const address = `127.0.0.1:${frontendPort}`;
    const configPath = path.join(dataDir, 'temporal', 'config.yaml');
    mkdirSync(path.dirname(configPath), { recursive: true });
    writeFileSync(configPath, toYaml(await serverConfig(toolsDir, pg.port, frontendPort)));
    const launchServer = () =>
      spawnLogged({
        name: 'temporal-server',
        command: bin('temporal-server'),
        args: ['--config-file', configPath, '--allow-no-auth', 'start'],
        env: process.env,
        logDir,
        cwd: path.dirname(configPath),
      });
    let server = launchServer();
    stops.push(() => server.stop());

    // 4. Namespace and search attributes: the compose file's script (it waits for the server to answer).
    const namespace = baseEnv.TEMPORAL_NAMESPACE || config.temporal.namespace;
    const namespaceEnv = { ...process.env, TEMPORAL_ADDRESS: address, NAMESPACE: namespace, TEMPORAL_CLI: temporalCli() };
    const createNamespace = () =>
      runLogged({
        name: 'create-namespace',
        command: 'sh',
        args: [path.join(DOCKER_TEMPORAL, 'create-namespace.sh')],
        env: namespaceEnv,
        logDir,
      });
    await untilReady(server, createNamespace(), 180_000, 'the Temporal server');
    log(`Temporal server on ${address}, namespace ${namespace} with the Runbook* search attributes`);

    // 5. The service's own databases: ops migrated (`runbook db migrate`), one URL per configured database.
    const dbUrl = (name: string) => `postgres://runbook:runbook@127.0.0.1:${pg.port}/${name}`;
    const opsUrl = dbUrl('ops');
    await migrateOpsDatabase(opsUrl, log);
    const connection = await Connection.connect({ address });
    stops.push(() => connection.close());
    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      OPS_DATABASE_URL: opsUrl,
      NODE_ENV: 'production',
      RUNBOOK_LOG_FORMAT: baseEnv.RUNBOOK_LOG_FORMAT || 'pretty',
      RUNBOOK_METRICS_PORT: '0',
    };
    for (const [name, db] of Object.entries(config.databases)) if (!env[db.urlEnv]) env[db.urlEnv] = dbUrl(name);

    // 6. Platforms: the sandbox (in this process) unless platform tokens are set, as `npm start` decides.
    let sandbox: Sandbox | undefined;
    if (sandboxDecision(config, baseEnv).use) {
      const sb = await startSandbox({
        port: await freePort(8790),
        dataDir: path.join(dataDir, 'sandbox'),
        timing: opts.sandboxStepMs ?? (baseEnv.SANDBOX_STEP_MS ? Number(baseEnv.SANDBOX_STEP_MS) : undefined),
      });
      sandbox = sb;
      stops.push(() => sb.stop());
      const pointed = sandboxConfigOverrides(sb, config);
      config = pointed.config;
      Object.assign(env, pointed.env);
      log(`platform sandbox on ${sb.url}`);
    }
    // Receivers need a bearer token; without one, the cluster makes one up and keeps it in <data>/webhook-token.
    const tokenEnv = config.webhooks.bearerTokenEnv;
    let webhookToken = secretFromEnv(tokenEnv, env);
    if (!webhookToken) {
      const file = path.join(dataDir, 'webhook-token');
      if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600 });
      webhookToken = readFileSync(file, 'utf8').trim();
      env[tokenEnv] = webhookToken;
    }
    const configFile = path.join(dataDir, 'runbook.config.yaml');
    writeFileSync(configFile, toYaml(config));
    env.RUNBOOK_CONFIG = configFile;
    // What a shell needs to use the cluster (`set -a; . <data>/cluster.env`), owner-only: it holds credentials.
    const shared = ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'OPS_DATABASE_URL', 'RUNBOOK_CONFIG', tokenEnv];
    for (const db of Object.values(config.databases)) shared.push(db.urlEnv);
    writeFileSync(path.join(dataDir, 'cluster.env'), [...new Set(shared)].map((k) => `${k}=${env[k] ?? ''}\n`).join(''), { mode: 0o600 });

    // 7. Workers, the backup transfer worker, receivers: one process each.
    await bundle;
    let workerCount = 0;
    const workers: ClusterProcess[] = [];
    const addWorker = async () => {
      const p = spawnLogged({ name: `worker-${++workerCount}`, command: process.execPath, args: tsxArgs('src/worker.ts'), env, logDir });
      workers.push(p);
      stops.push(() => p.stop());
      await untilReady(p, polling(connection, namespace, config.temporal.taskQueue, p.pid), 180_000, p.name);
      return p;
    };
    await Promise.all(Array.from({ length: opts.workers }, () => addWorker()));
    log(`${opts.workers} worker(s) on task queue "${config.temporal.taskQueue}"`);

    let backupWorkerCount = 0;
    const startBackupWorker = async () => {
      const p = spawnLogged({
        name: `backup-transfer-worker${++backupWorkerCount > 1 ? `-${backupWorkerCount}` : ''}`,
        command: process.execPath,
        args: tsxArgs('src/activities/backup/transfer-worker.ts'),
        env,
        logDir,
      });
      stops.push(() => p.stop());
      await untilReady(p, polling(connection, namespace, config.backup.transferTaskQueue!, p.pid, 'activity'), 180_000, p.name);
      return p;
    };
    const backupWorker = await startBackupWorker();

    const receivers: Receiver[] = [];
    for (let i = 1; i <= opts.receivers; i++) {
      const p = spawnLogged({
        name: `receiver-${i}`,
        command: process.execPath,
        args: tsxArgs('src/receiver/main.ts'),
        // Port 0: each replica takes a free port and logs it. Each journals Vercel delivery ids in its own directory.
        env: {
          ...env,
          RUNBOOK_WEBHOOK_PORT: '0',
          RUNBOOK_DATA_DIR: path.join(dataDir, `receiver-${i}`),
          RUNBOOK_LOG_LEVEL: /^(trace|debug)$/.test(env.RUNBOOK_LOG_LEVEL ?? '') ? env.RUNBOOK_LOG_LEVEL : 'info',
        },
        logDir,
      });
      stops.push(() => p.stop());
      const url = await untilReady(p, logMatch(p.logFile, /listening: (http:\/\/[^\s]+)/), 180_000, p.name);
      receivers.push({ process: p, url });
    }
    log(`${opts.receivers} receiver(s)`);

    // 8. The Temporal UI.
    let ui: ClusterProcess | undefined;
    let uiUrl: string | undefined;
    if (opts.ui) {
      const port = await freePort(opts.uiPort ?? 8233);
      const root = path.join(dataDir, 'ui');
      mkdirSync(path.join(root, 'config'), { recursive: true });
      writeFileSync(
        path.join(root, 'config', 'cluster.yaml'),
        toYaml({
          temporalGrpcAddress: address,
          host: '127.0.0.1',
          port,
          enableUi: true,
          defaultNamespace: namespace,
          refreshInterval: '1m',
        }),
      );
      const p = spawnLogged({
        name: 'temporal-ui',
        command: bin('temporal-ui-server'),
        args: ['--root', root, '--config', 'config', '--env', 'cluster', 'start'],
        env: process.env,
        logDir,
      });
      ui = p;
      stops.push(() => p.stop());
      await untilReady(p, waitForPort(port, '127.0.0.1', 60_000), 65_000, 'the Temporal UI');
      uiUrl = `http://127.0.0.1:${port}`;
    }

    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const cluster: Cluster = {
      address,
      namespace,
      uiUrl,
      toolsDir,
      postgres: pg,
      opsUrl,
      env,
      config,
      configFile,
      sandbox,
      webhookToken,
      server,
      workers,
      backupWorker,
      receivers,
      ui,
      logDir,
      addWorker,
      async addBackupWorker() {
        cluster.backupWorker = await startBackupWorker();
        return cluster.backupWorker;
      },
      async restartServer({ hard = false, downMs = 0 } = {}) {
        if (hard) await server.kill();
        else await server.stop();
        await sleep(downMs);
        server = launchServer();
        cluster.server = server;
        await untilReady(server, createNamespace(), 180_000, 'the restarted Temporal server');
      },
      async restartPostgres({ hard = false, downMs = 0 } = {}) {
        if (hard) process.kill(pg.pid, 'SIGKILL');
        else await pg.stop();
        await pg.exited;
        await sleep(downMs);
        pg = await startLocalPostgres({
          dir: path.join(dataDir, 'postgres'),
          preferredPort: pg.port,
          exactPort: true,
          detached: true,
          log,
        });
        cluster.postgres = pg;
      },
      stop: stopAll,
    };
    return cluster;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

import { fork } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { Logger as Pino } from 'pino';
import { ConfigError, loadConfig } from '../config/load';
import type { RunbookConfig } from '../config/schema';
import { temporalLogger } from '../logging';
import { dataConverterFromEnv } from '../temporal/codec';
import { connectionOptions, temporalTargetFromEnv, type TemporalTarget } from '../temporal/connection';
import { createDeps, createWorker, installRuntime, metricsPortFromEnv } from '../worker';
import { migrateOpsDatabase } from './migrate';
import { freePort, isPortFree } from './ports';
import { ensureDatabase, startLocalPostgres } from './postgres';
import { startLocalTemporal } from './temporal';
import { DEFAULT_DATA_DIR, isAlive, readStackFile, stackFilePath, writeStackFile } from './state';
import type { WorkerMessage, WorkerStart } from './worker-process';
import { restartPolicyFromEnv, RestartPolicyError, supervise, type RestartPolicy, type SupervisedServer } from './supervise';

/** What `npm start` has brought up so far; each component reads what it needs and adds what it provides. */
export interface Stack {
  config: RunbookConfig & { source: string };
  /** The environment every component reads; the stack fills in database URLs for the embedded cluster. */
  env: NodeJS.ProcessEnv;
  /** Root of all local state (RUNBOOK_DATA_DIR, default .data). */
  dataDir: string;
  log: Pino;
  /** Process ids of servers we started, killed outright on a forced stop. */
  pids: number[];
  /** Ends the whole stack, e.g. when the worker dies. */
  fail(err: unknown): void;
  temporal?: { target: TemporalTarget; uiUrl?: string; embedded: boolean; sqlite?: string };
  databases?: { opsUrl: string; urls: Record<string, string>; embedded: boolean };
  worker?: { taskQueue: string; metricsUrl: string; production: boolean };
  /** Set in sandbox mode, once the platform sandbox listens. */
  sandbox?: { url: string };
  receiver?: { url: string; sandboxToken?: string };
}

/** A started component: banner lines saying where it is, and how to stop it. */
export interface Running {
  banner?: [label: string, value: string][];
  stop(): Promise<void>;
}

/** One step of `npm start`, started in list order and stopped in reverse. */
export interface Component {
  name: string;
  start(stack: Stack): Promise<Running | void>;
}

export class StartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartError';
  }
}

/** A connection string fit for printing: the password, if any, masked. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export function portFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StartError(`${name}: must be a port number, got "${raw}"`);
  return port;
}

function restartPolicy(env: NodeJS.ProcessEnv): RestartPolicy {
  try {
    return restartPolicyFromEnv(env);
  } catch (err) {
    if (err instanceof RestartPolicyError) throw new StartError(err.message);
    throw err;
  }
}

/**
 * Puts an embedded server under supervision: when it dies it is restarted (same port, same data) and the
 * stack file follows its new pid; when restarts keep failing, the stack ends naming the component.
 */
function supervised<S extends SupervisedServer>(stack: Stack, component: string, what: string, first: S, restart: () => Promise<S>) {
  return supervise({
    component,
    what,
    first,
    restart,
    restarted(next, previous) {
      const i = stack.pids.indexOf(previous.pid);
      if (i >= 0) stack.pids[i] = next.pid;
      else stack.pids.push(next.pid);
      writeStackFile(stack);
    },
    giveUp: (err) => stack.fail(err),
    policy: restartPolicy(stack.env),
    log: stack.log,
    processGroup: true,
  });
}

/** Temporal: the cluster at TEMPORAL_ADDRESS, else the embedded dev server with history in <data>/temporal. */
export const temporal: Component = {
  name: 'temporal',
  async start(stack) {
    const { env, config } = stack;
    if (env.TEMPORAL_ADDRESS) {
      const target = temporalTargetFromEnv(env, config.temporal.namespace);
      try {
        const connection = await Connection.connect({ ...connectionOptions(target), connectTimeout: 10_000 });
        await connection.close();
      } catch {
        throw new StartError(
          `Temporal is not reachable at TEMPORAL_ADDRESS=${target.address}: check the address and TLS/API key settings, or unset it to run the embedded server`,
        );
      }
      stack.temporal = { target, embedded: false };
      return {
        banner: [['Temporal', `${target.address} (namespace ${target.namespace}, from TEMPORAL_ADDRESS)`]],
        stop: async () => undefined,
      };
    }
    const uiPort = portFromEnv(env, 'RUNBOOK_UI_PORT', 8233);
    if (!(await isPortFree(uiPort))) {
      throw new StartError(
        `port ${uiPort} (Temporal Web UI) is in use: is another stack running? Stop it, or set RUNBOOK_UI_PORT to another port`,
      );
    }
    restartPolicy(env); // a bad setting stops the start here, not at the first restart
    const dir = path.join(stack.dataDir, 'temporal');
    const launch = (port: number, exactPort: boolean) =>
      startLocalTemporal({ dir, port, uiPort, namespace: config.temporal.namespace, detached: true, exactPort });
    const server = await launch(portFromEnv(env, 'RUNBOOK_TEMPORAL_PORT', 7233), false);
    stack.pids.push(server.pid);
    const port = Number(server.address.split(':').pop());
    const supervisor = supervised(stack, 'temporal', 'the Temporal dev server', server, () => launch(port, true));
    const target: TemporalTarget = { address: server.address, namespace: server.namespace, dataConverter: dataConverterFromEnv(env) };
    const uiUrl = `http://localhost:${uiPort}`;
    stack.temporal = { target, uiUrl, embedded: true, sqlite: path.join(dir, 'temporal.sqlite') };
    return {
      banner: [
        ['Temporal', `${server.address} (namespace ${server.namespace}), history in ${stack.temporal.sqlite}`],
        ['Temporal UI', uiUrl],
      ],
      stop: () => supervisor.stop(),
    };
  },
};

/**
 * PostgreSQL: OPS_DATABASE_URL and each configured database's env var (DATABASE_URL for `app`) when set;
 * whatever is missing lives on an embedded cluster in <data>/postgres. Then the ops schema migrations.
 */
export const postgres: Component = {
  name: 'postgres',
  async start(stack) {
    const { env, config, log } = stack;
    const wanted: Record<string, string> = { ops: 'OPS_DATABASE_URL' };
    for (const [name, db] of Object.entries(config.databases)) wanted[name] = db.urlEnv;
    const missing = Object.entries(wanted).filter(([, envName]) => !env[envName]);

    let stop = async () => undefined as void;
    let cluster: string | undefined;
    if (missing.length) {
      restartPolicy(env); // a bad setting stops the start here, not at the first restart
      const launch = (port: number, exactPort: boolean) =>
        startLocalPostgres({
          dir: path.join(stack.dataDir, 'postgres'),
          preferredPort: port,
          exactPort,
          detached: true,
          log: (line) => log.info({ component: 'postgres' }, line),
        });
      const server = await launch(portFromEnv(env, 'RUNBOOK_PG_PORT', 54329), false);
      stack.pids.push(server.pid);
      // Restarted on the same port, so every URL handed out (env, pools) stays valid; the pools reconnect.
      const supervisor = supervised(stack, 'postgres', 'PostgreSQL', server, () => launch(server.port, true));
      stop = () => supervisor.stop();
      cluster = `127.0.0.1:${server.port}, data in ${server.dataDir}`;
      for (const [name, envName] of missing) {
        await ensureDatabase(server.url('postgres'), name);
        // The worker and its activities find the embedded databases the same way as real ones.
        env[envName] = server.url(name);
      }
    }
    const urls = Object.fromEntries(Object.entries(wanted).map(([name, envName]) => [name, env[envName]!]));
    try {
      await migrateOpsDatabase(urls.ops, (line) => log.info({ component: 'postgres' }, line));
    } catch (err) {
      await stop();
      throw new StartError(`ops schema migrations failed on ${redactUrl(urls.ops)}: ${(err as Error).message}`);
    }
    stack.databases = { opsUrl: urls.ops, urls, embedded: Boolean(cluster) };
    const banner: [string, string][] = [];
    if (cluster) banner.push(['PostgreSQL', cluster]);
    for (const [name, envName] of Object.entries(wanted)) {
      const source = missing.some(([n]) => n === name) ? 'embedded' : `from ${envName}`;
      banner.push([`${name} database`, `${redactUrl(urls[name])} (${source})`]);
    }
    return { banner, stop };
  },
};

/**
 * The Temporal worker: by default in a child process of its own (src/stack/worker-process.ts), so a busy worker
 * (workflow tasks, activities, the Core bridge) never delays the webhook receiver's answers in this process.
 * RUNBOOK_WORKER=inline runs it in this process. Workflows bundled from source, or the prebuilt bundle with
 * NODE_ENV=production.
 */
export const worker: Component = {
  name: 'worker',
  async start(stack) {
    const { config, env } = stack;
    if (!stack.temporal || !stack.databases) throw new StartError('the worker starts after Temporal and PostgreSQL');
    const mode = env.RUNBOOK_WORKER || 'process';
    if (mode !== 'process' && mode !== 'inline') throw new StartError(`RUNBOOK_WORKER: must be "process" or "inline", got "${mode}"`);
    const metricsPort = await freePort(metricsPortFromEnv(env) || undefined);
    const production = env.NODE_ENV === 'production';
    const running =
      mode === 'inline' ? await inlineWorker(stack, metricsPort, production) : await childWorker(stack, metricsPort, production);
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    stack.worker = { taskQueue: config.temporal.taskQueue, metricsUrl, production };
    return {
      banner: [
        [
          'worker',
          `task queue "${config.temporal.taskQueue}", ${production ? 'prebuilt workflow bundle' : 'workflows bundled from source'}, ${mode === 'inline' ? 'in this process' : `in process ${running.pid}`}`,
        ],
        ['metrics', metricsUrl],
      ],
      stop: running.stop,
    };
  },
};

async function inlineWorker(stack: Stack, metricsPort: number, production: boolean): Promise<{ pid: number; stop(): Promise<void> }> {
  const { config, env, log } = stack;
  installRuntime({ metricsPort, logger: temporalLogger(log), shutdownSignals: [] });
  const target = stack.temporal!.target;
  const deps = await createDeps(config, target, env, stack.databases!.opsUrl);
  let w: Worker;
  let connection: Awaited<ReturnType<typeof createWorker>>['connection'];
  try {
    ({ worker: w, connection } = await createWorker({ config, target, deps: deps.deps, production }));
  } catch (err) {
    await deps.close();
    throw err;
  }
  const running = w.run().catch((err: unknown) => stack.fail(err));
  return {
    pid: process.pid,
    async stop() {
      // Stops polling, lets in-flight tasks finish (shutdownGraceTime), then resolves run().
      if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await connection.close();
      await deps.close();
    },
  };
}

async function childWorker(stack: Stack, metricsPort: number, production: boolean): Promise<{ pid: number; stop(): Promise<void> }> {
  // The data dir on its command line lets a later start find it if this one is killed outright (claimDataDir).
  const child = fork(require.resolve('./worker-process'), ['--data-dir', stack.dataDir], {
    env: stack.env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stopping = false;
  const start: WorkerStart = {
    config: stack.config,
    // Without the payload codec (keys and methods): the child rebuilds it from the same environment.
    target: { ...stack.temporal!.target, dataConverter: undefined },
    opsUrl: stack.databases!.opsUrl,
    production,
    metricsPort,
  };
  child.send(start);
  const ready = await new Promise<WorkerMessage | { exited: number | null }>((resolve) => {
    child.once('message', (m: WorkerMessage) => resolve(m));
    void exited.then((code) => resolve({ exited: code }));
  });
  if (!('ready' in ready)) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw new StartError(`the worker did not start: ${'failed' in ready ? ready.failed : `its process exited with code ${ready.exited}`}`);
  }
  stack.pids.push(child.pid!);
  void exited.then((code) => {
    if (!stopping) stack.fail(new Error(`the worker process exited unexpectedly (code ${code})`));
  });
  return {
    pid: child.pid!,
    async stop() {
      stopping = true;
      if (child.exitCode === null && child.connected) child.send({ stop: true });
      // Its own shutdown lets in-flight tasks finish (shutdownGraceTime 10 s); beyond that it is killed.
      const timer = setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One run of the stack, or of a part of it alone (`npm run receiver`): its state and how it ends. */
export interface StackRun {
  stack: Stack;
  /** Settles on the first failure (`stack.fail`) or stop request. */
  stopRequested: Promise<void>;
  requestStop(): void;
  /** The first failure, if any. */
  failure: unknown;
}

/**
 * The configuration, loaded (a bad file: one line per bad field on stderr, and 2, the exit code, instead
 * of a run), and the data directory (RUNBOOK_DATA_DIR, default .data), prepared.
 */
export function openStack(env: NodeJS.ProcessEnv, log: Pino): StackRun | 2 {
  let config: Stack['config'];
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.lines()) process.stderr.write(`${line}\n`);
      return 2;
    }
    throw err;
  }
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (wake = resolve));
  const run: StackRun = {
    stopRequested,
    requestStop: () => wake(),
    failure: undefined,
    stack: {
      config,
      env,
      dataDir: prepareDataDir(env.RUNBOOK_DATA_DIR || DEFAULT_DATA_DIR),
      log,
      pids: [],
      fail(err) {
        run.failure ??= err;
        wake();
      },
    },
  };
  return run;
}

/** How a run ended, logged: 1 after a failure (its stack too with RUNBOOK_DEBUG, unless a StartError), else 0. */
export function finishRun(run: StackRun, component: string): number {
  const { failure, stack } = run;
  if (failure) {
    stack.log.error({ component }, failure instanceof Error ? failure.message : String(failure));
    if (stack.env.RUNBOOK_DEBUG && failure instanceof Error && !(failure instanceof StartError)) process.stderr.write(`${failure.stack}\n`);
    return 1;
  }
  stack.log.info({ component }, 'stopped');
  return 0;
}

/** Runs an entry point's main() when the file is run directly, exiting with its code. */
export function runEntry(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

/** The data dir, created (and traversable by the postgres account when we run as root). */
export function prepareDataDir(dir: string): string {
  const abs = path.resolve(dir);
  const fresh = !existsSync(abs);
  mkdirSync(abs, { recursive: true });
  if (fresh && process.getuid?.() === 0) chmodSync(abs, 0o755);
  return abs;
}

/**
 * Refuses to start twice on one data dir, and stops servers a crashed earlier run left behind
 * (only processes whose command line names this data dir).
 */
export async function claimDataDir(dataDir: string, log: Pino): Promise<void> {
  const previous = readStackFile(dataDir);
  if (!previous) return;
  if (previous.pid !== process.pid && isAlive(previous.pid)) {
    throw new StartError(
      `a stack is already running from ${dataDir} (pid ${previous.pid}); stop it first, or set RUNBOOK_DATA_DIR to another directory`,
    );
  }
  for (const pid of previous.pids ?? []) {
    if (!isAlive(pid) || !commandLine(pid).includes(dataDir)) continue;
    log.warn({ component: 'stack' }, `stopping pid ${pid} left running by an earlier start`);
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(stackFilePath(dataDir), { force: true });
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

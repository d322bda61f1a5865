import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../workflows/common/search-attributes';
import { temporalCli } from './binaries';
import { freePort, isPortFree } from './ports';
import { exitOf, lastLines, type ServerExit } from './supervise';

export interface LocalTemporal {
  address: string;
  /** The `temporal server start-dev` process id. */
  pid: number;
  uiUrl?: string;
  namespace: string;
  /** Settles when the server process ends, for whatever reason (stop() included). */
  exited: Promise<ServerExit>;
  /** Where the server writes its log (with `dir`). */
  logFile?: string;
  stop(): Promise<void>;
}

export interface LocalTemporalOptions {
  /** Directory for the SQLite file and the server log; omit for an in-memory server (tests). */
  dir?: string;
  port?: number;
  uiPort?: number;
  /** No Web UI (tests). */
  headless?: boolean;
  namespace?: string;
  log?: (line: string) => void;
  /** Own process group, so a terminal Ctrl-C reaches only us; `stop()` stops the server then. */
  detached?: boolean;
  /** Fail when `port` is taken instead of picking another one (a restart must keep its address). */
  exactPort?: boolean;
}

/**
 * Runs the real `temporal server start-dev` as a child process, with this service's search
 * attributes registered. With `dir`, history persists in `<dir>/temporal.sqlite` across restarts.
 */
export async function startLocalTemporal(opts: LocalTemporalOptions = {}): Promise<LocalTemporal> {
  if (opts.exactPort && opts.port && !(await isPortFree(opts.port))) throw new Error(`port ${opts.port} is in use`);
  // A port found free can be taken by another process before the server binds it (tests start servers side by
  // side): a server that exits during start-up is started again on fresh ports, unless its port is fixed.
  const attempts = opts.exactPort ? 1 : START_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(opts, await freePort(attempt === 1 ? opts.port : undefined));
    } catch (err) {
      if (!(err instanceof EarlyExit) || attempt >= attempts) throw err;
      opts.log?.(`${err.message}; starting it again on other ports`);
    }
  }
}

const START_ATTEMPTS = 3;

/** The server exited before it answered. */
class EarlyExit extends Error {}

async function launch(opts: LocalTemporalOptions, port: number): Promise<LocalTemporal> {
  const cli = temporalCli();
  const namespace = opts.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace, '--log-level', 'warn'];
  for (const [name, type] of Object.entries(CUSTOM_SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  let uiUrl: string | undefined;
  if (opts.headless) {
    args.push('--headless');
  } else {
    const uiPort = opts.uiPort ?? 8233;
    args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  // Dev-server metrics would otherwise take a fixed port and collide between parallel runs.
  args.push('--metrics-port', String(await freePort()));

  let logFile: string | undefined;
  let stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'ignore', 'pipe'];
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true });
    args.push('--db-filename', path.resolve(opts.dir, 'temporal.sqlite'));
    logFile = path.resolve(opts.dir, 'temporal.log');
    const fd = openSync(logFile, 'a');
    stdio = ['ignore', fd, fd];
  }

  const child: ChildProcess = spawn(cli, args, { stdio, detached: opts.detached ?? false });
  if (typeof stdio[1] === 'number') closeSync(stdio[1]); // the child has its own copy
  // Without a log file, the last of stderr, for the message should the server not come up.
  let stderr = '';
  const keep = (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4_000));
  child.stderr?.on('data', keep);
  const exited = exitOf(child);
  const address = `127.0.0.1:${port}`;
  try {
    await waitForTemporal(
      address,
      namespace,
      exited.then((e) => e.code),
      () => (logFile ? readFileSync(logFile, 'utf8') : stderr),
      logFile,
    );
  } catch (err) {
    child.kill('SIGKILL'); // never leave a half-started server behind
    throw err;
  }
  // Running: stderr is no longer kept, only drained (warn-level logs are few).
  child.stderr?.off('data', keep);
  child.stderr?.resume();
  opts.log?.(`Temporal dev server on ${address}${uiUrl ? `, Web UI ${uiUrl}` : ''}`);

  return {
    address,
    pid: child.pid!,
    uiUrl,
    namespace,
    exited,
    logFile,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForTemporal(
  address: string,
  namespace: string,
  exited: Promise<number | null>,
  output: () => string,
  logFile?: string,
): Promise<void> {
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exitCode !== undefined) {
      const log = lastLines(output());
      throw new EarlyExit(
        `temporal server start-dev on ${address} exited with code ${exitCode} during start-up${logFile ? `; see ${logFile}` : ''}${log ? `:\n${log}` : ''}`,
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`Temporal did not answer on ${address} within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

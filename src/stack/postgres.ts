import { quoteIdent } from '../db/sql';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, mkdirSync, readFileSync, writeFileSync, openSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { postgresBinDir } from './binaries';
import { freePort, isPortFree } from './ports';
import { exitOf, tail, type ServerExit } from './supervise';

export interface LocalPostgres {
  port: number;
  /** The postmaster's process id. */
  pid: number;
  dataDir: string;
  /** Connection string for a database on this cluster. */
  url(database: string): string;
  /** Settles when the postmaster ends, for whatever reason (stop() included). */
  exited: Promise<ServerExit>;
  logFile: string;
  stop(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** Cluster root; the data lives in `<dir>/data`, the log in `<dir>/postgres.log`. */
  dir: string;
  preferredPort?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  log?: (line: string) => void;
  /**
   * Own process group: a Ctrl-C in the terminal reaches only us, so the worker can finish before the
   * database stops. Only `stop()` stops the server then.
   */
  detached?: boolean;
  /** Fail when `preferredPort` is taken instead of picking another one (a restart must keep its address). */
  exactPort?: boolean;
}

const SUPERUSER = 'postgres';

/** uid/gid of the postgres account when running as root: initdb and postgres refuse to run as root. */
function runAsIds(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root, but there is no "postgres" account to run PostgreSQL as (apt-get install postgresql creates it)');
  }
}

function ensureOwned(dir: string, ids: { uid: number; gid: number } | undefined): void {
  mkdirSync(dir, { recursive: true });
  if (ids) chownSync(dir, ids.uid, ids.gid);
}

/**
 * Starts (creating on first use) a PostgreSQL cluster under `dir`, listening on loopback only.
 * The server runs as a child of this process and stops with `stop()`.
 */
export async function startLocalPostgres(opts: LocalPostgresOptions): Promise<LocalPostgres> {
  const bin = postgresBinDir();
  const ids = runAsIds();
  const dataDir = path.resolve(opts.dir, 'data');
  const runDir = path.resolve(opts.dir, 'run');
  ensureOwned(path.resolve(opts.dir), ids);
  ensureOwned(runDir, ids);

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    ensureOwned(dataDir, ids);
    opts.log?.(`creating PostgreSQL cluster in ${dataDir}`);
    execFileSync(path.join(bin, 'initdb'), ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8'], {
      stdio: 'pipe',
      ...(ids ?? {}),
    });
  }

  const portFile = path.resolve(opts.dir, 'port');
  const previous = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) : undefined;
  if (opts.exactPort && opts.preferredPort && !(await isPortFree(opts.preferredPort)))
    throw new Error(`port ${opts.preferredPort} is in use`);
  const port = await freePort(opts.preferredPort ?? previous);
  writeFileSync(portFile, String(port));

  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: runDir,
    fsync: 'on',
    ...opts.settings,
  };
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const logFile = path.resolve(opts.dir, 'postgres.log');
  const logFd = openSync(logFile, 'a');
  if (ids) chownSync(logFile, ids.uid, ids.gid);
  const child: ChildProcess = spawn(path.join(bin, 'postgres'), args, {
    stdio: ['ignore', logFd, logFd],
    detached: opts.detached ?? false,
    ...(ids ?? {}),
  });
  closeSync(logFd); // the child has its own copy
  const exited = exitOf(child);

  const url = (database: string) => `postgres://${SUPERUSER}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  try {
    await waitForPostgres(url('postgres'), exited, logFile);
  } catch (err) {
    child.kill('SIGKILL'); // never leave a half-started server behind
    throw err;
  }

  return {
    port,
    pid: child.pid!,
    dataDir,
    url,
    exited,
    logFile,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // SIGINT = "fast shutdown": roll back open transactions, checkpoint, exit.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForPostgres(url: string, exited: Promise<ServerExit>, logFile: string): Promise<void> {
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (dead) throw new Error(`PostgreSQL exited during start-up; see ${logFile}:\n${tail(logFile)}`);
    const client = new Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`PostgreSQL did not accept connections within 60 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Creates a database when it does not exist yet. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

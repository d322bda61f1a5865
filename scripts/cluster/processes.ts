import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { describeExit, exitOf, tail, type ServerExit } from '../../src/stack/supervise';

/** A process of the cluster: its output goes to <logs>/<name>.log. */
export interface ClusterProcess {
  name: string;
  pid: number;
  logFile: string;
  exited: Promise<ServerExit>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** kill -9: no clean-up of any kind, as when a machine dies. */
  kill(): Promise<void>;
}

export interface SpawnSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  logDir: string;
  cwd?: string;
}

export function spawnLogged(spec: SpawnSpec): ClusterProcess {
  mkdirSync(spec.logDir, { recursive: true });
  const logFile = path.join(spec.logDir, `${spec.name}.log`);
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // Its own process group, so a Ctrl-C in the terminal reaches the cluster script alone, which stops
    // everything in order.
    child = spawn(spec.command, spec.args, { env: spec.env, cwd: spec.cwd, stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
  const exited = exitOf(child);
  const pid = child.pid;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  return {
    name: spec.name,
    pid,
    logFile,
    exited,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      signal('SIGKILL');
      await exited;
    },
  };
}

/** Resolves when `ready` does; rejects, with the log's tail, if the process exits first or `timeoutMs` passes. */
export async function untilReady<T>(p: ClusterProcess, ready: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      ready,
      p.exited.then((e) => {
        throw new Error(`${what} ${describeExit(e)} before it was ready; ${p.logFile}:\n${tail(p.logFile)}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} not ready after ${timeoutMs / 1000} s; ${p.logFile}:\n${tail(p.logFile)}`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command to completion with its output in a log; rejects naming the log on a non-zero exit. */
export async function runLogged(spec: SpawnSpec, timeoutMs = 300_000): Promise<void> {
  const p = spawnLogged(spec);
  const timer = setTimeout(() => void p.kill(), timeoutMs);
  const e = await p.exited;
  clearTimeout(timer);
  if (e.code !== 0) throw new Error(`${spec.name} ${describeExit(e)}; ${p.logFile}:\n${tail(p.logFile)}`);
}

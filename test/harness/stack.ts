import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/stack/ports';
import { readStackFile } from '../../src/stack/state';
import { cleanEnv, ROOT, TSX } from './cli';

/** `npm start` without its prestart set-up step (already done for the test run). */
export const START = path.join(ROOT, 'src', 'stack', 'start.ts');

export interface StartedStack {
  child: ChildProcess;
  output(): string;
  /** Settles with the exit code once the stack process has ended. */
  exited: Promise<number | null>;
  /** Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. */
  interrupt(): Promise<number | null>;
}

/** Starts `npm start` in its own process group (like a shell job) and waits for its banner. */
export async function startStack(env: Record<string, string>): Promise<StartedStack> {
  const child = spawn(TSX, [START], { cwd: ROOT, env: cleanEnv(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!out.includes('Durable Runbooks is running')) {
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode} before its banner:\n${out}`);
    if (Date.now() > deadline) throw new Error(`no banner within 120 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    output: () => out,
    exited,
    async interrupt() {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
      return exited;
    },
  };
}

/** A data dir and free ports for one stack, so tests can run next to another stack. */
export async function stackEnv(
  extra: Record<string, string> = {},
): Promise<{ dataDir: string; env: Record<string, string>; ports: Record<'temporal' | 'ui' | 'pg' | 'webhooks' | 'sandbox', number> }> {
  const dataDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'runbook-stack-')), 'data');
  chmodSync(path.dirname(dataDir), 0o755); // PostgreSQL runs as the postgres account when we are root
  const ports = {
    temporal: await freePort(),
    ui: await freePort(),
    pg: await freePort(),
    webhooks: await freePort(),
    sandbox: await freePort(),
  };
  const env = {
    RUNBOOK_DATA_DIR: dataDir,
    RUNBOOK_TEMPORAL_PORT: String(ports.temporal),
    RUNBOOK_UI_PORT: String(ports.ui),
    RUNBOOK_PG_PORT: String(ports.pg),
    RUNBOOK_WEBHOOK_PORT: String(ports.webhooks),
    SANDBOX_PORT: String(ports.sandbox),
    RUNBOOK_METRICS_PORT: '0',
    ...extra,
  };
  return { dataDir, env, ports };
}

/** Stops what a test left running from `dataDir` and removes it. */
export async function cleanUpStack(dataDir: string, running?: StartedStack): Promise<void> {
  if (running && running.child.exitCode === null) await running.interrupt();
  for (const pid of readStackFile(dataDir)?.pids ?? []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(path.dirname(dataDir), { recursive: true, force: true });
}

/** Processes whose command line names `dir` (the servers of that data dir), like `pgrep -af <dir>`. */
export function processesOf(dir: string): { pid: number; cmd: string }[] {
  const found: { pid: number; cmd: string }[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmd.includes(dir) && Number(pid) !== process.pid) found.push({ pid: Number(pid), cmd });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** The pid of the stack's embedded Temporal dev server or PostgreSQL postmaster. */
export function serverPid(dataDir: string, which: 'temporal' | 'postgres'): number {
  const match = processesOf(dataDir).filter(({ cmd }) => (which === 'temporal' ? /\bstart-dev\b/.test(cmd) : /\/postgres -D /.test(cmd)));
  if (match.length !== 1) throw new Error(`expected one ${which} process of ${dataDir}, found ${JSON.stringify(match)}`);
  return match[0].pid;
}

/** Polls `probe` every 200 ms until it returns true, or fails after `timeoutMs` saying what it waited for. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TemporalTarget } from '../temporal/connection';

/** Where `npm start` keeps local state unless RUNBOOK_DATA_DIR says otherwise. */
export const DEFAULT_DATA_DIR = '.data';

/** <data>/stack.json: where the running stack is, so `runbook` finds a non-default Temporal port. */
export interface StackFile {
  pid: number;
  temporalAddress?: string;
  namespace?: string;
  uiUrl?: string;
  /** The ops database when its URL carries no password (the embedded one); `runbook doctor` checks it. */
  opsDatabaseUrl?: string;
  /** Configured databases by key, those whose URL carries no password (the embedded ones). */
  databaseUrls?: Record<string, string>;
  /** The platform sandbox's origin, in sandbox mode. */
  sandboxUrl?: string;
  /** The webhook receiver's origin. */
  receiverUrl?: string;
  /**
   * The receiver's bearer token when the stack made one up for sandbox mode (RUNBOOK_WEBHOOK_TOKEN unset), so
   * `runbook drill` can deliver alerts; never written for a token from the environment.
   */
  sandboxWebhookToken?: string;
  pids: number[];
}

/**
 * What the stack file is written from: the running stack's data dir, server pids and embedded servers.
 * Structural, so this module does not depend on the launcher's components.
 */
export interface StackFileSource {
  dataDir: string;
  pids: number[];
  temporal?: { target: TemporalTarget; uiUrl?: string; embedded: boolean };
  databases?: { opsUrl: string; urls: Record<string, string> };
  sandbox?: { url: string };
  receiver?: { url: string; sandboxToken?: string };
}

export function stackFilePath(dataDir: string): string {
  return path.join(dataDir, 'stack.json');
}

export function readStackFile(dataDir: string): StackFile | undefined {
  try {
    return JSON.parse(readFileSync(stackFilePath(dataDir), 'utf8')) as StackFile;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * A process killed with -9 whose parent died too stays a zombie until something reaps it, which a container
 * without an init may never do: it answers signal 0 but runs nothing, and must not block the next start.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Rewritten after each component starts and after a supervised server is restarted (its pid changes). */
export function writeStackFile(stack: StackFileSource): void {
  const file: StackFile = {
    pid: process.pid,
    pids: stack.pids,
    ...(stack.temporal?.embedded
      ? { temporalAddress: stack.temporal.target.address, namespace: stack.temporal.target.namespace, uiUrl: stack.temporal.uiUrl }
      : {}),
    ...(stack.databases && !hasPassword(stack.databases.opsUrl) ? { opsDatabaseUrl: stack.databases.opsUrl } : {}),
    ...(stack.databases
      ? { databaseUrls: Object.fromEntries(Object.entries(stack.databases.urls).filter(([, url]) => !hasPassword(url))) }
      : {}),
    ...(stack.sandbox ? { sandboxUrl: stack.sandbox.url } : {}),
    ...(stack.receiver ? { receiverUrl: stack.receiver.url } : {}),
    ...(stack.receiver?.sandboxToken ? { sandboxWebhookToken: stack.receiver.sandboxToken } : {}),
  };
  // Written aside and renamed, so a reader never sees half a file.
  const target = stackFilePath(stack.dataDir);
  // Owner-only: it may hold the sandbox session's webhook token.
  writeFileSync(`${target}.tmp`, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${target}.tmp`, target);
}

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return true; // unparseable: keep it out of the file
  }
}

/** The stack running from `dataDir` (its process is alive), if there is one. */
export function runningStack(dataDir: string): StackFile | undefined {
  const state = readStackFile(path.resolve(dataDir));
  return state && isAlive(state.pid) ? state : undefined;
}

/** The embedded Temporal of a stack running from `dataDir`, if there is one. */
export function runningTemporal(dataDir: string): { address: string; namespace?: string } | undefined {
  const state = runningStack(dataDir);
  if (!state?.temporalAddress) return undefined;
  return { address: state.temporalAddress, namespace: state.namespace };
}

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Stack } from './components';

/** Where `npm start` keeps local state unless RUNBOOK_DATA_DIR says otherwise. */
export const DEFAULT_DATA_DIR = '.data';

/** <data>/stack.json: where the running stack is, so `runbook` finds a non-default Temporal port. */
export interface StackFile {
  pid: number;
  temporalAddress?: string;
  namespace?: string;
  uiUrl?: string;
  pids: number[];
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
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function writeStackFile(stack: Pick<Stack, 'dataDir' | 'pids' | 'temporal'>): void {
  const file: StackFile = {
    pid: process.pid,
    pids: stack.pids,
    ...(stack.temporal?.embedded ? { temporalAddress: stack.temporal.target.address, namespace: stack.temporal.target.namespace, uiUrl: stack.temporal.uiUrl } : {}),
  };
  writeFileSync(stackFilePath(stack.dataDir), `${JSON.stringify(file, null, 2)}\n`);
}

/** The embedded Temporal of a stack running from `dataDir`, if there is one. */
export function runningTemporal(dataDir: string): { address: string; namespace?: string } | undefined {
  const state = readStackFile(path.resolve(dataDir));
  if (!state?.temporalAddress || !isAlive(state.pid)) return undefined;
  return { address: state.temporalAddress, namespace: state.namespace };
}

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { RunbookConfig } from '../../src/config/schema';

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

/** Starts test/backup/worker-process.ts under node + tsx and waits until it polls. */
export async function startWorkerProcess(opts: {
  config: RunbookConfig;
  databases: Record<string, string>;
  opsUrl: string;
  temporalAddress: string;
  taskQueue: string;
  bundle?: string;
  /** `transfer`: backup activities only, no workflows. */
  mode?: 'full' | 'transfer';
  env?: Record<string, string>;
}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'worker-process.ts')], {
    cwd: path.join(__dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      ...opts.env,
      BACKUP_WORKER_CONFIG: JSON.stringify(opts.config),
      BACKUP_WORKER_DATABASES: JSON.stringify(opts.databases),
      BACKUP_WORKER_OPS_URL: opts.opsUrl,
      BACKUP_WORKER_TEMPORAL: opts.temporalAddress,
      BACKUP_WORKER_TASK_QUEUE: opts.taskQueue,
      BACKUP_WORKER_BUNDLE: opts.bundle ?? '',
      BACKUP_WORKER_MODE: opts.mode ?? 'full',
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => void (stderr = (stderr + c.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process did not start in 60 s: ${stderr}`)), 60_000);
    child.stdout!.on('data', (c: Buffer) => {
      if (c.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`worker process exited during start: ${stderr}`));
    });
  });
  return { child, pid: child.pid!, exited };
}

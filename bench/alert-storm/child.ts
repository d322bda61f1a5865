import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ChildMessage } from './config';

export interface Child {
  /** What the child sent as `ready` (its URL or address). */
  value: string;
  stop(): Promise<void>;
}

/** One of this folder's TypeScript child processes, once it reports `ready` over IPC; stop() asks it to stop and waits (SIGKILL after 20 s). */
export function child(file: string, args: string[], execArgv: string[] = []): Promise<Child> {
  const proc: ChildProcess = fork(path.join(__dirname, file), args, {
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${file} exited with code ${code} before it was ready`)));
    proc.once('message', (m: ChildMessage) => {
      if ('error' in m) return reject(new Error(`${file}: ${m.error}`));
      if (!('ready' in m)) return;
      proc.removeAllListeners('exit');
      resolve({
        value: m.ready,
        stop: () =>
          new Promise<void>((done) => {
            if (proc.exitCode !== null) return done();
            const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
            proc.once('exit', () => {
              clearTimeout(timer);
              done();
            });
            proc.send({ stop: true });
          }),
      });
    });
  });
}

/**
 * The worker of `npm start` in a process of its own (see the `worker` component): workflow tasks and activities
 * then never hold up the webhook receiver's event loop. The parent sends the resolved configuration (sandbox
 * overrides included) over IPC; the child answers `ready`, and stops on `stop` or when the parent goes away.
 */
import type { RunbookConfig } from '../config/schema';
import { createLogger, temporalLogger } from '../logging';
import { dataConverterFromEnv } from '../temporal/codec';
import type { TemporalTarget } from '../temporal/connection';
import { createDeps, createWorker, installRuntime } from '../worker';

export interface WorkerStart {
  config: RunbookConfig;
  target: TemporalTarget;
  opsUrl: string;
  production: boolean;
  metricsPort: number;
}
export type WorkerMessage = { ready: true } | { failed: string };

async function run(received: WorkerStart): Promise<void> {
  // The payload codec holds keys and methods, which IPC cannot carry: it is rebuilt here from the same environment.
  const dataConverter = dataConverterFromEnv(process.env);
  const { dataConverter: _lost, ...target } = received.target;
  const start: WorkerStart = { ...received, target: { ...target, ...(dataConverter ? { dataConverter } : {}) } };
  const log = createLogger(process.env).child({ component: 'worker' });
  installRuntime({ metricsPort: start.metricsPort, logger: temporalLogger(log), shutdownSignals: [] });
  const deps = await createDeps(start.config, start.target, process.env, start.opsUrl);
  let created: Awaited<ReturnType<typeof createWorker>>;
  try {
    created = await createWorker({ config: start.config, target: start.target, deps: deps.deps, production: start.production });
  } catch (err) {
    await deps.close();
    throw err;
  }
  const { worker, connection } = created;
  const stop = () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  process.on('message', (m: { stop?: boolean }) => m.stop && stop());
  process.on('disconnect', stop); // the stack process is gone
  // Ctrl-C reaches the whole process group: the stack stops the worker in its turn, over IPC.
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => undefined);
  const running = worker.run();
  process.send?.({ ready: true } satisfies WorkerMessage);
  await running;
  await connection.close();
  await deps.close();
}

process.once('message', (start: WorkerStart) => {
  run(start).then(
    () => process.exit(0),
    (err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      if (process.connected) process.send?.({ failed: message } satisfies WorkerMessage);
      process.stderr.write(`worker: ${message}\n`);
      process.exit(1);
    },
  );
});

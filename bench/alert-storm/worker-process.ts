/**
 * A worker running the real `incident` workflow behind the storm, its platform calls going to an in-process
 * sandbox. argv: <temporal address> <task queue> <ops database url> <app database url>.
 */
import { createWorker, createDeps, installRuntime } from '../../src/worker';
import { pointAtSandbox, sandboxSecrets } from '../../src/platforms/sandbox-target';
import { seedFromConfig, startSandbox } from '../../src/sandbox';
import { benchConfig, type ChildMessage } from './config';
import { DefaultLogger } from '@temporalio/worker';

async function main(): Promise<void> {
  const [address, taskQueue, opsUrl, appUrl] = process.argv.slice(2);
  installRuntime({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const sandbox = await startSandbox({ timing: 20 });
  const base = benchConfig(taskQueue);
  seedFromConfig(sandbox, base);
  const config = pointAtSandbox(base, sandbox, { requestTimeoutMs: 5_000 });
  const env = { ...process.env, ...sandboxSecrets(config, sandbox) };
  const target = { address, namespace: 'default' };
  const deps = await createDeps(config, target, env, opsUrl, () => appUrl);
  const { worker, connection } = await createWorker({ config, target, deps: deps.deps });
  const running = worker.run();
  process.send?.({ ready: taskQueue } satisfies ChildMessage);
  process.on('message', (m: { stop?: boolean }) => {
    if (!m.stop) return;
    worker.shutdown();
    void running
      .then(async () => {
        await connection.close();
        await deps.close();
        await sandbox.stop();
      })
      .finally(() => {
        process.send?.({ stopped: true } satisfies ChildMessage);
        process.exit(0);
      });
  });
}

main().catch((err: unknown) => {
  process.send?.({ error: err instanceof Error ? err.message : String(err) } satisfies ChildMessage);
  process.exit(1);
});

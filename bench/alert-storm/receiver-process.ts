/**
 * The receiver under test in a process of its own, as in production, so the load generator does not share
 * its event loop. argv: <temporal address> <task queue> <webhooks settings as JSON>.
 */
import { Client, Connection } from '@temporalio/client';
import { startReceiver } from '../../src/receiver/server';
import { BENCH_SENTRY_SECRET, BENCH_TOKEN, benchConfig, type ChildMessage } from './config';

async function main(): Promise<void> {
  const [address, taskQueue, webhooks] = process.argv.slice(2);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const config = benchConfig(taskQueue, JSON.parse(webhooks) as Record<string, unknown>);
  const started = await startReceiver({
    config,
    client,
    env: { RUNBOOK_WEBHOOK_TOKEN: BENCH_TOKEN, SENTRY_CLIENT_SECRET: BENCH_SENTRY_SECRET },
    port: 0,
    host: '127.0.0.1',
    deliveryJournal: null,
  });
  const send = (m: ChildMessage) => process.send?.(m);
  send({ ready: started.url });
  process.on('message', (m: { stop?: boolean; metrics?: boolean }) => {
    if (m.stop) {
      void started
        .stop()
        .then(() => connection.close())
        .then(() => {
          send({ stopped: true });
          process.exit(0);
        });
    }
  });
}

main().catch((err: unknown) => {
  process.send?.({ error: err instanceof Error ? err.message : String(err) } satisfies ChildMessage);
  process.exit(1);
});

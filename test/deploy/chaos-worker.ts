/**
 * A worker in a process of its own, so the chaos test can SIGKILL it. Everything it needs comes
 * from the environment: CHAOS_CONFIG (the parsed configuration as JSON), CHAOS_OPS_URL,
 * CHAOS_TEMPORAL_ADDRESS, CHAOS_TASK_QUEUE, CHAOS_BUNDLE; platform secrets as named by the config.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { createActivities } from '../../src/activities';
import type { RunbookConfig } from '../../src/config/schema';
import { createPlatformClients } from '../../src/platforms';
import { dataConverterFromEnv } from '../../src/temporal/codec';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = process.env;
  const config = JSON.parse(env.CHAOS_CONFIG!) as RunbookConfig;
  const ops = new Pool({ connectionString: env.CHAOS_OPS_URL, max: 10 });
  const connection = await NativeConnection.connect({ address: env.CHAOS_TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    taskQueue: env.CHAOS_TASK_QUEUE!,
    workflowBundle: { codePath: env.CHAOS_BUNDLE! },
    dataConverter: dataConverterFromEnv(process.env), // payload encryption when RUNBOOK_PAYLOAD_KEY is set, like the service's workers
    activities: createActivities({ config, ops, env, databaseUrl: () => '', platforms: createPlatformClients(config, env) }),
    // A killed worker's cached workflows move to another worker after this, not after the 10 s default.
    stickyQueueScheduleToStartTimeout: '1s',
  });
  process.stdout.write('ready\n');
  await worker.run();
}

main().catch((err) => {
  process.stderr.write(`chaos worker: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

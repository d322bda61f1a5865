/**
 * A worker in its own process, so a test can SIGKILL it mid-activity the way a crashed host would die.
 * Reads everything from the environment; prints "ready" once polling.
 */
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { createActivities } from '../../src/activities';
import { parseConfig } from '../../src/config/load';
import { dataConverterFromEnv } from '../../src/temporal/codec';

async function main(): Promise<void> {
  const env = (name: string) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set`);
    return v;
  };
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const config = parseConfig(JSON.parse(env('WORKER_CONFIG')));
  const databases = JSON.parse(env('WORKER_DATABASES')) as Record<string, string>;
  const ops = new Pool({ connectionString: env('WORKER_OPS_URL'), max: 4 });
  const connection = await NativeConnection.connect({ address: env('RUNBOOK_TEST_TEMPORAL_ADDRESS') });
  const worker = await Worker.create({
    connection,
    taskQueue: env('WORKER_TASK_QUEUE'),
    workflowBundle: { codePath: env('RUNBOOK_TEST_WORKFLOW_BUNDLE') },
    dataConverter: dataConverterFromEnv(process.env), // payload encryption when RUNBOOK_PAYLOAD_KEY is set, like the service's workers
    activities: createActivities({ config, ops, env: {}, databaseUrl: (name) => databases[name] }),
  });
  process.stdout.write('ready\n');
  await worker.run();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * A worker with the real activities in a process of its own, so a test (or the bench) can SIGKILL it
 * mid-activity or measure its memory. Reads everything from the environment; prints "ready" once polling.
 * BACKUP_WORKER_MODE=transfer: only the backup activities and no workflows, like `npm run worker:backup`.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import type { RunbookConfig } from '../../src/config/schema';
import { dataConverterFromEnv } from '../../src/temporal/codec';

async function main(): Promise<void> {
  const env = (name: string) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set`);
    return v;
  };
  const config = JSON.parse(env('BACKUP_WORKER_CONFIG')) as RunbookConfig;
  const databases = JSON.parse(env('BACKUP_WORKER_DATABASES')) as Record<string, string>;
  const ops = new Pool({ connectionString: env('BACKUP_WORKER_OPS_URL'), max: 4 });
  const connection = await NativeConnection.connect({ address: env('BACKUP_WORKER_TEMPORAL') });
  const deps = { config, ops, env: process.env, databaseUrl: (name: string) => databases[name] };
  // Loaded on demand, so a transfer worker's memory holds only what it runs.
  const worker =
    process.env.BACKUP_WORKER_MODE === 'transfer'
      ? await Worker.create({
          connection,
          taskQueue: env('BACKUP_WORKER_TASK_QUEUE'),
          dataConverter: dataConverterFromEnv(process.env),
          activities: (await import('../../src/activities/backup')).createBackupActivities(deps),
        })
      : await Worker.create({
          connection,
          taskQueue: env('BACKUP_WORKER_TASK_QUEUE'),
          dataConverter: dataConverterFromEnv(process.env),
          workflowBundle: { codePath: env('BACKUP_WORKER_BUNDLE') },
          activities: (await import('../../src/activities')).createActivities(deps),
        });
  process.stdout.write('ready\n');
  await worker.run();
  await ops.end();
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

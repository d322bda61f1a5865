/**
 * `npm run worker:backup`: a lean worker for the data-moving backup activities only (dump, read, restore)
 * on `backup.transferTaskQueue`. Run it next to the database and the store; the main worker keeps the
 * workflows. Needs OPS_DATABASE_URL and the database URLs the configuration names, like the main worker.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { createPool } from '../../db/connect';
import { createBackupActivities } from '.';
import { ConfigError, loadConfig } from '../../config/load';
import { createPlatformClients } from '../../platforms';
import { connectionOptions, temporalTargetFromEnv } from '../../temporal/connection';
import { databaseResolver } from '../../worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const taskQueue = config.backup.transferTaskQueue;
  if (!taskQueue) throw new ConfigError(config.source, ['backup.transferTaskQueue: set it to run a dedicated backup worker']);
  const opsUrl = process.env.OPS_DATABASE_URL;
  if (!opsUrl) throw new Error('OPS_DATABASE_URL is not set: the backup worker records backups in the ops database');
  const ops = createPool(opsUrl, { max: 4 });
  const target = temporalTargetFromEnv(process.env, config.temporal.namespace);
  const connection = await NativeConnection.connect(connectionOptions(target));
  const worker = await Worker.create({
    connection,
    namespace: target.namespace,
    taskQueue,
    ...(target.dataConverter ? { dataConverter: target.dataConverter } : {}),
    activities: createBackupActivities({
      config,
      ops,
      env: process.env,
      databaseUrl: databaseResolver(config, process.env),
      platforms: createPlatformClients(config, process.env),
    }),
    shutdownGraceTime: '10s',
  });
  console.log(`backup worker polling task queue "${taskQueue}" on ${target.address}`);
  try {
    await worker.run();
  } finally {
    await connection.close();
    await ops.end();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(err instanceof ConfigError ? 2 : 1);
});

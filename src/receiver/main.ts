/**
 * `npm run receiver`: the webhook receiver alone, against TEMPORAL_ADDRESS: the same server `npm start`
 * runs (the stack's receiver component), for running several replicas behind a load balancer next to
 * workers started with `npm run worker`. Port: RUNBOOK_WEBHOOK_PORT, else `webhooks.port`. Vercel delivery
 * ids are journalled under RUNBOOK_DATA_DIR (default .data) unless `webhooks.deliveryJournal` names a file.
 *
 * Exit codes: 0 after SIGINT/SIGTERM, 1 when it failed to start, 2 for a bad configuration.
 */
import { createLogger } from '../logging';
import { finishRun, openStack, runEntry, StartError } from '../stack/components';
import { temporalTargetFromEnv } from '../temporal/connection';
import { receiver } from './component';

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const log = createLogger(env);
  if (!env.TEMPORAL_ADDRESS) {
    process.stderr.write('TEMPORAL_ADDRESS is not set: the receiver records alerts on a running Temporal (`npm start` runs one)\n');
    return 2;
  }
  const run = openStack(env, log);
  if (run === 2) return 2;
  const { stack } = run;
  stack.temporal = { target: temporalTargetFromEnv(env, stack.config.temporal.namespace), embedded: false };
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => run.requestStop());
  let running;
  try {
    running = await receiver.start(stack);
  } catch (err) {
    log.error({ component: 'receiver' }, err instanceof StartError || err instanceof Error ? err.message : String(err));
    return 1;
  }
  log.info({ component: 'receiver' }, `listening: ${stack.receiver?.url} (Temporal ${stack.temporal?.target.address})`);
  await run.stopRequested;
  await running?.stop();
  return finishRun(run, 'receiver');
}

if (require.main === module) runEntry(main);

import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { secretFromEnv } from '../config/load';
import { StartError, type Component } from '../stack/components';
import { isPortFree } from '../stack/ports';
import { connectionOptions } from '../temporal/connection';
import { startReceiver } from './server';

/** `npm start`'s webhook receiver: alerts from Alertmanager, Grafana, Sentry, Vercel and generic JSON → incidents. */
export const receiver: Component = {
  name: 'receiver',
  async start(stack) {
    const { config, env, log } = stack;
    if (!stack.temporal) throw new StartError('the webhook receiver starts after Temporal');
    const hooks = config.webhooks;
    const port = env.RUNBOOK_WEBHOOK_PORT ? Number(env.RUNBOOK_WEBHOOK_PORT) : hooks.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StartError(`RUNBOOK_WEBHOOK_PORT: must be a port number, got "${env.RUNBOOK_WEBHOOK_PORT}"`);
    if (port !== 0 && !(await isPortFree(port, hooks.host))) {
      throw new StartError(`port ${port} (webhook receiver) is in use: set webhooks.port in the config or RUNBOOK_WEBHOOK_PORT`);
    }
    const connection = await Connection.connect(connectionOptions(stack.temporal.target));
    const client = new Client({ connection, namespace: stack.temporal.target.namespace });
    const started = await startReceiver({
      config,
      client,
      env,
      port,
      logger: log.child({ component: 'receiver' }),
      processMetrics: true,
      readiness: { address: stack.temporal.target.address },
      // Vercel delivery ids survive a restart next to the rest of the local state.
      deliveryJournal: hooks.deliveryJournal ?? path.join(stack.dataDir, 'webhooks', 'vercel-deliveries.log'),
    });
    const unset = [hooks.bearerTokenEnv, hooks.sentrySecretEnv, hooks.vercelSecretEnv].filter((name) => !secretFromEnv(name, env));
    if (unset.length) log.warn({ component: 'receiver' }, `not set: ${unset.join(', ')}; the routes that need them answer 503 until they are`);
    return {
      banner: [['webhooks', `${started.url}/webhooks/{alertmanager,grafana,sentry,vercel,generic}, ${started.url}/{healthz,readyz,metrics}`]],
      async stop() {
        await started.stop();
        await connection.close();
      },
    };
  },
};

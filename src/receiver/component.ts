import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { secretFromEnv } from '../config/load';
import { StartError, type Component } from '../stack/components';
import { isPortFree } from '../stack/ports';
import { clientOptions, connectionOptions } from '../temporal/connection';
import { startReceiver } from './server';

/** `npm start`'s webhook receiver: alerts from Alertmanager, Grafana, Sentry, Vercel and generic JSON → incidents. */
export const receiver: Component = {
  name: 'receiver',
  async start(stack) {
    const { config, log } = stack;
    if (!stack.temporal) throw new StartError('the webhook receiver starts after Temporal');
    const hooks = config.webhooks;
    const port = stack.env.RUNBOOK_WEBHOOK_PORT ? Number(stack.env.RUNBOOK_WEBHOOK_PORT) : hooks.port;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new StartError(`RUNBOOK_WEBHOOK_PORT: must be a port number, got "${stack.env.RUNBOOK_WEBHOOK_PORT}"`);
    if (port !== 0 && !(await isPortFree(port, hooks.host))) {
      throw new StartError(`port ${port} (webhook receiver) is in use: set webhooks.port in the config or RUNBOOK_WEBHOOK_PORT`);
    }
    // In sandbox mode a session token stands in for an unset bearer token, so the local alert routes (and
    // `runbook drill`) work out of the box; stack.json (owner-only) records it for the CLI.
    const sandboxToken =
      stack.sandbox && !secretFromEnv(hooks.bearerTokenEnv, stack.env) ? randomBytes(24).toString('base64url') : undefined;
    const env = sandboxToken ? { ...stack.env, [hooks.bearerTokenEnv]: sandboxToken } : stack.env;
    const connection = await Connection.connect(connectionOptions(stack.temporal.target));
    const client = new Client(clientOptions(connection, stack.temporal.target));
    const started = await startReceiver({
      config,
      client,
      env,
      port,
      logger: log.child({ component: 'receiver' }),
      processMetrics: true,
      readiness: { address: stack.temporal.target.address },
      // Alerts are acknowledged once on disk here, and sent to Temporal from there (see README, Alert storms).
      alertJournal: hooks.alertJournal === false ? null : (hooks.alertJournal ?? path.join(stack.dataDir, 'webhooks', 'alerts.journal')),
      // Vercel delivery ids survive a restart next to the rest of the local state.
      deliveryJournal: hooks.deliveryJournal ?? path.join(stack.dataDir, 'webhooks', 'vercel-deliveries.log'),
    });
    stack.receiver = { url: started.url, ...(sandboxToken ? { sandboxToken } : {}) };
    if (sandboxToken)
      log.info(
        { component: 'receiver' },
        `sandbox mode: ${hooks.bearerTokenEnv} is unset, so this session's bearer token is in ${path.join(stack.dataDir, 'stack.json')}`,
      );
    const unset = [hooks.bearerTokenEnv, hooks.sentrySecretEnv, hooks.vercelSecretEnv].filter((name) => !secretFromEnv(name, env));
    if (unset.length)
      log.warn({ component: 'receiver' }, `not set: ${unset.join(', ')}; the routes that need them answer 503 until they are`);
    return {
      banner: [
        ['webhooks', `${started.url}/webhooks/{alertmanager,grafana,sentry,vercel,generic}, ${started.url}/{healthz,readyz,metrics}`],
      ],
      async stop() {
        stack.receiver = undefined;
        await started.stop();
        await connection.close();
      },
    };
  },
};

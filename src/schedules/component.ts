import { Client, Connection } from '@temporalio/client';
import { StartError, type Component } from '../stack/components';
import { clientOptions, connectionOptions } from '../temporal/connection';
import { applySchedules } from '.';

/**
 * `npm start` applies the configured schedules on the embedded Temporal, so health checks, maintenance and
 * backups run from the first start. On an external cluster they change only through `runbook schedules apply`.
 */
export const schedules: Component = {
  name: 'schedules',
  async start(stack) {
    if (!stack.temporal) throw new StartError('schedules are applied after Temporal has started');
    const log = stack.log.child({ component: 'schedules' });
    if (!stack.temporal.embedded) {
      log.info('external Temporal cluster: schedules are left as they are; `runbook schedules apply` creates or updates them');
      return;
    }
    const connection = await Connection.connect(connectionOptions(stack.temporal.target));
    try {
      const outcomes = await applySchedules(new Client(clientOptions(connection, stack.temporal.target)), stack.config);
      const changed = outcomes.filter((o) => o.action !== 'unchanged');
      for (const o of changed) log.info(`${o.scheduleId}: ${o.action}`);
      return {
        banner: [['schedules', `${outcomes.length} applied, ${changed.length} changed (runbook schedules list)`]],
        stop: async () => undefined,
      };
    } finally {
      await connection.close();
    }
  },
};

import type { Client as PgClient } from 'pg';
import type { ServiceConfig } from '../../config/schema';
import { connect } from '../../db/connect';
import { invalidInput } from '../../workflows/common';
import type { ActivityDeps } from '../deps';

/** A configured service, and a scoped connection to one of the app's databases, as diagnosis and playbooks reach them. */
export function appAccess(deps: Pick<ActivityDeps, 'config' | 'databaseUrl'>) {
  return {
    serviceConfig(name: string): ServiceConfig {
      const svc = deps.config.services.find((s) => s.name === name);
      if (!svc) throw invalidInput(`no service "${name}" in the configuration (services[].name)`);
      return svc;
    },

    /** A short-lived connection to a configured database, labelled so the playbooks' guards recognise it; closed after `fn`. */
    async withAppDatabase<T>(name: string, fn: (db: PgClient) => Promise<T>): Promise<T> {
      if (!deps.config.databases[name]) throw invalidInput(`no database "${name}" in the configuration (databases.${name})`);
      const db = await connect(deps.databaseUrl(name), 'runbook-incident', { statement_timeout: 30_000 });
      try {
        return await fn(db);
      } finally {
        await db.end().catch(() => undefined);
      }
    },
  };
}

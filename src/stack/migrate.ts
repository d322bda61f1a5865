import path from 'node:path';
import { runner } from 'node-pg-migrate';

/** The ops schema (incidents, deployments, backups, reports…) lives in migrations/ops as SQL files. */
export const OPS_MIGRATIONS_DIR = path.join(__dirname, '..', '..', 'migrations', 'ops');

/** Applies every pending ops-schema migration; safe to run on every start (it takes an advisory lock). */
export async function migrateOpsDatabase(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: OPS_MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'ops_schema_migrations',
    count: Infinity,
    // Files from parallel branches may land out of timestamp order; apply whatever is missing.
    checkOrder: false,
    log: () => undefined,
    verbose: false,
  });
  for (const m of applied) log(`ops schema: applied ${m.name}`);
  return applied.map((m) => m.name);
}

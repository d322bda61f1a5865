import { readdirSync } from 'node:fs';
import path from 'node:path';
import { runner } from 'node-pg-migrate';
import type { Client } from 'pg';

/** The ops schema (incidents, deployments, backups, reports…) lives in migrations/ops as SQL files. */
export const OPS_MIGRATIONS_DIR = path.join(__dirname, '..', '..', 'migrations', 'ops');
const MIGRATIONS_TABLE = 'ops_schema_migrations';

/** Applies every pending ops-schema migration; safe to run on every start (it takes an advisory lock). */
export async function migrateOpsDatabase(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: OPS_MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: MIGRATIONS_TABLE,
    count: Infinity,
    // Files from parallel branches may land out of timestamp order; apply whatever is missing.
    checkOrder: false,
    log: () => undefined,
    verbose: false,
  });
  for (const m of applied) log(`ops schema: applied ${m.name}`);
  return applied.map((m) => m.name);
}

/** The ops-schema migrations not yet applied to this database (all of them on an empty one). */
export async function pendingOpsMigrations(db: Pick<Client, 'query'>): Promise<string[]> {
  const files = readdirSync(OPS_MIGRATIONS_DIR)
    .filter((f) => /\.(sql|js|ts)$/.test(f))
    .map((f) => f.replace(/\.(sql|js|ts)$/, ''))
    .sort();
  const { rows: table } = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [MIGRATIONS_TABLE]);
  if (!table[0]?.present) return files;
  const { rows } = await db.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE}`);
  const done = new Set(rows.map((r) => r.name));
  return files.filter((f) => !done.has(f));
}

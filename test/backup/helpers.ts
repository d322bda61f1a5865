import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import type { RunbookConfig } from '../../src/config/schema';
import { tableStats } from '../../src/activities/backup/table-stats';
import type { TableStats } from '../../src/workflows/backup/contract';
import { fnv1a } from '../../src/workflows/common/alerts';
import type { ActivityDeps } from '../../src/activities';
import { scratchDatabase, testConfig, testDeps, testEnv, type ScratchDatabase } from '../harness';
import { databasesForFile } from '../harness/fixtures';
import { FIXTURE_SQL } from './fixture';

/** A scratch database holding the fixture schema and rows. */
export async function fixtureDatabase(prefix: string): Promise<ScratchDatabase> {
  const db = await scratchDatabase(prefix);
  await db.pool.query(FIXTURE_SQL);
  return db;
}

/** For the whole file: an ops database (`<prefix>_ops`) and a fixture `source` database (`<prefix>_src`) to back up. */
export function backupDatabasesForFile(prefix: string): { ops: ScratchDatabase; source: ScratchDatabase } {
  return databasesForFile({ ops: () => scratchDatabase(`${prefix}_ops`, { ops: true }), source: () => fixtureDatabase(`${prefix}_src`) });
}

/** A restore's world: the ops database, a fixture `app` and a `copy` target holding one marker row. */
export interface RestoreStage {
  ops: ScratchDatabase;
  source: ScratchDatabase;
  target: ScratchDatabase;
  deps: ActivityDeps;
  drop(): Promise<void>;
}

export async function openRestoreStage(prefix: string, marker: string): Promise<RestoreStage> {
  const [ops, source, target] = await Promise.all([
    scratchDatabase(`${prefix}_ops`, { ops: true }),
    fixtureDatabase(`${prefix}_src`),
    scratchDatabase(`${prefix}_dst`),
  ]);
  await target.pool.query('CREATE TABLE marker (note text)');
  await target.pool.query('INSERT INTO marker VALUES ($1)', [marker]);
  const deps = testDeps(backupConfig(['app', 'copy'], { store: { type: 'directory', path: storeDir(prefix) } }), ops, {
    app: source.url,
    copy: target.url,
  });
  return { ops, source, target, deps, drop: async () => void (await Promise.all([ops.drop(), source.drop(), target.drop()])) };
}

/** Counts and md5s of every table (md5 for all tables with a primary key), read in one snapshot. */
export async function statsOf(url: string): Promise<TableStats[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const stats = await tableStats(client, { md5MaxRows: Number.MAX_SAFE_INTEGER });
    await client.query('COMMIT');
    return stats;
  } finally {
    await client.end();
  }
}

export function storeDir(prefix: string): string {
  return mkdtempSync(path.join(testEnv.dir, `${prefix}-`));
}

/** The vercel-supabase example with `databases` and `backup` replaced. */
export function backupConfig(databases: string[], backup: Record<string, unknown>): RunbookConfig {
  return testConfig({
    databases: Object.fromEntries(databases.map((d) => [d, { urlEnv: `DB_${d.toUpperCase()}_URL` }])),
    backup: { databases: [databases[0]], ...backup },
  });
}

/** Whether the scratch database of a verifyBackup run still exists (it must not). */
export async function scratchExists(verifyWorkflowId: string): Promise<boolean> {
  const client = new Client({ connectionString: testEnv.pgAdminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [`runbook_verify_${fnv1a(verifyWorkflowId)}`]);
    return (rowCount ?? 0) > 0;
  } finally {
    await client.end();
  }
}

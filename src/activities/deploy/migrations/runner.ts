import { readFileSync } from 'node:fs';
import type { Client } from 'pg';
import { connect as openClient } from '../../../db/connect';
import { checksumOf, type MigrationFile } from './discover';

/**
 * Applies the application's migrations to its database, one transaction per migration with
 * lock_timeout and statement_timeout, tracked in `runbook.schema_migrations` of that database (a
 * schema of its own, so the Supabase REST API never exposes it). A failing migration is rolled back
 * by its transaction, then its rollback file runs (for anything the transaction could not undo),
 * and nothing after it is applied.
 */

export interface AppliedRow {
  name: string;
  convention: string;
  checksum: string;
  status: 'applied' | 'failed';
  deploy_id: string | null;
  error: string | null;
  rollback: string | null;
}

export interface RunOptions {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  /** Who applies: the deploy workflow id. */
  appliedBy: string;
  /** Called before each migration (activities heartbeat here). */
  onStep?: (name: string) => void;
}

export interface RunResult {
  applied: string[];
  /** Already applied before this run (e.g. by an earlier attempt of the same deploy). */
  skipped: string[];
  failed?: { name: string; error: string; rollback: 'ran' | 'failed' | 'none'; rollbackError?: string };
}

const TRACKING = `
CREATE SCHEMA IF NOT EXISTS runbook;
CREATE TABLE IF NOT EXISTS runbook.schema_migrations (
  name text PRIMARY KEY,
  convention text NOT NULL,
  checksum text NOT NULL,
  status text NOT NULL CHECK (status IN ('applied', 'failed')),
  deploy_id text,
  error text,
  rollback text,
  duration_ms integer,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** One key for every runner of this database, so two deploys never apply migrations at once. */
const LOCK_KEY = 'runbook.schema_migrations';

const connect = (url: string): Promise<Client> => openClient(url, 'runbook-migrations');

export async function trackingRows(url: string): Promise<AppliedRow[]> {
  const client = await connect(url);
  try {
    const { rows } = await client.query<{ exists: boolean }>(`SELECT to_regclass('runbook.schema_migrations') IS NOT NULL AS exists`);
    if (!rows[0].exists) return [];
    const res = await client.query<AppliedRow>(
      'SELECT name, convention, checksum, status, deploy_id, error, rollback FROM runbook.schema_migrations ORDER BY name',
    );
    return res.rows;
  } finally {
    await client.end();
  }
}

/** Migrations not yet applied, plus notes on applied ones whose file changed since. */
export async function pendingMigrations(url: string, files: MigrationFile[]): Promise<{ pending: MigrationFile[]; notes: string[] }> {
  const rows = new Map((await trackingRows(url)).map((r) => [r.name, r]));
  const notes: string[] = [];
  const pending = files.filter((f) => {
    const row = rows.get(f.name);
    if (row?.status === 'applied' && row.checksum !== f.checksum) notes.push(`${f.name} was edited after it was applied`);
    return row?.status !== 'applied';
  });
  return { pending, notes };
}

async function inTransaction(client: Client, opts: RunOptions, sql: string, then?: () => Promise<unknown>): Promise<void> {
  await client.query('BEGIN');
  try {
    // SET LOCAL: the limits end with the transaction; values are integers we produced, not input text.
    await client.query(`SET LOCAL lock_timeout = ${Math.round(opts.lockTimeoutMs)}`);
    await client.query(`SET LOCAL statement_timeout = ${Math.round(opts.statementTimeoutMs)}`);
    await client.query(sql);
    await then?.();
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function applyMigrations(url: string, files: MigrationFile[], opts: RunOptions): Promise<RunResult> {
  const client = await connect(url);
  const result: RunResult = { applied: [], skipped: [] };
  try {
    await client.query(TRACKING);
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK_KEY]);
    for (const file of files) {
      opts.onStep?.(file.name);
      const { rows } = await client.query<AppliedRow>(
        'SELECT name, status, checksum, deploy_id, error, rollback FROM runbook.schema_migrations WHERE name = $1',
        [file.name],
      );
      const row = rows[0];
      if (row?.status === 'applied') {
        result.skipped.push(file.name);
        continue;
      }
      // A retry of the same deploy does not run a migration (and its rollback) a second time.
      if (row?.status === 'failed' && row.deploy_id === opts.appliedBy) {
        result.failed = {
          name: file.name,
          error: row.error ?? 'failed earlier',
          rollback: (row.rollback as 'ran' | 'failed' | 'none') ?? 'none',
        };
        break;
      }
      const sql = readFileSync(file.path, 'utf8');
      if (checksumOf(sql) !== file.checksum) {
        result.failed = {
          name: file.name,
          error: `${file.path} changed after the pre-deployment check listed it; start the deployment again`,
          rollback: 'none',
        };
        break;
      }
      const started = Date.now();
      try {
        // The tracking row commits with the migration, or neither does.
        await inTransaction(client, opts, sql, () =>
          client.query(
            `INSERT INTO runbook.schema_migrations (name, convention, checksum, status, deploy_id, duration_ms)
             VALUES ($1, $2, $3, 'applied', $4, $5)
             ON CONFLICT (name) DO UPDATE SET status = 'applied', checksum = EXCLUDED.checksum, deploy_id = EXCLUDED.deploy_id,
               error = NULL, rollback = NULL, duration_ms = EXCLUDED.duration_ms, applied_at = now()`,
            [file.name, file.convention, file.checksum, opts.appliedBy, Date.now() - started],
          ),
        );
        result.applied.push(file.name);
      } catch (err) {
        const failed: NonNullable<RunResult['failed']> = { name: file.name, error: messageOf(err), rollback: 'none' };
        if (file.rollbackPath) {
          try {
            await inTransaction(client, opts, readFileSync(file.rollbackPath, 'utf8'));
            failed.rollback = 'ran';
          } catch (rbErr) {
            failed.rollback = 'failed';
            failed.rollbackError = messageOf(rbErr);
          }
        }
        await client.query(
          `INSERT INTO runbook.schema_migrations (name, convention, checksum, status, deploy_id, error, rollback, duration_ms)
           VALUES ($1, $2, $3, 'failed', $4, $5, $6, $7)
           ON CONFLICT (name) DO UPDATE SET status = 'failed', checksum = EXCLUDED.checksum, deploy_id = EXCLUDED.deploy_id,
             error = EXCLUDED.error, rollback = EXCLUDED.rollback, duration_ms = EXCLUDED.duration_ms, applied_at = now()`,
          [file.name, file.convention, file.checksum, opts.appliedBy, failed.error, failed.rollback, Date.now() - started],
        );
        result.failed = failed;
        break;
      }
    }
    return result;
  } finally {
    await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await client.end();
  }
}

import type { Client, Pool, PoolClient } from 'pg';
import { quoteIdent } from '../db/sql';
import { Batch, HISTORY_SERVING, HOURLY_SHAPE, mulberry32, type AppWorld, type SampleApp, type Serving } from './sample-apps';

/**
 * The first start's history of a sample app: `days` of older rows (requests, messages with tokens
 * and cost, sign-ins, tasks, health checks), written once and marked in `runbook.sample_history`, so
 * the 90/30/7-day cleanups, the weekly and monthly reports and the backups have real work.
 */

type Db = Client | PoolClient | Pool;

/**
 * What Supabase provides around an app's own schema and a plain PostgreSQL lacks: the `auth` schema
 * the runbooks' SQL names (auth.users, auth.audit_log_entries with the runbook's error_msg, auth.uid()).
 * Only ever run on the embedded database that stands in for the Supabase project.
 */
export const SUPABASE_PLATFORM_SQL = `
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE IF NOT EXISTS auth.users (
  id uuid PRIMARY KEY,
  email text,
  email_confirmed_at timestamptz,
  last_sign_in_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS auth.audit_log_entries (
  instance_id uuid,
  id uuid PRIMARY KEY,
  payload json,
  ip_address varchar(64) NOT NULL DEFAULT '',
  error_msg text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_log_entries_created_at_idx ON auth.audit_log_entries (created_at);
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
`;

const MARKER = `
CREATE SCHEMA IF NOT EXISTS runbook;
CREATE TABLE IF NOT EXISTS runbook.sample_history (
  app text PRIMARY KEY,
  seed integer NOT NULL,
  days integer NOT NULL,
  history_until timestamptz NOT NULL,
  rows jsonb NOT NULL DEFAULT '{}'::jsonb,
  seeded_at timestamptz NOT NULL DEFAULT now()
)`;

const qualified = (table: string) => table.split('.').map(quoteIdent).join('.');

/** Inserts the batch's rows table by table (multi-row INSERTs), then its updates. Returns rows per table. */
export async function writeBatch(db: Db, batch: Batch): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of batch.list()) {
    const per = Math.max(1, Math.floor(30_000 / t.columns.length));
    for (let i = 0; i < t.rows.length; i += per) {
      const chunk = t.rows.slice(i, i + per);
      const params: unknown[] = [];
      const tuples = chunk.map((row) => `(${row.map((v) => `$${params.push(v)}`).join(', ')})`);
      await db.query(`INSERT INTO ${qualified(t.table)} (${t.columns.map(quoteIdent).join(', ')}) VALUES ${tuples.join(', ')}`, params);
    }
    counts[t.table] = (counts[t.table] ?? 0) + t.rows.length;
  }
  for (const u of batch.updates) await db.query(u.sql, u.params);
  return counts;
}

/** Every table the app writes exists in the database (its migrations ran). */
export async function hasTables(db: Db, app: SampleApp): Promise<boolean> {
  const { rows } = await db.query<{ missing: number }>(
    'SELECT count(*) FILTER (WHERE to_regclass(t) IS NULL)::int AS missing FROM unnest($1::text[]) AS t',
    [app.tables],
  );
  return rows[0].missing === 0;
}

export interface HistoryOptions {
  /** The history ends here (default now). */
  now?: Date;
  days?: number;
  seed?: number;
}

export const DEFAULT_HISTORY_DAYS = 120;
export const DEFAULT_SEED = 20251108;
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** The deployment serving at `at` in the history: one bad release (3 hours, 41 days ago), and a clean last day (no alert on start). */
function historyServing(at: number, now: number): Serving {
  const daysAgo = (now - at) / DAY;
  if (daysAgo < 1) return { ...HISTORY_SERVING, errorRate: 0 };
  if (daysAgo >= 41 && daysAgo < 41 + 3 / 24) {
    return { ...HISTORY_SERVING, deploymentId: 'dpl_history_bad_release', errorRate: 30, p50Ms: 420, p99Ms: 6400, healthy: false };
  }
  return HISTORY_SERVING;
}

/** Generates the history (pure: the same app, seed, days and clock give the same batches). */
export function* historyBatches(app: SampleApp, opts: Required<HistoryOptions>, flushAt = 10_000): Generator<Batch> {
  const rng = mulberry32(opts.seed);
  const now = opts.now.getTime();
  const start = now - opts.days * DAY;
  let batch = new Batch(app.tables);
  const world: AppWorld = { users: app.users(rng, opts.now, opts.days, batch), conversations: new Map() };
  const firstHour = Math.floor(start / HOUR) * HOUR;
  for (let hour = firstHour; hour < now; hour += HOUR) {
    const d = new Date(hour);
    const growth = 0.6 + 0.4 * ((hour - start) / (now - start));
    const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6 ? 0.7 : 1;
    const expected = app.historyRequestsPerDay * HOURLY_SHAPE[d.getUTCHours()] * growth * weekend;
    const n = Math.max(0, Math.round(expected * (0.8 + 0.4 * rng())));
    const times: number[] = [];
    for (let i = 0; i < n; i++) times.push(hour + Math.floor(rng() * HOUR));
    times.sort((a, b) => a - b);
    for (const t of times) if (t >= start && t < now) app.request(rng, new Date(t), historyServing(t, now), world, batch);
    if (app.healthCheck) {
      for (let t = hour; t < hour + HOUR; t += 5 * 60_000)
        if (t >= start && t < now) app.healthCheck(rng, new Date(t), historyServing(t, now), batch);
    }
    if (batch.count() >= flushAt) {
      yield batch;
      batch = new Batch(app.tables);
    }
  }
  batch.updates = [];
  yield batch;
}

/**
 * Writes the history once: the marker row and every history row commit in one transaction, so a crash
 * midway leaves nothing and the next start tries again. Returns rows per table, or undefined when the
 * history was written before.
 */
export async function seedHistory(db: Db, app: SampleApp, opts: HistoryOptions = {}): Promise<Record<string, number> | undefined> {
  const o: Required<HistoryOptions> = {
    now: opts.now ?? new Date(),
    days: opts.days ?? DEFAULT_HISTORY_DAYS,
    seed: opts.seed ?? DEFAULT_SEED,
  };
  await db.query(MARKER);
  await db.query('BEGIN');
  try {
    const claimed = await db.query(
      `INSERT INTO runbook.sample_history (app, seed, days, history_until) VALUES ($1, $2, $3, $4) ON CONFLICT (app) DO NOTHING RETURNING app`,
      [app.name, o.seed, o.days, o.now],
    );
    if (!claimed.rowCount) {
      await db.query('ROLLBACK');
      return undefined;
    }
    const totals: Record<string, number> = {};
    for (const batch of historyBatches(app, o)) {
      batch.updates = [];
      for (const [table, n] of Object.entries(await writeBatch(db, batch))) totals[table] = (totals[table] ?? 0) + n;
    }
    for (const sql of app.historyFixups) await db.query(sql);
    await db.query('UPDATE runbook.sample_history SET rows = $2 WHERE app = $1', [app.name, JSON.stringify(totals)]);
    await db.query('COMMIT');
    return totals;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

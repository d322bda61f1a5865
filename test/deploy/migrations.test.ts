import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { discoverMigrations } from '../../src/activities/deploy/migrations/discover';
import { applyMigrations, pendingMigrations, trackingRows } from '../../src/activities/deploy/migrations/runner';
import { scratchDatabase, type ScratchDatabase } from '../harness';

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'app-migrations-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const opts = { lockTimeoutMs: 500, statementTimeoutMs: 5_000, appliedBy: 'deploy-web-abc' };

describe('application migrations: both conventions, transactions, rollback files, tracking', () => {
  let db: ScratchDatabase;
  beforeEach(async () => {
    db = await scratchDatabase('appmig');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('reads dated files with rollback files and supabase/migrations in one time line, and names broken files', () => {
    const dir = folder({
      '2025-11-08-add-user-preferences.sql': 'CREATE TABLE prefs (id int);',
      '2025-11-08-add-user-preferences-rollback.sql': 'DROP TABLE IF EXISTS prefs;',
      '2025-11-09-missing-undo.sql': 'SELECT 1;',
      '2025-11-10-orphan-rollback.sql': 'SELECT 1;',
      'supabase/migrations/20251101000000_init.sql': 'CREATE TABLE base (id int);',
      'supabase/migrations/readme.sql': 'SELECT 1;',
      'supabase/rollbacks/20251101000000_init.sql': 'DROP TABLE base;',
    });
    const found = discoverMigrations(dir);
    expect(found.migrations.map((m) => [m.name, m.convention, Boolean(m.rollbackPath)])).toEqual([
      ['20251101000000_init', 'supabase', true],
      ['2025-11-08-add-user-preferences', 'runbook', true],
    ]);
    expect(found.problems).toEqual([
      expect.stringMatching(/2025-11-09-missing-undo\.sql: no rollback file/),
      expect.stringMatching(/2025-11-10-orphan-rollback\.sql: rollback file without its migration/),
      expect.stringMatching(/readme\.sql: not named/),
    ]);
    expect(discoverMigrations(path.join(dir, 'supabase', 'migrations')).migrations.map((m) => m.name)).toEqual(['20251101000000_init']);
  });

  it('applies pending migrations once each, recording them in the target database', async () => {
    const dir = folder({
      '2025-11-08-a.sql': 'CREATE TABLE a (id int); INSERT INTO a VALUES (1);',
      '2025-11-08-a-rollback.sql': 'DROP TABLE IF EXISTS a;',
      '2025-11-09-b.sql': 'CREATE TABLE b (id int);',
      '2025-11-09-b-rollback.sql': 'DROP TABLE IF EXISTS b;',
    });
    const files = discoverMigrations(dir).migrations;
    expect((await pendingMigrations(db.url, files)).pending.map((f) => f.name)).toEqual(['2025-11-08-a', '2025-11-09-b']);
    const first = await applyMigrations(db.url, files, opts);
    expect(first).toEqual({ applied: ['2025-11-08-a', '2025-11-09-b'], skipped: [] });
    const again = await applyMigrations(db.url, files, opts);
    expect(again).toEqual({ applied: [], skipped: ['2025-11-08-a', '2025-11-09-b'] });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM a')).rows[0].n).toBe(1);
    expect((await pendingMigrations(db.url, files)).pending).toEqual([]);
    expect((await trackingRows(db.url)).map((r) => [r.name, r.status, r.deploy_id])).toEqual([
      ['2025-11-08-a', 'applied', 'deploy-web-abc'],
      ['2025-11-09-b', 'applied', 'deploy-web-abc'],
    ]);
  });

  it('a failing migration is undone by its transaction, runs its rollback file and stops the rest', async () => {
    const dir = folder({
      '2025-11-08-a.sql': 'CREATE TABLE a (id int);',
      '2025-11-08-a-rollback.sql': 'DROP TABLE IF EXISTS a;',
      // Creates a table, then fails: the transaction takes the table away again.
      '2025-11-09-b.sql': 'CREATE TABLE b (id int);\nALTER TABLE b ADD COLUMN broken int REFERENCES nowhere(id);',
      // Observable proof that the rollback file ran.
      '2025-11-09-b-rollback.sql': 'DROP TABLE IF EXISTS b; CREATE TABLE rollback_ran_b ();',
      '2025-11-10-c.sql': 'CREATE TABLE c (id int);',
      '2025-11-10-c-rollback.sql': 'DROP TABLE IF EXISTS c;',
    });
    const files = discoverMigrations(dir).migrations;
    const result = await applyMigrations(db.url, files, opts);
    expect(result.applied).toEqual(['2025-11-08-a']);
    expect(result.failed).toMatchObject({ name: '2025-11-09-b', rollback: 'ran', error: expect.stringContaining('nowhere') });
    const tables = (
      await db.pool.query<{ t: string }>(`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
    ).rows.map((r) => r.t);
    expect(tables).toEqual(['a', 'rollback_ran_b']);
    expect((await trackingRows(db.url)).map((r) => [r.name, r.status, r.rollback])).toEqual([
      ['2025-11-08-a', 'applied', null],
      ['2025-11-09-b', 'failed', 'ran'],
    ]);
    // A retry of the same deploy reports the failure without running the migration or its rollback again.
    await db.pool.query('DROP TABLE rollback_ran_b');
    const retry = await applyMigrations(db.url, files, opts);
    expect(retry.failed).toMatchObject({ name: '2025-11-09-b', rollback: 'ran' });
    expect((await db.pool.query(`SELECT to_regclass('rollback_ran_b') AS t`)).rows[0].t).toBeNull();
  });

  it('gives up on a lock held elsewhere after lock_timeout instead of queueing behind it', async () => {
    await db.pool.query('CREATE TABLE busy (id int)');
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE');
      const dir = folder({
        '2025-11-08-alter-busy.sql': 'ALTER TABLE busy ADD COLUMN note text;',
        '2025-11-08-alter-busy-rollback.sql': 'SELECT 1;',
      });
      const started = Date.now();
      const result = await applyMigrations(db.url, discoverMigrations(dir).migrations, opts);
      expect(result.failed).toMatchObject({
        name: '2025-11-08-alter-busy',
        error: expect.stringMatching(/lock timeout/i),
        rollback: 'ran',
      });
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });
});

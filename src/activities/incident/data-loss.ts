import { Context } from '@temporalio/activity';
import type { Client as PgClient } from 'pg';
import { connect } from '../../db/connect';
import { quoteIdent } from '../../db/sql';
import { invalidInput } from '../../workflows/common';
import type { CopyBackResult, DestructiveSession } from '../../workflows/incident/data-loss-contract';
import { scratchServerUrl } from '../backup';
import type { ActivityDeps } from '../deps';
import { appAccess } from './services';

/** Rows copied per statement: one batch is read from the scratch copy and inserted in one INSERT … SELECT. */
const COPY_BATCH = 2000;

/** Data Loss Event: finding the destructive session, and copying the lost rows back from a restored scratch copy. */
export function createDataLossActivities(deps: Pick<ActivityDeps, 'config' | 'databaseUrl' | 'env'>) {
  const { withAppDatabase } = appAccess(deps);

  return {
    /** The service in front of a database (for read-only mode): the named one, else the first service using it. */
    async dataLossService(args: { database: string; service?: string }): Promise<{ service: string | null; platform: string | null }> {
      if (!deps.config.databases[args.database]) throw invalidInput(`database: no database "${args.database}" in the configuration`);
      const svc = args.service
        ? deps.config.services.find((s) => s.name === args.service)
        : deps.config.services.find((s) => s.database === args.database);
      if (args.service && !svc) throw invalidInput(`service: no service "${args.service}" in the configuration`);
      return { service: svc?.name ?? null, platform: svc?.platform ?? null };
    },

    /**
     * Sessions of this database whose statement deletes, truncates, drops or updates, running or holding an open
     * transaction: the "destructive process" the runbook stops. Our own connections are never listed.
     */
    async findDestructiveSessions(args: { database: string }): Promise<DestructiveSession[]> {
      return withAppDatabase(args.database, async (db) => {
        const { rows } = await db.query<DestructiveSession>(
          `SELECT a.pid, coalesce(a.usename, '') AS usename, coalesce(a.application_name, '') AS application,
                  a.state, left(a.query, 300) AS query,
                  round(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)))::int AS seconds
           FROM pg_stat_activity a
           WHERE a.datname = current_database() AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
             AND a.application_name NOT LIKE 'runbook-%'
             AND a.state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')
             AND a.query ~* '^\\s*(delete|truncate|drop|update)\\M'
           ORDER BY a.xact_start NULLS LAST, a.pid`,
        );
        return rows;
      });
    },

    /**
     * Copies rows that the restored scratch copy has and the live table lacks, by primary key, parents before
     * children, in one transaction: rows written since the backup stay as they are (ON CONFLICT DO NOTHING on the
     * key), identity columns keep their values. Fails, changing nothing, when a table has no primary key.
     */
    async copyBackMissingRows(args: {
      database: string;
      backupDatabase: string;
      scratchDatabase: string;
      tables: string[];
    }): Promise<CopyBackResult> {
      if (!args.tables.length) throw invalidInput('tables: nothing to copy back');
      const scratch = await connect(scratchServerUrl(deps, args.backupDatabase, args.scratchDatabase), 'runbook-data-loss', {
        statement_timeout: 300_000,
      });
      try {
        return await withAppDatabase(args.database, async (live) => {
          const ordered = await parentsFirst(live, args.tables);
          const result: CopyBackResult = { tables: [] };
          await live.query('BEGIN');
          try {
            for (const table of ordered) {
              const keys = await primaryKey(live, table);
              if (!keys.length) throw invalidInput(`tables: ${table} has no primary key; restore it with a full restore instead`);
              const cols = await insertableColumns(live, table);
              const list = cols.map(quoteIdent).join(', ');
              const order = keys.map(quoteIdent).join(', ');
              let inserted = 0;
              let read = 0;
              for (let offset = 0; ; offset += COPY_BATCH) {
                const batch = await scratch.query<{ rows: unknown[] | null }>(
                  `SELECT json_agg(t) AS rows FROM (SELECT ${list} FROM ${table} ORDER BY ${order} LIMIT ${COPY_BATCH} OFFSET ${offset}) t`,
                );
                const rows = batch.rows[0].rows ?? [];
                if (!rows.length) break;
                read += rows.length;
                const r = await live.query(
                  `INSERT INTO ${table} (${list}) OVERRIDING SYSTEM VALUE
                   SELECT ${list} FROM json_populate_recordset(NULL::${table}, $1::json)
                   ON CONFLICT (${order}) DO NOTHING`,
                  [JSON.stringify(rows)],
                );
                inserted += r.rowCount ?? 0;
                Context.current().heartbeat({ table, read, inserted });
                if (rows.length < COPY_BATCH) break;
              }
              result.tables.push({ table, inserted, backupRows: read });
            }
            await live.query('COMMIT');
          } catch (err) {
            await live.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
          // Identity sequences must not hand out the keys just copied back.
          for (const table of ordered) await resetIdentities(live, table);
          return result;
        });
      } finally {
        await scratch.end().catch(() => undefined);
      }
    },
  };
}

/** `tables` ordered so that a table comes after every table among them it references. */
async function parentsFirst(db: PgClient, tables: string[]): Promise<string[]> {
  const { rows } = await db.query<{ child: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
     FROM pg_constraint c
     WHERE c.contype = 'f' AND c.conrelid = ANY ($1::regclass[]) AND c.confrelid = ANY ($1::regclass[]) AND c.conrelid <> c.confrelid`,
    [tables],
  );
  const canonical = await db.query<{ name: string }>(`SELECT unnest($1::regclass[])::text AS name`, [tables]);
  const names = canonical.rows.map((r) => r.name);
  const ordered: string[] = [];
  const visit = (t: string, path: Set<string>) => {
    if (ordered.includes(t) || path.has(t)) return;
    path.add(t);
    for (const e of rows) if (e.child === t) visit(e.parent, path);
    ordered.push(t);
  };
  for (const t of names) visit(t, new Set());
  return ordered;
}

async function primaryKey(db: PgClient, table: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i
     JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, n) ON true
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.n`,
    [table],
  );
  return rows.map((r) => r.name);
}

/** Every column an INSERT may name: not dropped, not generated. */
async function insertableColumns(db: PgClient, table: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute
     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    [table],
  );
  return rows.map((r) => r.name);
}

async function resetIdentities(db: PgClient, table: string): Promise<void> {
  const { rows } = await db.query<{ col: string; seq: string }>(
    `SELECT attname AS col, pg_get_serial_sequence($1, attname) AS seq FROM pg_attribute
     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND pg_get_serial_sequence($1, attname) IS NOT NULL`,
    [table],
  );
  for (const r of rows) {
    await db.query(`SELECT setval($1, GREATEST((SELECT max(${quoteIdent(r.col)}) FROM ${table}), 1))`, [r.seq]);
  }
}

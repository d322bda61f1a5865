import type { Client, ClientBase } from 'pg';
import { connect } from '../../db/connect';
import type { TableMismatch, TableStats } from '../../workflows/backup/contract';

/** Row alias unlikely to collide with a column name (a column would win over the alias in `alias::text`). */
const ROW = '__runbook_row';

interface TableRow {
  name: string;
  pk: string[] | null;
  /** Size estimate (pg_class.relpages), to check the largest tables first. */
  pages: number;
}

/**
 * The tables pg_dump writes data for: ordinary tables (partitions included) outside the system schemas,
 * except tables that belong to an extension.
 */
const TABLES_SQL = `
SELECT format('%I.%I', n.nspname, c.relname) AS name,
       (SELECT array_agg(format('%I', a.attname) ORDER BY array_position(i.indkey::int2[], a.attnum))
          FROM pg_index i
          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
         WHERE i.indrelid = c.oid AND i.indisprimary) AS pk,
       c.relpages AS pages
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname !~ '^pg_(toast|temp_)'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1`;

/**
 * Row counts of every dumped table, plus an ordered md5 (md5 of the per-row md5s in primary-key order,
 * so the server never builds one huge string) for tables with a primary key and at most `md5MaxRows` rows.
 * `md5For` restricts the md5s to those tables (a verification computes exactly what the manifest has).
 * Run it inside the transaction whose snapshot pg_dump uses, so the numbers describe the dump.
 */
export interface TableStatsOptions {
  md5MaxRows: number;
  md5For?: ReadonlySet<string>;
  tables?: readonly string[];
  onTable?: () => void;
}

export async function tableStats(client: ClientBase, opts: TableStatsOptions): Promise<TableStats[]> {
  const stats: TableStats[] = [];
  for (const t of await listTables(client, opts.tables)) {
    stats.push(await statsOfTable(client, t, opts));
    opts.onTable?.();
  }
  return stats;
}

/**
 * `tableStats` on `connections` connections at once, all reading the snapshot of the first (exported and
 * imported), so the figures are those of one instant even on a live database; largest tables first.
 * `signal` ends the connections, which cancels their queries.
 */
export async function parallelTableStats(
  url: string,
  opts: TableStatsOptions & { connections: number; signal?: AbortSignal },
): Promise<TableStats[]> {
  const clients: Client[] = [];
  const endAll = () => Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  const onAbort = () => void endAll();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const leader = await connect(url, 'runbook-verify');
    clients.push(leader);
    await leader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snapshot = (await leader.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0].id;
    const tables = await listTables(leader, opts.tables);
    for (let i = 1; i < Math.min(opts.connections, tables.length); i++) {
      const c = await connect(url, 'runbook-verify');
      clients.push(c);
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await c.query(`SET TRANSACTION SNAPSHOT '${snapshot.replace(/'/g, "''")}'`);
      await c.query('SET LOCAL row_security = off');
    }
    const queue = [...tables].sort((a, b) => b.pages - a.pages);
    const results = new Map<string, TableStats>();
    await Promise.all(
      clients.map(async (c) => {
        for (let t = queue.shift(); t; t = queue.shift()) {
          results.set(t.name, await statsOfTable(c, t, opts));
          opts.onTable?.();
        }
      }),
    );
    opts.signal?.throwIfAborted();
    return tables.map((t) => results.get(t.name)!);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await endAll();
  }
}

/** The dumped tables (of `only`, when given), with their primary keys; row security off, like pg_dump. */
async function listTables(client: ClientBase, only?: readonly string[]): Promise<TableRow[]> {
  // Like pg_dump: fail loudly instead of silently counting fewer rows under row-level security.
  await client.query('SET LOCAL row_security = off');
  const { rows } = await client.query<TableRow>(TABLES_SQL);
  const wanted = only ? new Set(only) : undefined;
  return rows.filter((t) => !wanted || wanted.has(t.name));
}

async function statsOfTable(client: ClientBase, t: TableRow, opts: TableStatsOptions): Promise<TableStats> {
  const count = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.name}`);
  const entry: TableStats = { table: t.name, rows: Number(count.rows[0].n) };
  const md5Wanted = opts.md5For ? opts.md5For.has(t.name) : t.pk !== null && entry.rows <= opts.md5MaxRows;
  if (md5Wanted && t.pk) {
    const order = t.pk.map((c) => `${ROW}.${c}`).join(', ');
    const md5 = await client.query<{ md5: string }>(
      `SELECT md5(coalesce(string_agg(md5(${ROW}::text), '' ORDER BY ${order}), '')) AS md5 FROM ${t.name} ${ROW}`,
    );
    entry.md5 = md5.rows[0].md5;
  }
  return entry;
}

/** Tables whose count or md5 differ from the manifest, and manifest tables that are missing. */
export function compareTableStats(expected: readonly TableStats[], actual: readonly TableStats[]): TableMismatch[] {
  const byName = new Map(actual.map((t) => [t.table, t]));
  const mismatches: TableMismatch[] = [];
  for (const e of expected) {
    const a = byName.get(e.table);
    if (!a) {
      mismatches.push({ table: e.table, expectedRows: e.rows });
      continue;
    }
    const rowsDiffer = a.rows !== e.rows;
    const md5Differs = e.md5 !== undefined && a.md5 !== e.md5;
    if (rowsDiffer || md5Differs) {
      mismatches.push({
        table: e.table,
        expectedRows: e.rows,
        actualRows: a.rows,
        ...(e.md5 !== undefined ? { expectedMd5: e.md5, actualMd5: a.md5 } : {}),
      });
    }
  }
  return mismatches;
}

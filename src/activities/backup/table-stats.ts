import type { ClientBase } from 'pg';
import type { TableMismatch, TableStats } from '../../workflows/backup/contract';

/** Row alias unlikely to collide with a column name (a column would win over the alias in `alias::text`). */
const ROW = '__runbook_row';

interface TableRow {
  name: string;
  pk: string[] | null;
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
         WHERE i.indrelid = c.oid AND i.indisprimary) AS pk
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
export async function tableStats(
  client: ClientBase,
  opts: { md5MaxRows: number; md5For?: ReadonlySet<string>; tables?: readonly string[]; onTable?: () => void },
): Promise<TableStats[]> {
  // Like pg_dump: fail loudly instead of silently counting fewer rows under row-level security.
  await client.query('SET LOCAL row_security = off');
  const { rows } = await client.query<TableRow>(TABLES_SQL);
  const wanted = opts.tables ? new Set(opts.tables) : undefined;
  const stats: TableStats[] = [];
  for (const t of rows) {
    if (wanted && !wanted.has(t.name)) continue;
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
    stats.push(entry);
    opts.onTable?.();
  }
  return stats;
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

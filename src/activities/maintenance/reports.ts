import type { Client, Pool } from 'pg';
import type { RunbookConfig } from '../../config/schema';
import { redactQuery } from '../../db/sql';
import type { ReportName, StepOutcome } from '../../workflows/maintenance/contract';
import { formatBytes, mdTable } from './markdown';

/**
 * The runbooks' inspection queries (Common Database Tasks, Performance Tuning, the second runbook's
 * performance-check SQL and security audit), each turned into one report section.
 */
export interface ReportContext {
  /** Connected to the database being reported on. */
  client: Client;
  /** Its key in `config.databases`. */
  database: string;
  ops: Pool;
  config: RunbookConfig;
}

export async function runReport(name: ReportName, ctx: ReportContext, days: number): Promise<StepOutcome> {
  switch (name) {
    case 'table-sizes':
      return tableSizes(ctx);
    case 'connections':
      return connections(ctx);
    case 'slow-queries':
      return slowQueries(ctx);
    case 'seq-scans':
      return seqScans(ctx);
    case 'size-growth':
      return sizeGrowth(ctx);
    case 'security-audit':
      return securityAudit(ctx, days);
    case 'cost-per-day':
      return costPerDay(ctx, days);
  }
}

/** Common Database Tasks → Check Table Sizes. */
async function tableSizes({ client, database }: ReportContext): Promise<StepOutcome> {
  const { rows } = await client.query<{ schemaname: string; tablename: string; bytes: string; rows: string }>(
    `SELECT t.schemaname, t.tablename,
            pg_total_relation_size(format('%I.%I', t.schemaname, t.tablename)::regclass)::text AS bytes,
            COALESCE(s.n_live_tup, 0)::text AS rows
       FROM pg_tables t LEFT JOIN pg_stat_user_tables s ON s.schemaname = t.schemaname AND s.relname = t.tablename
      WHERE t.schemaname NOT IN ('pg_catalog', 'information_schema')
      ORDER BY pg_total_relation_size(format('%I.%I', t.schemaname, t.tablename)::regclass) DESC
      LIMIT 20`,
  );
  const total = rows.reduce((n, r) => n + Number(r.bytes), 0);
  return {
    status: 'ok',
    summary: rows.length
      ? `${rows.length} largest tables, ${formatBytes(total)} together; largest ${rows[0].schemaname}.${rows[0].tablename}`
      : 'no tables',
    markdown: rows.length
      ? mdTable(
          ['table', 'size', 'live rows'],
          rows.map((r) => [`${r.schemaname}.${r.tablename}`, formatBytes(Number(r.bytes)), Number(r.rows)]),
        )
      : `Database "${database}" has no tables.`,
    data: { tables: rows.map((r) => ({ table: `${r.schemaname}.${r.tablename}`, bytes: Number(r.bytes), rows: Number(r.rows) })) },
  };
}

/** Check Active Connections / Database Connection Pool Exhaustion: by state, against max_connections and the pool. */
async function connections({ client, database, config }: ReportContext): Promise<StepOutcome> {
  const { rows } = await client.query<{ state: string; n: number }>(
    `SELECT COALESCE(state, 'background') AS state, count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() GROUP BY 1 ORDER BY 2 DESC`,
  );
  const { rows: totals } = await client.query<{ total: number; max: number }>(
    `SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS total,
            current_setting('max_connections')::int AS max`,
  );
  const { total, max } = totals[0];
  const pool = config.databases[database]?.poolSize;
  const t = config.thresholds.dbConnections;
  const ofPool = pool ? (100 * total) / pool : undefined;
  const level =
    ofPool === undefined
      ? ''
      : ofPool > t.critical
        ? ' — above the critical threshold'
        : ofPool > t.warning
          ? ' — above the warning threshold'
          : '';
  return {
    status: 'ok',
    summary: `${total} of ${max} max_connections${pool ? `, ${ofPool!.toFixed(0)} % of the pool of ${pool}` : ''}${level}`,
    markdown: [
      mdTable(
        ['state', 'connections'],
        rows.map((r) => [r.state, r.n]),
      ),
      '',
      `Cluster-wide client connections: ${total} of max_connections ${max} (${((100 * total) / max).toFixed(0)} %).` +
        (pool ? ` Pool size ${pool}: ${ofPool!.toFixed(0)} % (warning at ${t.warning} %, critical at ${t.critical} %).` : ''),
    ].join('\n'),
    data: { byState: Object.fromEntries(rows.map((r) => [r.state, r.n])), total, maxConnections: max, poolSize: pool },
  };
}

/** Performance Tuning → Identify Slow Queries; says so plainly when pg_stat_statements is not there. */
async function slowQueries({ client, database, config }: ReportContext): Promise<StepOutcome> {
  const { rows: ext } = await client.query('SELECT extversion FROM pg_extension WHERE extname = $1', ['pg_stat_statements']);
  if (!ext.length) {
    return {
      status: 'skipped',
      summary: `pg_stat_statements is not installed in database "${database}": no slow-query report`,
      markdown:
        `The pg_stat_statements extension is not installed in database "${database}", so slow queries cannot be listed. ` +
        'Enable it with `CREATE EXTENSION pg_stat_statements;` (self-hosted servers also need ' +
        "`shared_preload_libraries = 'pg_stat_statements'` and a restart; Supabase has it preloaded).",
      data: { extension: 'missing' },
    };
  }
  const threshold = config.maintenance.slowQueryMs;
  let rows: { query: string; calls: string; mean_ms: string; total_ms: string }[];
  try {
    ({ rows } = await client.query(
      `SELECT left(query, 4000) AS query, calls::text,
              round(mean_exec_time::numeric, 1)::text AS mean_ms, round(total_exec_time::numeric)::text AS total_ms
         FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND mean_exec_time > $1
        ORDER BY mean_exec_time DESC LIMIT 10`,
      [threshold],
    ));
  } catch (err) {
    return {
      status: 'skipped',
      summary: `pg_stat_statements is installed but not loaded in database "${database}": ${(err as Error).message}`,
      markdown: `pg_stat_statements is installed in "${database}" but the server did not load it (${(err as Error).message}). Add it to shared_preload_libraries and restart.`,
      data: { extension: 'not-loaded' },
    };
  }
  // pg_stat_statements keeps utility statements (ALTER ROLE … PASSWORD '…') with their literals.
  for (const r of rows) r.query = redactQuery(r.query, 240);
  return {
    status: 'ok',
    summary: rows.length
      ? `${rows.length} queries slower than ${threshold} ms on average`
      : `no query slower than ${threshold} ms on average`,
    markdown: rows.length
      ? mdTable(
          ['mean ms', 'calls', 'total ms', 'query'],
          rows.map((r) => [r.mean_ms, r.calls, r.total_ms, `\`${r.query}\``]),
        )
      : undefined,
    data: { extension: 'present', queries: rows.length },
  };
}

/** Missing Indexes / Add Missing Indexes: tables read mostly by sequential scans. */
async function seqScans({ client }: ReportContext): Promise<StepOutcome> {
  const { rows } = await client.query<{ tbl: string; seq_scan: string; idx_scan: string; ratio: string; live: string }>(
    `SELECT schemaname || '.' || relname AS tbl, seq_scan::text, COALESCE(idx_scan, 0)::text AS idx_scan,
            (seq_scan / (COALESCE(idx_scan, 0) + 1))::text AS ratio, n_live_tup::text AS live
       FROM pg_stat_user_tables WHERE seq_scan > 100
      ORDER BY seq_scan / (COALESCE(idx_scan, 0) + 1) DESC LIMIT 10`,
  );
  const noIndex = rows.filter((r) => Number(r.seq_scan) > 1000 && Number(r.idx_scan) === 0);
  return {
    status: 'ok',
    summary: rows.length
      ? `${rows.length} tables mostly read by sequential scans${noIndex.length ? `; ${noIndex.map((r) => r.tbl).join(', ')} never use an index` : ''}`
      : 'no table with more than 100 sequential scans',
    markdown: rows.length
      ? mdTable(
          ['table', 'seq scans', 'index scans', 'ratio', 'live rows', 'note'],
          rows.map((r) => [
            r.tbl,
            r.seq_scan,
            r.idx_scan,
            r.ratio,
            r.live,
            noIndex.includes(r) ? 'no index used: consider CREATE INDEX CONCURRENTLY' : '',
          ]),
        )
      : undefined,
    data: { tables: rows.map((r) => r.tbl), withoutIndex: noIndex.map((r) => r.tbl) },
  };
}

/** Monthly capacity planning: today's size, stored in the ops database, against the size a month ago. */
async function sizeGrowth({ client, database, ops }: ReportContext): Promise<StepOutcome> {
  const { rows } = await client.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes');
  const bytes = Number(rows[0].bytes);
  const { rows: today } = await ops.query<{ measured_on: string }>(
    `INSERT INTO database_size_history (database, measured_on, size_bytes) VALUES ($1, current_date, $2)
     ON CONFLICT (database, measured_on) DO UPDATE SET size_bytes = EXCLUDED.size_bytes, measured_at = now()
     RETURNING measured_on::text`,
    [database, bytes],
  );
  // The latest measurement at least a month old, else the oldest there is.
  const { rows: past } = await ops.query<{ measured_on: string; size_bytes: string; month_old: boolean }>(
    `(SELECT measured_on::text, size_bytes::text, true AS month_old FROM database_size_history
       WHERE database = $1 AND measured_on <= current_date - interval '1 month' ORDER BY measured_on DESC LIMIT 1)
     UNION ALL
     (SELECT measured_on::text, size_bytes::text, false FROM database_size_history
       WHERE database = $1 AND measured_on < current_date ORDER BY measured_on LIMIT 1)`,
    [database],
  );
  const base = past[0];
  if (!base) {
    return {
      status: 'ok',
      summary: `${formatBytes(bytes)}; first measurement (${today[0].measured_on}), growth is reported from next month`,
      data: { bytes },
    };
  }
  const delta = bytes - Number(base.size_bytes);
  const pct = Number(base.size_bytes) > 0 ? (100 * delta) / Number(base.size_bytes) : 0;
  const since = base.month_old ? `since ${base.measured_on}` : `since the first measurement on ${base.measured_on} (less than a month ago)`;
  return {
    status: 'ok',
    summary: `${formatBytes(bytes)}, ${delta >= 0 ? '+' : ''}${formatBytes(delta)} (${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %) ${since}`,
    data: { bytes, previousBytes: Number(base.size_bytes), previousDate: base.measured_on, growthBytes: delta },
  };
}

async function tableWithColumns(client: Client, table: string, columns: string[]): Promise<{ exists: boolean; missing: string[] }> {
  const { rows } = await client.query<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [table]);
  if (!rows[0]?.oid) return { exists: false, missing: columns };
  const { rows: cols } = await client.query<{ attname: string }>(
    'SELECT attname FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped',
    [rows[0].oid],
  );
  const have = new Set(cols.map((c) => c.attname));
  return { exists: true, missing: columns.filter((c) => !have.has(c)) };
}

const AUDIT_ACTIONS = ['auth_failure', 'security_violation', 'suspicious_activity', 'rls_violation'];

/** Weekly Security Audit and the performance check's RLS violations, when the audit table exists. */
async function securityAudit({ client, database, config }: ReportContext, days: number): Promise<StepOutcome> {
  const table = config.maintenance.auditTable;
  const shape = await tableWithColumns(client, table, ['action_type', 'created_at']);
  if (!shape.exists || shape.missing.length) {
    return {
      status: 'skipped',
      summary: shape.exists
        ? `${table} in "${database}" lacks ${shape.missing.join(', ')}: no security audit`
        : `no ${table} table in database "${database}": no security audit`,
    };
  }
  const { rows } = await client.query<{ action_type: string; total: number; last_day: number; latest: Date }>(
    `SELECT action_type, count(*)::int AS total,
            count(*) FILTER (WHERE created_at > now() - interval '24 hours')::int AS last_day, max(created_at) AS latest
       FROM ${table}
      WHERE created_at > now() - $1::int * interval '1 day' AND action_type = ANY($2)
      GROUP BY action_type ORDER BY total DESC`,
    [days, AUDIT_ACTIONS],
  );
  const count = (a: string) => rows.find((r) => r.action_type === a);
  const rls = count('rls_violation')?.last_day ?? 0;
  const total = rows.reduce((n, r) => n + r.total, 0);
  return {
    status: 'ok',
    summary: `${total} security events in ${days} d (${AUDIT_ACTIONS.map((a) => `${a} ${count(a)?.total ?? 0}`).join(', ')}); RLS violations in 24 h: ${rls}`,
    markdown: mdTable(
      ['action type', `last ${days} d`, 'last 24 h', 'latest'],
      AUDIT_ACTIONS.map((a) => [a, count(a)?.total ?? 0, count(a)?.last_day ?? 0, count(a)?.latest?.toISOString()]),
    ),
    data: { total, byAction: Object.fromEntries(AUDIT_ACTIONS.map((a) => [a, count(a)?.total ?? 0])), rlsViolations24h: rls },
  };
}

/** Check cost dashboard / Cost Alert: AI cost per day, when the messages table has a cost column. */
async function costPerDay({ client, database, config }: ReportContext, days: number): Promise<StepOutcome> {
  const table = config.maintenance.messagesTable;
  const shape = await tableWithColumns(client, table, ['cost', 'created_at']);
  if (!shape.exists || shape.missing.length) {
    return {
      status: 'skipped',
      summary: shape.exists
        ? `${table} in "${database}" has no ${shape.missing.join('/')} column: no cost report`
        : `no ${table} table in database "${database}": no cost report`,
    };
  }
  const { rows } = await client.query<{ day: string; cost: string; messages: number }>(
    `SELECT created_at::date::text AS day, COALESCE(sum(cost), 0)::numeric(14, 2)::text AS cost, count(*)::int AS messages
       FROM ${table} WHERE created_at >= current_date - $1::int
      GROUP BY 1 ORDER BY 1 DESC`,
    [days],
  );
  const limit = config.maintenance.dailyCostLimit;
  const over = rows.filter((r) => Number(r.cost) > limit);
  const total = rows.reduce((n, r) => n + Number(r.cost), 0);
  return {
    status: 'ok',
    summary: `$${total.toFixed(2)} over ${rows.length} days${over.length ? `; above $${limit}/day on ${over.map((r) => r.day).join(', ')}` : ''}`,
    markdown: rows.length
      ? mdTable(
          ['day', 'cost ($)', 'messages'],
          rows.map((r) => [r.day, r.cost, r.messages]),
        )
      : undefined,
    data: { days: rows.map((r) => ({ day: r.day, cost: Number(r.cost), messages: r.messages })), overLimit: over.map((r) => r.day) },
  };
}

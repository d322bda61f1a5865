import { connect } from '../../db/connect';

/**
 * The sql provider: a parameterised query against a configured database, run read-only with a
 * statement timeout, whose first column of its first row is the value. $1 is the window in seconds,
 * $2 the deployment id (NULL outside a watch). No row, or NULL (e.g. x / NULLIF(count, 0) over a quiet
 * hour), is no data, never a division by zero.
 */

/** The parameters a query refers to ($1, $2): PostgreSQL refuses values for parameters a statement does not have. */
export function sqlParams(query: string, vars: { windowMs: number; deployment?: string }): (number | string | null)[] {
  const used = [...query.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
  const highest = used.length ? Math.max(...used) : 0;
  if (highest > 2) throw new Error(`the query uses $${highest}; only $1 (window in seconds) and $2 (deployment id) exist`);
  return [vars.windowMs / 1000, vars.deployment ?? null].slice(0, highest);
}

export async function querySqlMetric(
  databaseUrl: string,
  query: string,
  params: (number | string | null)[],
  opts: { timeoutMs: number },
): Promise<number | null> {
  const client = await connect(databaseUrl, 'runbook-metrics', { statement_timeout: opts.timeoutMs });
  try {
    await client.query('BEGIN READ ONLY');
    const { rows, fields } = await client.query({ text: query, values: params, rowMode: 'array' });
    await client.query('ROLLBACK');
    if (!fields.length) throw new Error('the query returns no column; it must return one number');
    const v = (rows[0] as unknown[] | undefined)?.[0];
    if (v === undefined || v === null) return null;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) throw new Error(`the query's first column is not a number: ${String(v).slice(0, 60)}`);
    return n;
  } finally {
    await client.end().catch(() => undefined);
  }
}

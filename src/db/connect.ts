import { Client, Pool, type ClientConfig, type PoolConfig } from 'pg';

/*
 * pg emits 'error' on a client or pool whose idle connection the server ends (restart, failover,
 * pg_terminate_backend, DROP DATABASE … FORCE). Without a listener that event kills the process;
 * with one, the error surfaces on the next query instead.
 */
const ignore = () => undefined;

/** A dedicated connection to a database, named so it is recognisable in pg_stat_activity. */
export async function connect(
  url: string,
  applicationName: string,
  opts: Omit<ClientConfig, 'connectionString' | 'application_name'> = {},
): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: applicationName, ...opts });
  client.on('error', ignore);
  await client.connect();
  return client;
}

/**
 * A pool whose connections may be ended by the server without taking the process down: idle ones (the
 * pool's 'error') and checked-out ones, which pg-pool leaves without a listener while a caller holds them
 * between two queries (a transaction, a ledger connection); the next query on such a client fails instead,
 * and the pool drops it on release.
 */
export function createPool(url: string, opts: Omit<PoolConfig, 'connectionString'> = {}): Pool {
  const pool = new Pool({ connectionString: url, ...opts });
  pool.on('error', ignore);
  pool.on('connect', (client) => client.on('error', ignore));
  return pool;
}

/** PostgreSQL error classes that mean the connection, not the statement, failed: 08 (connection exception), 57P01–57P03 (shutdown, starting up). */
const CONNECTION_SQLSTATE = /^(08...|57P0[123])$/;
const CONNECTION_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN']);

/** Whether a query failed because the server went away (a restart, a failover), so the same query may succeed later. */
export function isConnectionLost(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (CONNECTION_SQLSTATE.test(e.code) || CONNECTION_ERRNO.has(e.code))) return true;
  return (
    typeof e.message === 'string' && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(e.message)
  );
}

/**
 * Runs a query again while the server is briefly away (a PostgreSQL restart takes seconds): for the records
 * that must follow an effect already made, where giving up would leave the effect unrecorded. Other
 * errors, and an outage longer than `attempts` tries (about 15 s by default), are thrown.
 */
export async function retryWhileConnectionLost<T>(query: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await query();
    } catch (err) {
      if (attempt >= attempts || !isConnectionLost(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** (attempt - 1), 5_000)));
    }
  }
}

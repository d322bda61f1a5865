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

/** A pool whose idle connections may be ended by the server without taking the process down. */
export function createPool(url: string, opts: Omit<PoolConfig, 'connectionString'> = {}): Pool {
  const pool = new Pool({ connectionString: url, ...opts });
  pool.on('error', ignore);
  return pool;
}

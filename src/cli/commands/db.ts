import type { Command } from 'commander';
import { DEFAULT_DATA_DIR, runningStack } from '../../stack/state';
import { migrateOpsDatabase } from '../../stack/migrate';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';

/** host:port/database, never the credentials. */
export function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return '(unparseable OPS_DATABASE_URL)';
  }
}

export function register(program: Command, ctx: CliContext): void {
  const db = program.command('db').description("the service's own ops database");
  db.command('migrate')
    .description(
      'apply the pending ops-schema migrations to OPS_DATABASE_URL (an external database; `npm start` migrates its own); safe to re-run',
    )
    .action(async () => {
      const url = ctx.env.OPS_DATABASE_URL || runningStack(ctx.env.RUNBOOK_DATA_DIR || DEFAULT_DATA_DIR)?.opsDatabaseUrl;
      if (!url) throw new CliError(EXIT.USAGE, 'OPS_DATABASE_URL is not set: point it at the ops database to migrate');
      let applied: string[];
      try {
        applied = await migrateOpsDatabase(url);
      } catch (err) {
        const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
        throw new CliError(EXIT.FAILED, `ops schema migrations failed on ${where(url)}: ${message}`);
      }
      ctx.out.result({ database: where(url), applied }, (r) =>
        r.applied.length
          ? [...r.applied.map((m) => `applied ${m}`), `ops database at ${r.database}: ${r.applied.length} migration(s) applied`]
          : [`ops database at ${r.database}: schema already up to date`],
      );
    });
}

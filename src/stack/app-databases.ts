import { readFileSync } from 'node:fs';
import path from 'node:path';
import { discoverMigrations } from '../activities/deploy/migrations/discover';
import { applyMigrations } from '../activities/deploy/migrations/runner';
import { connect } from '../db/connect';
import { DEFAULT_HISTORY_DAYS, SUPABASE_PLATFORM_SQL, hasTables, seedHistory } from '../sandbox/history';
import { sampleAppFor, type SampleApp } from '../sandbox/sample-apps';
import type { Sandbox } from '../sandbox';
import { platformStateOf, startTraffic, trafficRateFromEnv, type Traffic } from '../sandbox/traffic';
import { StartError, type Component, type Stack } from './components';

/**
 * `npm start`'s app databases: each embedded database a service uses gets the app's schema from
 * `deploy.migrationsDir` (the same runner and tracking table as a deploy, so a later deploy does not
 * apply them again), and, for the two sample apps in examples/, a first-start history. Databases from
 * DATABASE_URL & co. are the user's own and are never touched.
 */

export interface PreparedAppDatabase {
  database: string;
  url: string;
  /** The sample app whose schema it has, when it is one of examples/. */
  app?: SampleApp;
  /** Sandbox project of the service using this database (its production serves the app's traffic). */
  projectId: string;
}

const prepared = new WeakMap<Stack, PreparedAppDatabase[]>();

/** What the app-databases component prepared for this stack (nothing before it ran, or with external databases). */
export function preparedAppDatabases(stack: Stack): PreparedAppDatabase[] {
  return prepared.get(stack) ?? [];
}

/** RUNBOOK_HISTORY_DAYS: days of first-start history (default 120; 0 = none). */
export function historyDaysFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.RUNBOOK_HISTORY_DAYS;
  if (raw === undefined || raw === '') return DEFAULT_HISTORY_DAYS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 3650)
    throw new StartError(`RUNBOOK_HISTORY_DAYS: must be a whole number of days from 0 to 3650, got "${raw}"`);
  return n;
}

/** A URL on the embedded cluster of this data dir (its port file), as opposed to one the user set. */
function isEmbedded(stack: Stack, url: string): boolean {
  if (!stack.databases?.embedded) return false;
  try {
    const port = readFileSync(path.join(stack.dataDir, 'postgres', 'port'), 'utf8').trim();
    const u = new URL(url);
    return u.hostname === '127.0.0.1' && u.port === port;
  } catch {
    return false;
  }
}

export interface PrepareResult {
  applied: string[];
  skipped: string[];
  failed?: string;
  problems: string[];
  app?: SampleApp;
  history?: Record<string, number>;
}

/**
 * The Supabase stand-in (auth schema), the migrations in `migrationsDir`, and the sample app's history
 * once. Used by `npm start` on embedded databases and by the tests on scratch ones.
 */
export async function prepareAppDatabase(
  url: string,
  migrationsDir: string,
  opts: { historyDays?: number; now?: Date; seed?: number } = {},
): Promise<PrepareResult> {
  const client = await connect(url, 'runbook-app-databases');
  try {
    await client.query(SUPABASE_PLATFORM_SQL);
  } finally {
    await client.end();
  }
  const found = discoverMigrations(migrationsDir);
  const run = await applyMigrations(url, found.migrations, {
    lockTimeoutMs: 5_000,
    statementTimeoutMs: 120_000,
    appliedBy: `npm start ${new Date().toISOString()}`,
  });
  const result: PrepareResult = {
    applied: run.applied,
    skipped: run.skipped,
    problems: found.problems,
    failed: run.failed ? `${run.failed.name}: ${run.failed.error} (rollback ${run.failed.rollback})` : undefined,
    app: sampleAppFor(migrationsDir),
  };
  const days = opts.historyDays ?? DEFAULT_HISTORY_DAYS;
  if (result.app && !result.failed && days > 0) {
    const db = await connect(url, 'runbook-app-databases');
    try {
      if (await hasTables(db, result.app)) result.history = await seedHistory(db, result.app, { days, now: opts.now, seed: opts.seed });
    } finally {
      await db.end();
    }
  }
  return result;
}

export const appDatabases: Component = {
  name: 'app databases',
  async start(stack) {
    const { config, log } = stack;
    const dir = config.deploy.migrationsDir;
    if (!stack.databases || !dir) return;
    const days = historyDaysFromEnv(stack.env);
    const list: PreparedAppDatabase[] = [];
    const banner: [string, string][] = [];
    for (const [database, url] of Object.entries(stack.databases.urls)) {
      const service = config.services.find((s) => s.database === database);
      if (database === 'ops' || !service || !isEmbedded(stack, url)) continue;
      const say = (msg: string) => log.info({ component: 'app-databases' }, `${database}: ${msg}`);
      const r = await prepareAppDatabase(url, path.resolve(dir), { historyDays: days });
      for (const p of r.problems) log.warn({ component: 'app-databases' }, `${database}: ${p}`);
      if (r.applied.length) say(`applied ${r.applied.join(', ')} from ${dir}`);
      if (r.failed)
        log.error(
          { component: 'app-databases' },
          `${database}: migration ${r.failed}; the app database stays as it was, fix the file and start again`,
        );
      if (r.history)
        say(
          `first start: wrote ${Object.values(r.history).reduce((a, b) => a + b, 0)} rows of ${days}-day history (${Object.entries(
            r.history,
          )
            .map(([t, n]) => `${t} ${n}`)
            .join(', ')})`,
        );
      list.push({ database, url, app: r.app, projectId: service.projectId });
      const total = r.applied.length + r.skipped.length;
      banner.push([
        `${database} schema`,
        `${total} migrations from ${dir}${r.failed ? ' (one FAILED, see the log)' : ''}${r.app ? `, sample app ${r.app.name}` : ''}`,
      ]);
    }
    prepared.set(stack, list);
    return { banner, stop: async () => undefined };
  },
};

/** The sample apps' live traffic for the sandbox of this stack (none without an embedded sample-app database). */
export function startStackTraffic(
  stack: Stack,
  sandbox: Pick<Sandbox, 'apps' | 'state'>,
): { banner: [string, string][]; stop(): Promise<void> } {
  const rps = trafficRateFromEnv(stack.env);
  const running: Traffic[] = [];
  const banner: [string, string][] = [];
  for (const db of preparedAppDatabases(stack)) {
    if (!db.app || rps <= 0) continue;
    running.push(
      startTraffic({
        url: db.url,
        app: db.app,
        projectId: db.projectId,
        sandbox: sandbox.apps,
        platform: () => platformStateOf(sandbox, db.projectId),
        rps,
        log: (level, msg) => stack.log[level]({ component: 'traffic' }, msg),
      }),
    );
    banner.push(['app traffic', `${db.app.name}: ${rps} requests/s into the ${db.database} database (RUNBOOK_TRAFFIC_RPS)`]);
  }
  return { banner, stop: async () => void (await Promise.all(running.map((t) => t.stop()))) };
}

/**
 * `npm run bench:cleanup`: deleting millions of expired rows with the cleanup activity (primary-key batches,
 * a commit each, lock and statement timeouts, heartbeats, the exact-count ledger) against one plain
 * `DELETE … WHERE created_at < cutoff`, on the same data in the same run, while a paced insert workload
 * writes to the same table. It prints rows/s of both, the p99 insert latency during each and when idle, and
 * the medians over runs.
 *
 *   npm run bench:cleanup -- --rows 5000000 --runs 3
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { intOption } from '../cli';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client, Pool } from 'pg';
import { createMaintenanceActivities } from '../../src/activities/maintenance';
import { DEFAULT_CONFIG_PATH, parseConfig } from '../../src/config/load';
import { migrateOpsDatabase } from '../../src/stack/migrate';
import { ensureDatabase, startLocalPostgres } from '../../src/stack/postgres';
import { quoteIdent } from '../../src/db/sql';
import type { CleanupResult, StepOutcome } from '../../src/workflows/maintenance/contract';
import { parse as parseYaml } from 'yaml';

const opts = new Command('bench:cleanup')
  .option('--rows <n>', 'expired rows to delete per run', intOption('--rows'), 5_000_000)
  .option('--fresh <n>', 'rows that stay (younger than the cutoff)', intOption('--fresh'), 500_000)
  .option('--batch <n>', 'cleanup batch size (default: the configuration default of maintenance.cleanup[].batchSize)', intOption('--batch'))
  .option('--runs <n>', 'runs per method; medians are printed', intOption('--runs'), 3)
  .option('--insert-every <ms>', 'pace of the concurrent insert workload', intOption('--insert-every'), 5)
  .option('--idle <s>', 'seconds the insert workload runs alone before each delete (its idle latency)', intOption('--idle'), 5)
  .parse()
  .opts<{ rows: number; fresh: number; batch?: number; runs: number; insertEvery: number; idle: number }>();

const TABLE = 'javari_health_checks';

/** Inserts one row every `everyMs` on its own connection until stopped: when each insert started, and how long it took. */
function insertWorkload(url: string, everyMs: number) {
  const samples: { at: number; ms: number }[] = [];
  let running = true;
  const done = (async () => {
    const c = new Client({ connectionString: url, application_name: 'bench-inserts' });
    await c.connect();
    const started = performance.now();
    for (let k = 0; running; k++) {
      // Paced (open loop): a slow insert does not hide the ones that would have queued behind it.
      const due = started + k * everyMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t = performance.now();
      await c.query(`INSERT INTO ${TABLE} (created_at, status, payload) VALUES (now(), 'healthy', 'live')`);
      samples.push({ at: t, ms: performance.now() - t });
    }
    await c.end();
  })();
  return {
    async stop() {
      running = false;
      await done;
      return samples;
    },
  };
}

function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const median = (values: number[]) => percentile(values, 50);

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-cleanup-'));
  chmodSync(dir, 0o755);
  // Identical settings for both methods; a larger max_wal_size keeps checkpoints from dominating either.
  const pg = await startLocalPostgres({
    dir: path.join(dir, 'pg'),
    settings: { max_wal_size: '8GB', shared_buffers: '256MB', max_connections: '50' },
  });
  const admin = pg.url('postgres');
  try {
    await ensureDatabase(admin, 'ops');
    await migrateOpsDatabase(pg.url('ops'));
    const ops = new Pool({ connectionString: pg.url('ops'), max: 4 });

    // The seeded data set, once; every run starts from a file-level copy of it (CREATE DATABASE … TEMPLATE).
    const seedStarted = performance.now();
    await ensureDatabase(admin, 'seed');
    const seed = new Client({ connectionString: pg.url('seed') });
    await seed.connect();
    await seed.query(
      `CREATE TABLE ${TABLE} (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, status text NOT NULL, payload text)`,
    );
    await seed.query(
      `INSERT INTO ${TABLE} (created_at, status, payload)
       SELECT now() - interval '31 days' - (g % 5184000) * interval '1 second', 'healthy', md5(g::text) FROM generate_series(1, $1) g`,
      [opts.rows],
    );
    await seed.query(
      `INSERT INTO ${TABLE} (created_at, status, payload) SELECT now() - (g % 86400) * interval '1 second', 'healthy', md5(g::text) FROM generate_series(1, $1) g`,
      [opts.fresh],
    );
    await seed.query(`CREATE INDEX ${TABLE}_created_at ON ${TABLE} (created_at)`);
    await seed.query('VACUUM ANALYZE');
    await seed.end();
    console.log(`seeded ${opts.rows} expired + ${opts.fresh} fresh rows in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s`);

    const admin1 = new Client({ connectionString: admin });
    await admin1.connect();
    const fresh = async (name: string) => {
      await admin1.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
      await admin1.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE seed`);
      await admin1.query('CHECKPOINT');
      return pg.url(name);
    };
    const drop = (name: string) => admin1.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);

    const example = parseYaml(readFileSync(DEFAULT_CONFIG_PATH, 'utf8')) as Record<string, unknown>;
    const config = parseConfig({
      ...example,
      databases: { app: { urlEnv: 'DATABASE_URL' } },
      maintenance: {
        cleanup: [
          {
            name: 'health-checks',
            table: TABLE,
            timestampColumn: 'created_at',
            olderThan: '30d',
            ...(opts.batch ? { batchSize: opts.batch } : {}),
          },
        ],
      },
    });
    const batch = config.maintenance.cleanup[0].batchSize;

    const results: Record<'batched' | 'single', { rowsPerSec: number; p99: number; seconds: number }[]> = { batched: [], single: [] };
    const idleP99s: number[] = [];
    for (let run = 1; run <= opts.runs; run++) {
      // Alternate which goes first so neither always meets the warmer cache.
      const order: ('batched' | 'single')[] = run % 2 ? ['batched', 'single'] : ['single', 'batched'];
      for (const method of order) {
        const name = `${method}_${run}`;
        const url = await fresh(name);
        // The same workload first runs alone (its idle latency), then goes on while the rows are deleted.
        const load = insertWorkload(url, opts.insertEvery);
        await new Promise((r) => setTimeout(r, opts.idle * 1000));
        const t0 = performance.now();
        let deleted: number;
        if (method === 'batched') {
          const activities = createMaintenanceActivities({ config, ops, env: {}, databaseUrl: () => url });
          const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 });
          const outcome: StepOutcome = await env.run(activities.cleanupExpiredRows, { runKey: `bench-${name}`, policy: 'health-checks' });
          deleted = (outcome.data as unknown as CleanupResult).deleted;
        } else {
          const c = new Client({ connectionString: url });
          await c.connect();
          const r = await c.query(`DELETE FROM ${TABLE} WHERE created_at < now() - interval '30 days'`);
          deleted = r.rowCount ?? 0;
          await c.end();
        }
        const t1 = performance.now();
        const seconds = (t1 - t0) / 1000;
        const samples = await load.stop();
        await drop(name);
        if (deleted !== opts.rows) throw new Error(`${method} run ${run} deleted ${deleted} rows, expected ${opts.rows}`);
        const idle = samples.filter((x) => x.at < t0).map((x) => x.ms);
        const during = samples.filter((x) => x.at >= t0 && x.at < t1).map((x) => x.ms);
        const idleP99 = percentile(idle, 99);
        const p99 = percentile(during, 99);
        idleP99s.push(idleP99);
        results[method].push({ rowsPerSec: deleted / seconds, p99, seconds });
        console.log(
          `run ${run} ${method.padEnd(7)}: ${deleted} rows in ${seconds.toFixed(1)} s = ${Math.round(deleted / seconds)} rows/s; ` +
            `inserts idle p99 ${idleP99.toFixed(2)} ms (${idle.length}), during p99 ${p99.toFixed(2)} ms (${during.length}, ${(p99 / idleP99).toFixed(2)}× idle), max ${Math.max(...during).toFixed(1)} ms`,
        );
      }
    }
    await admin1.end();
    await ops.end();

    const idleP99 = median(idleP99s);
    const b = { rate: median(results.batched.map((r) => r.rowsPerSec)), p99: median(results.batched.map((r) => r.p99)) };
    const s = { rate: median(results.single.map((r) => r.rowsPerSec)), p99: median(results.single.map((r) => r.p99)) };
    console.log('');
    console.log(`medians over ${opts.runs} runs (${opts.rows} expired rows, batch ${batch}, one insert every ${opts.insertEvery} ms):`);
    console.log(`  method          rows/s      insert p99   vs idle p99 (median ${idleP99.toFixed(2)} ms)`);
    console.log(
      `  batched cleanup ${String(Math.round(b.rate)).padStart(9)}   ${b.p99.toFixed(2).padStart(8)} ms   ${(b.p99 / idleP99).toFixed(2)}×`,
    );
    console.log(
      `  single DELETE   ${String(Math.round(s.rate)).padStart(9)}   ${s.p99.toFixed(2).padStart(8)} ms   ${(s.p99 / idleP99).toFixed(2)}×`,
    );
    console.log(
      `  batched / single rows/s: ${(b.rate / s.rate).toFixed(2)} (target ≥ 0.5); batched p99 / idle p99: ${(b.p99 / idleP99).toFixed(2)} (target ≤ 2)`,
    );
  } finally {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

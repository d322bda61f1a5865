/**
 * `npm run bench:backup`: the `backup` workflow against the raw pipeline it automates, on a generated
 * database (2 GB by default). Each run takes the raw `pg_dump -Fc -Z0 | zstd` to a file (the baseline),
 * then the workflow through a worker in its own process (real Temporal dev server, real PostgreSQL),
 * alternating which goes first. It prints throughput in MB/s of database size, the ratio to the baseline,
 * the worker's peak RSS (VmHWM, reset before each backup), and the time of one verification (re-hash,
 * full read, restore into a scratch database, counts/md5s, amcheck) against the raw restore of the same
 * archive (`zstd -dc | pg_restore --single-transaction` into a fresh database), alternating which goes first.
 *
 *   npm run bench:backup -- --size-mb 200 --runs 3        quick
 *   npm run bench:backup                                 2 GB, 3 runs
 *   npm run bench:backup -- --pg-dir ~/.bench-pg          keep the cluster and its generated database for the next run
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load';
import { pgTools } from '../../src/activities/backup/pg-tools';
import { ZSTD_COMPRESS_ARGS } from '../../src/activities/backup/streams';
import type { BackupResult, VerifyBackupResult } from '../../src/workflows/backup/contract';
import { ensureDatabase, startLocalPostgres } from '../../src/stack/postgres';
import { urlForDatabase } from '../../src/db/sql';
import { migrateOpsDatabase } from '../../src/stack/migrate';
import { startLocalTemporal } from '../../src/stack/temporal';
import { WORKFLOWS_PATH } from '../../src/worker';
import { startWorkerProcess } from '../../test/backup/worker-process-helper';

const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};

const nonNegative = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number, 0 or more`);
  return n;
};

const opts = new Command('bench:backup')
  .option('--size-mb <n>', 'size of the generated database (pg_database_size)', positive('--size-mb'), 2048)
  .option(
    '--runs <n>',
    'backups per mode; medians are printed (0: only verify the latest backup of the kept store)',
    nonNegative('--runs'),
    3,
  )
  .option('--no-verify', 'skip the verification timing')
  .option('--verify-runs <n>', 'verifications of the last backup; the median is printed', positive('--verify-runs'), 3)
  .option('--pg-url <url>', 'use this PostgreSQL server (superuser) instead of a local cluster')
  .option('--pg-dir <dir>', 'keep the local cluster (and its generated database) in this directory and reuse it on the next run')
  .option('--store-dir <dir>', 'keep the backup store in this directory (with --pg-dir, --runs 0 verifies its latest backup again)')
  .option('--single-worker', 'run the transfers in the main worker instead of a dedicated backup worker (backup.transferTaskQueue)')
  .parse()
  .opts<{
    sizeMb: number;
    runs: number;
    verify: boolean;
    verifyRuns: number;
    pgUrl?: string;
    pgDir?: string;
    storeDir?: string;
    singleWorker?: boolean;
  }>();

const MB = 1024 * 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const log = (m: string) => process.stderr.write(`${m}\n`);

/** Rows of a chat product: messages (large, no md5: over md5MaxRows) and users (small, md5 compared). */
async function generate(url: string, targetBytes: number): Promise<number> {
  const db = new PgClient({ connectionString: url });
  await db.connect();
  try {
    await db.query(`
      CREATE TABLE IF NOT EXISTS users (id int PRIMARY KEY, email text NOT NULL, profile jsonb NOT NULL);
      INSERT INTO users SELECT g, 'user' || g || '@example.com', jsonb_build_object('plan', (ARRAY['free','pro','team'])[1 + g % 3], 'n', g)
        FROM generate_series(1, 50000) g ON CONFLICT DO NOTHING;
      CREATE TABLE IF NOT EXISTS messages (
        id bigserial PRIMARY KEY, conversation_id uuid NOT NULL, user_id int NOT NULL, role text NOT NULL,
        content text NOT NULL, tokens int NOT NULL, meta jsonb NOT NULL, created_at timestamptz NOT NULL);`);
    const size = async () => Number((await db.query<{ s: string }>('SELECT pg_database_size(current_database()) AS s')).rows[0].s);
    let bytes = await size();
    while (bytes < targetBytes) {
      const { rows } = await db.query<{ n: string }>('SELECT coalesce(max(id), 0) AS n FROM messages');
      const from = Number(rows[0].n) + 1;
      await db.query(
        `INSERT INTO messages (conversation_id, user_id, role, content, tokens, meta, created_at)
         SELECT md5((g / 20)::text)::uuid, (1 + g % 50000)::int, CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END,
                substr(repeat(md5(g::text) || ' the quick brown fox asks about invoices, ' || (g % 977)::text || ' ', 8), 1, (120 + g % 400)::int),
                (20 + g % 900)::int, jsonb_build_object('model', (ARRAY['gpt-4o','claude-3-5'])[1 + g % 2], 'latency_ms', g % 3000, 'cached', g % 5 = 0),
                timestamptz '2025-01-01' + make_interval(secs => g)
           FROM generate_series($1::bigint, $1::bigint + 499999) g`,
        [from],
      );
      bytes = await size();
      log(`  generated ${(bytes / MB).toFixed(0)} MB of ${(targetBytes / MB).toFixed(0)} MB`);
    }
    await db.query('VACUUM ANALYZE');
    return await size();
  } finally {
    await db.end();
  }
}

/** The baseline: the shell pipeline the runbook would run, with the same pg_dump and zstd flags. */
function rawPipeline(pgDump: string, url: string, out: string): Promise<number> {
  const started = process.hrtime.bigint();
  const script = `set -o pipefail; "${pgDump}" --format=custom --compress=0 --dbname="$DB_URL" | zstd ${ZSTD_COMPRESS_ARGS.join(' ')} > "$OUT"`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DB_URL: url, OUT: out } });
    child.once('exit', (code) =>
      code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e9) : reject(new Error(`raw pipeline exited with ${code}`)),
    );
  });
}

/**
 * The verification's baseline: the one step it cannot skip, done by hand — the archive decompressed into
 * pg_restore in one transaction, into a fresh database (created and dropped outside the timing).
 */
async function rawRestore(pgRestore: string, adminUrl: string, archive: string): Promise<number> {
  const scratch = `bench_raw_restore_${process.pid}`;
  const admin = new PgClient({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${scratch}`);
    const started = process.hrtime.bigint();
    const script = `set -o pipefail; zstd -dc "$ARCHIVE" | "${pgRestore}" --format=custom --no-owner --exit-on-error --single-transaction --dbname="$DB_URL"`;
    await new Promise<void>((resolve, reject) => {
      const child = spawn('bash', ['-c', script], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, ARCHIVE: archive, DB_URL: urlForDatabase(adminUrl, scratch) },
      });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`raw restore exited with ${code}`))));
    });
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

function status(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Resets the process's peak-RSS mark (Linux: "5" > clear_refs), so VmHWM covers one backup only. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-backup-'));
  chmodSync(dir, 0o755);
  const stops: (() => Promise<void>)[] = [];
  try {
    log(`starting PostgreSQL and Temporal in ${dir}`);
    const [adminUrl, temporal, bundle] = await Promise.all([
      opts.pgUrl
        ? Promise.resolve(opts.pgUrl)
        : startLocalPostgres({
            dir: opts.pgDir ? path.resolve(opts.pgDir) : path.join(dir, 'pg'),
            settings: { max_wal_size: '4GB', shared_buffers: '256MB' },
          }).then((pg) => {
            stops.push(() => pg.stop());
            return pg.url('postgres');
          }),
      startLocalTemporal({ headless: true }).then((t) => {
        stops.push(() => t.stop());
        return t;
      }),
      bundleWorkflowCode({
        workflowsPath: WORKFLOWS_PATH,
        logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => log(m), log() {} },
      }).then(({ code }) => {
        const file = path.join(dir, 'workflow-bundle.js');
        writeFileSync(file, code);
        return file;
      }),
    ]);
    const appName = `bench_app_${Math.round(opts.sizeMb)}mb`;
    await ensureDatabase(adminUrl, appName);
    await ensureDatabase(adminUrl, 'bench_ops');
    const appUrl = urlForDatabase(adminUrl, appName);
    const opsUrl = urlForDatabase(adminUrl, 'bench_ops');
    await migrateOpsDatabase(opsUrl);
    log(`generating a ${opts.sizeMb} MB database`);
    const dbBytes = await generate(appUrl, opts.sizeMb * MB);
    log(`database: ${(dbBytes / MB).toFixed(0)} MB`);

    const exampleFile = path.join(__dirname, '..', '..', 'config', 'examples', 'vercel-supabase.yaml');
    const raw = parseYaml(readFileSync(exampleFile, 'utf8')) as Record<string, unknown>;
    const store = opts.storeDir ? path.resolve(opts.storeDir) : path.join(dir, 'store');
    const taskQueue = 'bench-backup';
    const transferTaskQueue = opts.singleWorker ? undefined : 'bench-backup-transfer';
    const config = parseConfig(
      {
        ...raw,
        databases: { app: { urlEnv: 'BENCH_APP_URL' } },
        backup: { databases: ['app'], store: { type: 'directory', path: store }, transferTaskQueue },
      },
      exampleFile,
    );
    const common = { config, databases: { app: appUrl }, opsUrl, temporalAddress: temporal.address };
    const main = await startWorkerProcess({ ...common, taskQueue, bundle });
    // The process that moves the bytes: the dedicated backup worker, or the main worker with --single-worker.
    const worker = transferTaskQueue ? await startWorkerProcess({ ...common, taskQueue: transferTaskQueue, mode: 'transfer' }) : main;
    for (const w of new Set([main, worker])) {
      stops.unshift(async () => {
        w.child.kill('SIGTERM');
        await w.exited;
      });
    }
    const idle = status(worker.pid, 'VmRSS');
    const connection = await Connection.connect({ address: temporal.address });
    stops.unshift(() => connection.close());
    const client = new Client({ connection });
    const pgDump = pgTools(undefined).pgDump;
    log(`pg_dump ${execFileSync(pgDump, ['--version']).toString().trim()}, zstd ${execFileSync('zstd', ['--version']).toString().trim()}`);

    const rawSecs: number[] = [];
    const wfSecs: number[] = [];
    const peaks: number[] = [];
    let last: BackupResult | undefined;
    let rawBytes = 0;
    for (let run = 0; run < opts.runs; run++) {
      const doRaw = async () => {
        const out = path.join(dir, `raw-${run}.dump.zst`);
        const s = await rawPipeline(pgDump, appUrl, out);
        rawBytes = statSync(out).size;
        rmSync(out);
        rawSecs.push(s);
        log(`  run ${run + 1} raw pipeline: ${s.toFixed(1)} s, ${(dbBytes / MB / s).toFixed(1)} MB/s`);
      };
      const doWorkflow = async () => {
        const resetOk = resetPeak(worker.pid);
        let sampled = 0;
        const sampler = setInterval(() => (sampled = Math.max(sampled, status(worker.pid, 'VmRSS'))), 100);
        const started = process.hrtime.bigint();
        const result = (await client.workflow.execute('backup', {
          taskQueue,
          workflowId: `backup-app-bench-${Date.now()}`,
          args: [{ database: 'app', trigger: 'manual', requestedBy: 'bench' }],
        })) as BackupResult;
        const s = Number(process.hrtime.bigint() - started) / 1e9;
        clearInterval(sampler);
        const peak = resetOk ? status(worker.pid, 'VmHWM') : sampled;
        wfSecs.push(s);
        peaks.push(peak);
        if (last) rmSync(last.location, { force: true });
        last = result;
        log(
          `  run ${run + 1} backup workflow: ${s.toFixed(1)} s, ${(dbBytes / MB / s).toFixed(1)} MB/s, worker peak RSS ${(peak / MB).toFixed(0)} MB`,
        );
      };
      if (run % 2 === 0) {
        await doRaw();
        await doWorkflow();
      } else {
        await doWorkflow();
        await doRaw();
      }
    }

    const verifySecs: number[] = [];
    const rawRestoreSecs: number[] = [];
    const loads: number[] = [];
    let verifyPeak = 0;
    // With --runs 0 (a kept store), the latest completed backup of the catalogue is verified again.
    for (let run = 0; opts.verify && (last || opts.runs === 0) && run < opts.verifyRuns; run++) {
      // The raw restore of the same archive, alternating which goes first (only with a backup of this run:
      // its archive is a local file of the directory store).
      const doRawRestore = async () => {
        if (!last) return;
        const s = await rawRestore(pgTools(undefined).pgRestore, adminUrl, last.location);
        rawRestoreSecs.push(s);
        log(`  run ${run + 1} raw zstd -dc | pg_restore --single-transaction: ${s.toFixed(1)} s`);
      };
      if (run % 2 === 0) await doRawRestore();
      resetPeak(worker.pid);
      const started = process.hrtime.bigint();
      const v = (await client.workflow.execute('verifyBackup', {
        taskQueue,
        workflowId: `verify-bench-${Date.now()}`,
        args: [{ ...(last ? { backupId: last.backupId } : { database: 'app' }), retention: false }],
      })) as VerifyBackupResult;
      const s = Number(process.hrtime.bigint() - started) / 1e9;
      verifySecs.push(s);
      loads.push(os.loadavg()[0]);
      verifyPeak = Math.max(verifyPeak, status(worker.pid, 'VmHWM'));
      if (!v.ok) throw new Error(`verification failed: ${JSON.stringify(v.checks)}`);
      log(
        `  run ${run + 1} verification of ${v.backupId}: ${s.toFixed(1)} s (${v.checks.map((c) => c.name).join(', ')}), load average ${loads.at(-1)!.toFixed(1)}`,
      );
      if (run % 2 === 1) await doRawRestore();
    }

    const rawMed = median(rawSecs);
    const wfMed = median(wfSecs);
    const lines = [
      '',
      `bench:backup — database ${(dbBytes / MB).toFixed(0)} MB (pg_database_size), ${opts.runs} runs, medians`,
      ...(rawSecs.length
        ? [
            `  raw pg_dump -Fc -Z0 | zstd   ${rawMed.toFixed(1)} s   ${(dbBytes / MB / rawMed).toFixed(1)} MB/s   archive ${(rawBytes / MB).toFixed(0)} MB`,
            `  backup workflow              ${wfMed.toFixed(1)} s   ${(dbBytes / MB / wfMed).toFixed(1)} MB/s   archive ${((last?.sizeBytes ?? 0) / MB).toFixed(0)} MB`,
            `  ratio workflow / raw         ${(rawMed / wfMed).toFixed(2)}x   (target ≥ 0.90x)`,
            `  ${transferTaskQueue ? 'backup worker' : 'worker'} peak RSS       ${(Math.max(...peaks) / MB).toFixed(0)} MB during backups, ${(idle / MB).toFixed(0)} MB idle (target ≤ 200 MB)${transferTaskQueue ? `; main worker (workflows) ${(status(main.pid, 'VmHWM') / MB).toFixed(0)} MB` : ''}`,
          ]
        : []),
      ...(verifySecs.length
        ? [
            `  verification                 ${median(verifySecs).toFixed(1)} s   median of ${verifySecs.length} (${verifySecs.map((s) => s.toFixed(1)).join(', ')}; 1-min load average ${loads.map((l) => l.toFixed(1)).join(', ')}), worker peak RSS ${(verifyPeak / MB).toFixed(0)} MB (target ≤ 60 s)`,
            ...(rawRestoreSecs.length
              ? [
                  `  raw restore (baseline)       ${median(rawRestoreSecs).toFixed(1)} s   median of ${rawRestoreSecs.length} (${rawRestoreSecs.map((s) => s.toFixed(1)).join(', ')})`,
                  `  ratio verification / raw     ${(median(verifySecs) / median(rawRestoreSecs)).toFixed(2)}x   (sha256, full read, restore, counts, md5s and amcheck against the restore alone)`,
                ]
              : []),
          ]
        : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const stop of stops) await stop().catch((err: Error) => log(`stop: ${err.message}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:backup: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});

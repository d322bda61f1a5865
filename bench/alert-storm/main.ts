/**
 * `npm run bench:alert-storm`: N alerts over K Alertmanager groups posted concurrently to the webhook receiver,
 * with a real Temporal dev server behind it and (by default) a worker running the real `incident` workflow.
 * Each run measures the coalescing receiver, then the baseline (one signal-with-start per alert) on the same
 * storm; it prints alerts accepted per second, p50/p99 latency, incidents opened and alerts lost (sent vs.
 * found in the incidents' signal payloads), and the medians over runs.
 *
 *   npm run bench:alert-storm -- --alerts 20000 --groups 100 --runs 1
 */
import { fork, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { ensureDatabase, startLocalPostgres } from '../../src/stack/postgres';
import { urlForDatabase } from '../../src/db/sql';
import { migrateOpsDatabase } from '../../src/stack/migrate';
import { startLocalTemporal } from '../../src/stack/temporal';
import type { ChildMessage } from './config';
import { incidentPrefix, percentile, storm, type StormOptions } from './load';
import { recorded, terminateAll } from './verify';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

const program = new Command('bench:alert-storm')
  .option('--alerts <n>', 'alerts per storm', int('--alerts'), 100_000)
  .option('--groups <k>', 'alert groups (= incidents) per storm', int('--groups'), 500)
  .option('--connections <c>', 'requests in flight', int('--connections'), 64)
  .option('--per-request <n>', 'alerts per POST', int('--per-request'), 1)
  .option('--order <order>', 'grouped (a group fires together) or shuffled', 'grouped')
  .option('--runs <n>', 'storms per mode; medians are printed', int('--runs'), 3)
  .option('--no-baseline', 'skip the one-signal-with-start-per-alert baseline')
  .option('--baseline-alerts <n>', 'alerts of the baseline storm (same groups; default: --alerts); it is slow', int('--baseline-alerts'))
  .option('--no-worker', 'measure acceptance only: no worker runs the incident workflows')
  .option('--profile <dir>', 'write V8 CPU profiles of the receiver processes to <dir>')
  .parse();
const opts = program.opts<{
  alerts: number;
  groups: number;
  connections: number;
  perRequest: number;
  order: string;
  runs: number;
  baseline: boolean;
  baselineAlerts?: number;
  worker: boolean;
  profile?: string;
}>();
if (opts.order !== 'grouped' && opts.order !== 'shuffled') program.error('--order must be grouped or shuffled');

interface Child {
  value: string;
  stop(): Promise<void>;
}

/** A TypeScript child process that reports `ready` over IPC. */
function child(file: string, args: string[], execArgv: string[] = []): Promise<Child> {
  const proc: ChildProcess = fork(path.join(__dirname, file), args, {
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${file} exited with code ${code} before it was ready`)));
    proc.once('message', (m: ChildMessage) => {
      if ('error' in m) return reject(new Error(`${file}: ${m.error}`));
      if (!('ready' in m)) return;
      proc.removeAllListeners('exit');
      resolve({
        value: m.ready,
        stop: () =>
          new Promise<void>((done) => {
            if (proc.exitCode !== null) return done();
            const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
            proc.once('exit', () => {
              clearTimeout(timer);
              done();
            });
            proc.send({ stop: true });
          }),
      });
    });
  });
}

interface Measured {
  mode: 'coalesced' | 'baseline';
  alerts: number;
  alertsPerSecond: number;
  p50: number;
  p99: number;
  incidents: number;
  lost: number;
  signals: number;
  non202: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function line(m: Measured): string {
  return [
    m.mode.padEnd(9),
    `${fmt(m.alerts).padStart(7)} alerts`,
    `${fmt(m.alertsPerSecond).padStart(7)} alerts/s`,
    `p50 ${fmt(m.p50, 1).padStart(7)} ms`,
    `p99 ${fmt(m.p99, 1).padStart(7)} ms`,
    `incidents ${m.incidents}`,
    `lost ${m.lost}`,
    `signals ${m.signals}`,
    `non-202 answers ${m.non202}`,
  ].join('  ');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alert-storm-'));
  chmodForPostgres(dir);
  const stops: (() => Promise<void>)[] = [];
  try {
    console.log(
      `alert storm: ${fmt(opts.alerts)} alerts over ${opts.groups} groups, ${opts.perRequest} per request, ${opts.connections} connections, ${opts.order} order, ${opts.runs} run(s), ${os.cpus().length} CPUs`,
    );
    const temporal = await startLocalTemporal({ headless: true });
    stops.push(() => temporal.stop());
    const connection = await Connection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    const client = new Client({ connection });
    const taskQueue = `alert-storm-${randomBytes(3).toString('hex')}`;

    if (opts.worker) {
      const pg = await startLocalPostgres({ dir: path.join(dir, 'pg'), settings: { fsync: 'off' } });
      stops.push(() => pg.stop());
      await ensureDatabase(pg.url('postgres'), 'ops');
      await ensureDatabase(pg.url('postgres'), 'app');
      await migrateOpsDatabase(urlForDatabase(pg.url('postgres'), 'ops'));
      const worker = await child('worker-process.ts', [
        temporal.address,
        taskQueue,
        urlForDatabase(pg.url('postgres'), 'ops'),
        urlForDatabase(pg.url('postgres'), 'app'),
      ]);
      stops.push(() => worker.stop());
      console.log('worker: the real incident workflow, platform calls to an in-process sandbox');
    } else {
      console.log('no worker: acceptance only (signals are recorded, no workflow consumes them)');
    }

    const results: Measured[] = [];
    const modes: Measured['mode'][] = opts.baseline ? ['coalesced', 'baseline'] : ['coalesced'];
    for (let r = 1; r <= opts.runs; r++) {
      for (const mode of modes) {
        const receiver = await child(
          'receiver-process.ts',
          [temporal.address, taskQueue, mode],
          opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.profile)}`] : [],
        );
        const run = `${mode[0]}${r}${randomBytes(3).toString('hex')}`;
        const common: Omit<StormOptions, 'run' | 'alerts' | 'groups'> = {
          url: receiver.value,
          connections: opts.connections,
          perRequest: opts.perRequest,
          order: opts.order as StormOptions['order'],
        };
        await storm({ ...common, run: `warm${run}`, alerts: Math.min(2_000, opts.alerts), groups: 1 }); // JIT, connections
        const alerts = mode === 'baseline' ? Math.min(opts.alerts, opts.baselineAlerts ?? opts.alerts) : opts.alerts;
        const result = await storm({ ...common, run, alerts, groups: opts.groups });
        await receiver.stop();
        const found = await recorded(client, incidentPrefix(run), opts.groups);
        const warm = await recorded(client, incidentPrefix(`warm${run}`), 1);
        const m: Measured = {
          mode,
          alerts,
          alertsPerSecond: result.alertsAccepted / result.seconds,
          p50: percentile(result.latencies, 50),
          p99: percentile(result.latencies, 99),
          incidents: found.incidents,
          lost: result.alertsSent - found.fingerprints.size,
          signals: found.signals,
          non202: Object.entries(result.statuses).reduce((n, [s, c]) => (s === '202' ? n : n + c), 0),
        };
        results.push(m);
        console.log(`run ${r}  ${line(m)}`);
        await terminateAll(client, [...found.workflowIds, ...warm.workflowIds]);
      }
    }

    console.log('\nmedians');
    const summary = modes.map((mode) => {
      const rs = results.filter((x) => x.mode === mode);
      const m: Measured = {
        mode,
        alerts: median(rs.map((x) => x.alerts)),
        alertsPerSecond: median(rs.map((x) => x.alertsPerSecond)),
        p50: median(rs.map((x) => x.p50)),
        p99: median(rs.map((x) => x.p99)),
        incidents: median(rs.map((x) => x.incidents)),
        lost: Math.max(...rs.map((x) => x.lost)),
        signals: median(rs.map((x) => x.signals)),
        non202: Math.max(...rs.map((x) => x.non202)),
      };
      console.log(`        ${line(m)}`);
      return m;
    });
    if (summary.length === 2) {
      const [c, b] = summary;
      console.log(
        `\ncoalesced vs baseline: ${fmt(c.alertsPerSecond / b.alertsPerSecond, 2)}x alerts/s, p99 ${fmt(c.p99 / b.p99, 2)}x, ${fmt(b.signals / b.alerts / (c.signals / c.alerts), 1)}x fewer Temporal calls per alert${b.alerts !== c.alerts ? ` (baseline storm: ${fmt(b.alerts)} alerts over the same ${opts.groups} groups)` : ''}`,
      );
    }
    const c = summary[0];
    console.log(
      `target ≥ 2,000 alerts/s with p99 ≤ 50 ms: ${c.alertsPerSecond >= 2000 && c.p99 <= 50 ? 'met' : 'not met'}; exactly ${opts.groups} incidents: ${results.every((x) => x.incidents === opts.groups) ? 'yes' : 'no'}; alerts lost: ${Math.max(...results.map((x) => x.lost))}`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.error(`cleanup: ${(err as Error).message}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** PostgreSQL runs as the postgres account when we are root, and must reach its directory. */
function chmodForPostgres(dir: string): void {
  if (process.getuid?.() === 0) chmodSync(dir, 0o755);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

/**
 * `npm run bench:alert-storm`: the storm shapes that really happen (see shapes.ts) posted to the webhook receiver,
 * in the `npm start` topology (one stack process runs the worker, the receiver and the sandbox, beside the embedded
 * Temporal dev server and PostgreSQL) or the split one (receiver and worker in processes of their own). Every storm
 * is also posted, in the same run, to a do-nothing node:http server: the receiver's rate reads as a ratio to it.
 * It prints deliveries and alerts per second, p50/p99 per delivery until its 2xx (503s retried as Alertmanager
 * does), Temporal calls per alert, incidents opened and alerts lost (sent vs. found in the incidents' histories),
 * and the medians over runs, per shape. `--shape temporal` measures the dev server's own signal-with-start rate.
 *
 *   npm run bench:alert-storm -- --shape ha,distinct --deliveries 4000 --runs 3
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { ensureDatabase, startLocalPostgres } from '../../src/stack/postgres';
import { urlForDatabase } from '../../src/db/sql';
import { migrateOpsDatabase } from '../../src/stack/migrate';
import { startLocalTemporal } from '../../src/stack/temporal';
import { alertsSignal, incidentStartOptions } from '../../src/workflows/incident/contract';
import { incidentWorkflowId, type Alert } from '../../src/workflows/common/alerts';
import { intOption, median } from '../cli';
import { child } from './child';
import { percentile, storm, type StormResult } from './load';
import { buildStorm, SHAPES, type Shape } from './shapes';
import { startNpmStack } from './stack';
import { recorded, terminateAll } from './verify';

const program = new Command('bench:alert-storm')
  .option('--shape <shapes>', `comma-separated: ${SHAPES.join(', ')}, temporal`, SHAPES.join(','))
  .option('--deliveries <n>', 'deliveries (POSTs) per storm', intOption('--deliveries'), 4_000)
  .option('--groups <k>', 'alert groups (= incidents) per storm', intOption('--groups'), 500)
  .option('--group-size <n>', 'alerts per group in the ha shape', intOption('--group-size'), 2)
  .option('--connections <c>', 'requests in flight', intOption('--connections'), 32)
  .option('--runs <n>', 'storms per shape; medians are printed', intOption('--runs'), 3)
  .option('--topology <t>', 'npm-start (one stack process) or split (receiver and worker in their own processes)', 'npm-start')
  .option('--linger <ms>', 'webhooks.linger of the receiver', intOption('--linger', 0))
  .option('--no-repeat-memory', 'webhooks.repeatMemory: false (every delivery goes to Temporal)')
  .option('--no-journal', 'webhooks.alertJournal: false (202 only once Temporal has the alerts)')
  .option('--worker <mode>', 'RUNBOOK_WORKER of the npm-start topology: process or inline', 'process')
  .option('--profile <dir>', 'write V8 CPU profiles of the receiver/stack processes to <dir>')
  .parse();
const opts = program.opts<{
  shape: string;
  deliveries: number;
  groups: number;
  groupSize: number;
  connections: number;
  runs: number;
  topology: string;
  linger?: number;
  repeatMemory: boolean;
  journal: boolean;
  worker: string;
  profile?: string;
}>();
const shapes = opts.shape.split(',').map((s) => s.trim());
for (const s of shapes) if (s !== 'temporal' && !(SHAPES as readonly string[]).includes(s)) program.error(`--shape: unknown shape "${s}"`);
if (opts.topology !== 'npm-start' && opts.topology !== 'split') program.error('--topology must be npm-start or split');
const webhooks = {
  ...(opts.linger !== undefined ? { linger: opts.linger } : {}),
  ...(opts.repeatMemory ? {} : { repeatMemory: false }),
  ...(opts.journal ? {} : { alertJournal: false }),
};

interface Target {
  url: string;
  client: Client;
  taskQueue: string;
  stop(): Promise<void>;
}

/** The receiver under test, with Temporal behind it, in the chosen topology. */
async function startTarget(dir: string): Promise<Target> {
  const profile = opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.profile)}`] : [];
  if (opts.topology === 'npm-start') {
    const stack = await startNpmStack({ webhooks, profileDir: opts.profile, env: { RUNBOOK_WORKER: opts.worker } });
    const connection = await Connection.connect({ address: stack.temporalAddress });
    return {
      url: stack.receiverUrl,
      client: new Client({ connection }),
      taskQueue: 'durable-runbooks',
      async stop() {
        await connection.close();
        await stack.stop();
      },
    };
  }
  const stops: (() => Promise<void>)[] = [];
  const temporal = await startLocalTemporal({ headless: true });
  stops.push(() => temporal.stop());
  const connection = await Connection.connect({ address: temporal.address });
  stops.push(() => connection.close());
  const taskQueue = `alert-storm-${randomBytes(3).toString('hex')}`;
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
  const split = { ...webhooks, ...(opts.journal ? { alertJournal: path.join(dir, 'alerts.journal') } : {}) };
  const receiver = await child('receiver-process.ts', [temporal.address, taskQueue, JSON.stringify(split)], profile);
  stops.push(() => receiver.stop());
  return {
    url: receiver.value,
    client: new Client({ connection }),
    taskQueue,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.error(`cleanup: ${(err as Error).message}`));
    },
  };
}

interface Measured {
  shape: string;
  deliveries: number;
  alerts: number;
  noopPerSecond: number;
  noopP99: number;
  perSecond: number;
  alertsPerSecond: number;
  p50: number;
  p99: number;
  callsPerAlert: number;
  /** Alerts per second until the last one was in Temporal (= alertsPerSecond without a journal). */
  inTemporalPerSecond: number;
  incidents: number;
  expectedIncidents: number;
  lost: number;
  non2xx: number;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function line(m: Measured): string {
  return [
    m.shape.padEnd(8),
    `do-nothing ${fmt(m.noopPerSecond).padStart(6)}/s p99 ${fmt(m.noopP99, 1).padStart(6)} ms`,
    `receiver ${fmt(m.perSecond).padStart(6)}/s (${fmt(m.perSecond / m.noopPerSecond, 2)}×)`,
    `${fmt(m.alertsPerSecond).padStart(6)} alerts/s`,
    `p50 ${fmt(m.p50, 1).padStart(6)} ms`,
    `p99 ${fmt(m.p99, 1).padStart(6)} ms`,
    `calls/alert ${fmt(m.callsPerAlert, 3)}`,
    `all in Temporal at ${fmt(m.inTemporalPerSecond)} alerts/s`,
    `incidents ${m.incidents}/${m.expectedIncidents}`,
    `lost ${m.lost}`,
    `non-2xx ${m.non2xx}`,
  ].join('  ');
}

/** Sum of a counter (all label sets) on the receiver's /metrics. */
async function counter(url: string, name: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

const non2xx = (r: StormResult) => Object.entries(r.statuses).reduce((n, [s, c]) => (s.startsWith('2') ? n : n + c), 0);

/** Journalled alerts are acknowledged before Temporal has them: waits until the receiver has sent them all. */
async function drained(url: string): Promise<void> {
  for (const deadline = Date.now() + 300_000; Date.now() < deadline; await new Promise((done) => setTimeout(done, 200))) {
    const health = (await fetch(`${url}/healthz`).then((res) => res.json())) as {
      journalBacklog?: number;
      queuedAlerts: number;
      inFlight: number;
    };
    if (!health.journalBacklog && !health.queuedAlerts && !health.inFlight) return;
  }
}

async function measureShape(target: Target, shape: Shape, r: number): Promise<Measured> {
  const run = `${shape[0]}${r}${randomBytes(3).toString('hex')}`;
  const plan = buildStorm({ shape, deliveries: opts.deliveries, groups: opts.groups, groupSize: opts.groupSize, run });
  const noop = await child('noop-server.ts', []);
  await storm(noop.value, plan.storm.slice(0, 500), opts.connections); // warm up
  const base = await storm(noop.value, plan.storm, opts.connections);
  await noop.stop();

  if (plan.prime.length) {
    await storm(target.url, plan.prime, opts.connections);
    await drained(target.url); // the storm repeats alerts Temporal already has
  }
  const callsBefore = await counter(target.url, 'runbook_temporal_call_seconds_count');
  const stormStarted = performance.now();
  const result = await storm(target.url, plan.storm, opts.connections);
  await drained(target.url);
  const sentAfter = (performance.now() - stormStarted) / 1000;
  const calls = (await counter(target.url, 'runbook_temporal_call_seconds_count')) - callsBefore;
  const found = await recorded(target.client, plan.prefix, plan.incidents);
  const sent = new Set([...plan.prime, ...plan.storm].flatMap((p) => p.fingerprints));
  await terminateAll(target.client, found.workflowIds);
  return {
    shape,
    deliveries: plan.storm.length,
    alerts: result.alertsSent,
    noopPerSecond: base.requests / base.seconds,
    noopP99: percentile(base.latencies, 99),
    perSecond: result.requests / result.seconds,
    alertsPerSecond: result.alertsAccepted / result.seconds,
    p50: percentile(result.latencies, 50),
    p99: percentile(result.latencies, 99),
    callsPerAlert: calls / result.alertsSent,
    inTemporalPerSecond: result.alertsSent / sentAfter,
    incidents: found.incidents,
    expectedIncidents: plan.incidents,
    lost: [...sent].filter((f) => !found.fingerprints.has(f)).length,
    non2xx: non2xx(result),
  };
}

/**
 * The dev server's own limit: signal-with-start calls per second into running incident workflows (one alert
 * each, round-robin over the groups, `connections` in flight), straight from a client, no HTTP in between.
 */
async function temporalLimit(target: Target, r: number): Promise<{ callsPerSecond: number; p99: number }> {
  const run = `t${r}${randomBytes(3).toString('hex')}`;
  const keys = Array.from({ length: opts.groups }, (_, g) => `bench:${run}:${g}`);
  const now = new Date().toISOString();
  const alert = (key: string, i: number): Alert => ({
    source: 'bench',
    dedupKey: key,
    fingerprint: `${key}:${i}`,
    status: 'firing',
    severity: 'P3',
    summary: 'alert-storm bench',
    labels: {},
    startsAt: now,
    receivedAt: now,
  });
  const call = (i: number) => {
    const key = keys[i % keys.length];
    return target.client.workflow.signalWithStart('incident', {
      workflowId: incidentWorkflowId(key),
      taskQueue: target.taskQueue,
      args: [{ dedupKey: key }],
      signal: alertsSignal,
      signalArgs: [[alert(key, i)]],
      ...incidentStartOptions({ dedupKey: key, title: 'alert-storm bench', severity: 'P3' }),
    });
  };
  const lanes = async (n: number, offset: number, latencies?: Float64Array) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: opts.connections }, async () => {
        for (let i = next++; i < n; i = next++) {
          const t0 = performance.now();
          await call(offset + i);
          if (latencies) latencies[i] = performance.now() - t0;
        }
      }),
    );
  };
  await lanes(keys.length, 0); // every workflow running before the clock starts
  const latencies = new Float64Array(opts.deliveries);
  const t0 = performance.now();
  await lanes(opts.deliveries, keys.length, latencies);
  const seconds = (performance.now() - t0) / 1000;
  await terminateAll(
    target.client,
    keys.map((k) => incidentWorkflowId(k)),
  );
  return { callsPerSecond: opts.deliveries / seconds, p99: percentile(latencies, 99) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alert-storm-'));
  if (process.getuid?.() === 0) chmodSync(dir, 0o755); // PostgreSQL runs as the postgres account when we are root
  let target: Target | undefined;
  try {
    console.log(
      `alert storm: ${opts.topology} topology, ${fmt(opts.deliveries)} deliveries per storm over ${opts.groups} groups, ${opts.connections} connections, shapes ${shapes.join(', ')}, ${opts.runs} run(s), ${os.cpus().length} CPUs, webhooks ${JSON.stringify(webhooks)}`,
    );
    target = await startTarget(dir);
    const results: Measured[] = [];
    const limits: { callsPerSecond: number; p99: number }[] = [];
    for (let r = 1; r <= opts.runs; r++) {
      for (const shape of shapes) {
        if (shape === 'temporal') {
          const l = await temporalLimit(target, r);
          limits.push(l);
          console.log(`run ${r}  temporal  ${fmt(l.callsPerSecond)} signal-with-start/s into running workflows, p99 ${fmt(l.p99, 1)} ms`);
          continue;
        }
        const m = await measureShape(target, shape as Shape, r);
        results.push(m);
        console.log(`run ${r}  ${line(m)}`);
      }
    }

    console.log('\nmedians');
    for (const shape of shapes) {
      if (shape === 'temporal') {
        console.log(
          `  temporal  ${fmt(median(limits.map((l) => l.callsPerSecond)))} signal-with-start/s, p99 ${fmt(median(limits.map((l) => l.p99)), 1)} ms`,
        );
        continue;
      }
      const rs = results.filter((x) => x.shape === shape);
      const pick = (f: (m: Measured) => number) => median(rs.map(f));
      const m: Measured = {
        shape,
        deliveries: pick((x) => x.deliveries),
        alerts: pick((x) => x.alerts),
        noopPerSecond: pick((x) => x.noopPerSecond),
        noopP99: pick((x) => x.noopP99),
        perSecond: pick((x) => x.perSecond),
        alertsPerSecond: pick((x) => x.alertsPerSecond),
        p50: pick((x) => x.p50),
        p99: pick((x) => x.p99),
        callsPerAlert: pick((x) => x.callsPerAlert),
        inTemporalPerSecond: pick((x) => x.inTemporalPerSecond),
        incidents: pick((x) => x.incidents),
        expectedIncidents: rs[0].expectedIncidents,
        lost: Math.max(...rs.map((x) => x.lost)),
        non2xx: Math.max(...rs.map((x) => x.non2xx)),
      };
      console.log(`  ${line(m)}   ratio of medians of runs: ${fmt(median(rs.map((x) => x.perSecond / x.noopPerSecond)), 2)}×`);
    }
    const wrong = results.filter((x) => x.incidents !== x.expectedIncidents || x.lost > 0);
    console.log(
      wrong.length
        ? `\nNOT CORRECT: ${wrong.length} storm(s) lost alerts or opened the wrong number of incidents`
        : '\nno alert lost, one incident per key',
    );
    if (wrong.length) process.exitCode = 1;
  } finally {
    await target?.stop().catch((err: unknown) => console.error(`cleanup: ${(err as Error).message}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

/**
 * `npm run bench:cluster`: the alert storm against the production topology (`npm run cluster`: Temporal on
 * PostgreSQL) next to the Temporal dev server, in the same run, and worker scaling on the cluster.
 *
 * 1. Acceptance: the alert-storm bench's storm (bench/alert-storm/load.ts) posted to the bench's receiver
 *    process, once against the dev server and once against the cluster, alternating, on task queues no
 *    worker polls (the receiver and Temporal are measured, not the incident workflow).
 * 2. Worker scaling: P0 alerts of `--page-groups` groups posted to the cluster's own receiver; the time
 *    until every incident has paged (counted in the sandbox's PagerDuty log), with 2 workers, then 1.
 *
 *   npm run bench:cluster -- --alerts 4000 --groups 40 --page-groups 20 --runs 3
 */
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { startLocalTemporal } from '../../src/stack/temporal';
import { intOption, median } from '../cli';
import { child } from '../alert-storm/child';
import { BENCH_TOKEN } from '../alert-storm/config';
import { percentile, storm } from '../alert-storm/load';
import { buildStorm, incidentPrefix } from '../alert-storm/shapes';
import { recorded, terminateAll } from '../alert-storm/verify';
import { startCluster } from '../../scripts/cluster/cluster';
import { incidentId, notification, post } from './alerts';

const opts = new Command('bench:cluster')
  .option('--alerts <n>', 'alerts per acceptance storm', intOption('--alerts'), 4_000)
  .option('--groups <k>', 'groups (= incidents) per acceptance storm', intOption('--groups'), 40)
  .option('--connections <c>', 'requests in flight', intOption('--connections'), 32)
  .option('--page-groups <k>', 'P0 incidents per worker-scaling storm', intOption('--page-groups'), 20)
  .option('--runs <n>', 'runs of each measurement; medians are printed', intOption('--runs'), 3)
  .parse()
  .opts<{ alerts: number; groups: number; connections: number; pageGroups: number; runs: number }>();

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tag = () => randomBytes(3).toString('hex');

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-cluster-'));
  if (process.getuid?.() === 0) chmodSync(dir, 0o755);
  const stops: (() => Promise<void>)[] = [];
  try {
    console.log(
      `cluster bench: ${fmt(opts.alerts)} alerts over ${opts.groups} groups, ${opts.connections} connections; ${opts.pageGroups} P0 incidents per scaling storm; ${opts.runs} run(s); ${os.cpus().length} CPUs (load ${os.loadavg()[0].toFixed(1)})`,
    );
    const t0 = performance.now();
    const cluster = await startCluster({
      dataDir: path.join(dir, 'cluster'),
      workers: 2,
      receivers: 1,
      ui: false,
      env: { ...process.env, RUNBOOK_WEBHOOK_TOKEN: BENCH_TOKEN },
      sandboxStepMs: 20,
      log: (line) => console.log(`  ${line}`),
    });
    stops.push(() => cluster.stop());
    console.log(`cluster up in ${fmt((performance.now() - t0) / 1000, 1)} s`);
    const dev = await startLocalTemporal({ headless: true });
    stops.push(() => dev.stop());

    const sides = [
      { name: 'dev server', address: dev.address, namespace: 'default' },
      { name: 'cluster', address: cluster.address, namespace: cluster.namespace },
    ];
    const results: Record<string, { rate: number; p99: number; incidents: number; lost: number }[]> = { 'dev server': [], cluster: [] };
    for (let r = 1; r <= opts.runs; r++) {
      for (const side of sides) {
        const connection = await Connection.connect({ address: side.address });
        const client = new Client({ connection, namespace: side.namespace });
        const receiver = await child('receiver-process.ts', [side.address, `bench-cluster-${tag()}`, 'coalesce']);
        const run = `c${r}${tag()}`;
        const grouped = (r: string, deliveries: number, groups: number) =>
          buildStorm({ shape: 'grouped', deliveries, groups, groupSize: 1, run: r }).storm;
        await storm(receiver.value, grouped(`warm${run}`, Math.min(500, opts.alerts), 1), opts.connections);
        const res = await storm(receiver.value, grouped(run, opts.alerts, opts.groups), opts.connections);
        await receiver.stop();
        const found = await recorded(client, incidentPrefix(run), opts.groups);
        const warm = await recorded(client, incidentPrefix(`warm${run}`), 1);
        const m = {
          rate: res.alertsAccepted / res.seconds,
          p99: percentile(res.latencies, 99),
          incidents: found.incidents,
          lost: res.alertsSent - found.fingerprints.size,
        };
        results[side.name].push(m);
        console.log(
          `run ${r}  ${side.name.padEnd(10)}  ${fmt(m.rate).padStart(6)} alerts/s  p99 ${fmt(m.p99, 1).padStart(6)} ms  incidents ${m.incidents}  lost ${m.lost}`,
        );
        await terminateAll(client, [...found.workflowIds, ...warm.workflowIds]);
        await connection.close();
      }
    }
    const dm = median(results['dev server'].map((x) => x.rate));
    const cm = median(results.cluster.map((x) => x.rate));
    console.log(
      `\nmedians: dev server ${fmt(dm)} alerts/s (p99 ${fmt(median(results['dev server'].map((x) => x.p99)), 1)} ms), cluster ${fmt(cm)} alerts/s (p99 ${fmt(median(results.cluster.map((x) => x.p99)), 1)} ms); cluster/dev ${fmt(cm / dm, 2)}x; lost: ${Math.max(
        ...Object.values(results)
          .flat()
          .map((x) => x.lost),
      )}`,
    );

    // Worker scaling: time until every P0 incident of a storm has paged.
    const connection = await Connection.connect({ address: cluster.address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: cluster.namespace });
    const sb = cluster.sandbox!;
    const scaling: Record<number, number[]> = { 1: [], 2: [] };
    for (const workers of [2, 1]) {
      if (workers === 1) await cluster.workers[1].stop();
      for (let r = 1; r <= opts.runs; r++) {
        const run = `w${workers}${r}${tag()}`;
        const ids = Array.from({ length: opts.pageGroups }, (_, g) => incidentId(run, g));
        const started = performance.now();
        await Promise.all(ids.map((_, g) => post(cluster.receivers[0].url, notification(run, g, [`${run}.${g}`], 'critical'))));
        const deadline = Date.now() + 300_000;
        while (ids.some((id) => !sb.pagerduty.events(id).some((e) => e.event_action === 'trigger'))) {
          if (Date.now() > deadline) throw new Error(`${workers} worker(s): not every incident paged within 300 s`);
          await sleep(100);
        }
        const seconds = (performance.now() - started) / 1000;
        scaling[workers].push(seconds);
        console.log(`run ${r}  ${workers} worker(s)  ${opts.pageGroups} P0 incidents paged in ${fmt(seconds, 2)} s`);
        await terminateAll(client, ids);
      }
    }
    const s1 = median(scaling[1]);
    const s2 = median(scaling[2]);
    console.log(
      `\nmedians: ${opts.pageGroups} P0 incidents paged in ${fmt(s2, 2)} s with 2 workers, ${fmt(s1, 2)} s with 1 (2 workers: ${fmt(s1 / s2, 2)}x faster)`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.error(`cleanup: ${(err as Error).message}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);

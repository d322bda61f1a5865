/**
 * bench:watch-detection — how fast the deploy watch turns a breach into a rollback request, per metric
 * provider, and how many healthy-but-noisy releases it rolls back anyway.
 *
 * A real Temporal dev server (default settings), a real PostgreSQL ops database, the sandbox, a real
 * Prometheus scraping the sandbox's sample app every `--scrape` ms, and a worker with the real
 * activities. Each service's metrics (error rate 1 %/5 %, p99 5 s/10 s, failureLimit 2) are read through
 * one provider: `endpoint` (the app's /api/metrics) or `prometheus` (PromQL over a window of one sample
 * interval plus one scrape). Detection runs: the release starts failing 20 % of its requests at a random moment of its
 * watch; the latency runs from that moment to the rollback request in the sandbox's call log. Baseline,
 * from the same runs: an ideal sampler with no workflow, activity, scrape or network overhead, which
 * would see the breach at the next tick once it is visible (scraped, for Prometheus) and, needing two
 * critical samples in a row, act one tick later.
 * Clean runs: 0.4 % errors with ±30 % noise, warning episodes (2–4 % for one to three samples) and
 * single critical spikes (10–20 % for 0.3 of an interval, at most one in any two intervals) at random
 * ticks; a rollback among them is a false rollback. Target: median detection ≤ I + scrape + 2 s.
 *
 *   npm run bench:watch-detection -- [--interval 2000] [--scrape 1000] [--runs 10] [--clean 50]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { intOption } from '../cli';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { createActivities } from '../../src/activities';
import { createPlatformClients } from '../../src/platforms';
import { sandboxConfigOverrides, startSandbox } from '../../src/sandbox';
import { deployStartOptions, type DeployInput, type DeployProgress, type DeployResult } from '../../src/workflows/deploy/contract';
import { ensureDatabase, startLocalPostgres } from '../../src/stack/postgres';
import { urlForDatabase } from '../../src/db/sql';
import { migrateOpsDatabase } from '../../src/stack/migrate';
import { startLocalTemporal } from '../../src/stack/temporal';
import { loadConfig } from '../../src/config/load';
import { WORKFLOWS_PATH } from '../../src/worker';
import { startPrometheus } from '../../src/stack/prometheus';

type Provider = 'endpoint' | 'prometheus';
const PROVIDERS: Provider[] = ['endpoint', 'prometheus'];

const PROM_ERROR_RATE =
  '100 * (sum(rate(http_requests_total{deployment=~"$deployment",status=~"5.."}[$window])) or vector(0))' +
  ' / sum(rate(http_requests_total{deployment=~"$deployment"}[$window]))';
const PROM_P99_MS =
  '1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{deployment=~"$deployment"}[$window])))';

function metricsFor(provider: Provider, windowMs: number) {
  const rule = { failureLimit: 2, window: windowMs, noData: 'ignore' as const, compareToStable: false };
  const common = { warning: 1, critical: 5, unit: '%', ...rule };
  const p99 = { warning: 5_000, critical: 10_000, unit: 'ms', ...rule };
  return provider === 'endpoint'
    ? [
        { name: 'error-rate', provider: 'app', query: 'errorRate', ...common },
        { name: 'p99', provider: 'app', query: 'p99Ms', ...p99 },
      ]
    : [
        { name: 'error-rate', provider: 'prom', query: PROM_ERROR_RATE, ...common },
        { name: 'p99', provider: 'prom', query: PROM_P99_MS, ...p99 },
      ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** `fn` over `items`, at most `limit` at once, results in order. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + Math.round((t?.nanos ?? 0) / 1e6);

/** Where the time between the detecting sample's due moment and the rollback request went, from the history. */
async function breakdown(h: WorkflowHandle, rollbackAt: number) {
  const events = (await h.fetchHistory()).events ?? [];
  const rb = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'rollbackProduction')!;
  const before = events.filter((e) => Number(e.eventId) < Number(rb.eventId));
  const sample = [...before].reverse().find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sampleHealth')!;
  const sampleDone = before.find((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(sample.eventId))!;
  const timer = [...before].reverse().find((e) => e.timerStartedEventAttributes && Number(e.eventId) < Number(sample.eventId))!;
  const fired = before.find(
    (e) =>
      e.timerFiredEventAttributes?.startedEventId !== undefined &&
      Number(e.timerFiredEventAttributes.startedEventId) === Number(timer.eventId),
  );
  const due = ms(timer.eventTime) + ms(timer.timerStartedEventAttributes!.startToFireTimeout as never);
  return {
    timerLate: fired ? ms(fired.eventTime) - due : 0,
    toSample: ms(sample.eventTime) - (fired ? ms(fired.eventTime) : due),
    sample: ms(sampleDone.eventTime) - ms(sample.eventTime),
    toRollback: ms(rb.eventTime) - ms(sampleDone.eventTime),
    rollbackCall: rollbackAt - ms(rb.eventTime),
  };
}

async function main(): Promise<void> {
  const opts = new Command()
    .option('--interval <ms>', 'watch sample interval I', intOption('--interval'), 2_000)
    .option('--scrape <ms>', 'Prometheus scrape interval', intOption('--scrape'), 1_000)
    .option('--runs <n>', 'deployments with an injected breach, per provider', intOption('--runs'), 10)
    .option('--clean <n>', 'deployments with noisy but healthy metrics and spikes, per provider', intOption('--clean'), 50)
    .option('--concurrency <n>', 'deployments running at once', intOption('--concurrency'), 20)
    .parse()
    .opts<{ interval: number; scrape: number; runs: number; clean: number; concurrency: number }>();
  const I = opts.interval;
  const S = opts.scrape;
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  const dir = mkdtempSync(path.join(os.tmpdir(), 'watch-detection-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as the postgres account when we are root
  const stops: (() => Promise<void>)[] = [];
  try {
    process.stderr.write('starting Temporal, PostgreSQL and the sandbox…\n');
    const [temporal, pg, sandbox] = await Promise.all([
      startLocalTemporal({ headless: true }),
      startLocalPostgres({ dir: path.join(dir, 'pg'), settings: { fsync: 'off' } }),
      startSandbox({ timing: 10, metricsRps: 50 }),
    ]);
    stops.push(
      () => temporal.stop(),
      () => pg.stop(),
      () => sandbox.stop(),
    );
    const prom = await startPrometheus({ dir, targets: [new URL(sandbox.url).host], scrapeInterval: `${S / 1000}s` });
    stops.unshift(() => prom.stop());
    await ensureDatabase(pg.url('postgres'), 'ops');
    const opsUrl = urlForDatabase(pg.url('postgres'), 'ops');
    await migrateOpsDatabase(opsUrl);

    const base = loadConfig();
    const names = PROVIDERS.flatMap((p) => [
      ...Array.from({ length: opts.runs }, (_, i) => ({ name: `breach-${p}-${i}`, provider: p })),
      ...Array.from({ length: opts.clean }, (_, i) => ({ name: `clean-${p}-${i}`, provider: p })),
    ]);
    const raw = {
      ...base,
      services: names.map((n) => ({
        ...base.services[0],
        name: n.name,
        projectId: n.name,
        rollingRelease: undefined,
        // rate() needs two scrapes inside its window at every sample: one interval plus one scrape.
        metrics: metricsFor(n.provider, n.provider === 'prometheus' ? I + S : I),
      })),
      metricProviders: { app: { type: 'endpoint' as const }, prom: { type: 'prometheus' as const, url: prom.url } },
      notifications: {},
      // The deployments have no SQL migrations to apply.
      deploy: { ...base.deploy, migrationsDir: undefined },
      temporal: { ...base.temporal, taskQueue: 'watch-detection' },
    };
    const { config, env } = sandboxConfigOverrides(sandbox, raw);
    const ops = new Pool({ connectionString: opsUrl, max: 20 });
    ops.on('error', () => undefined); // idle connections end with the server at shutdown
    stops.unshift(() => ops.end());

    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: 'watch-detection',
      workflowsPath: WORKFLOWS_PATH,
      activities: createActivities({ config, ops, env, databaseUrl: () => opsUrl, platforms: createPlatformClients(config, env) }),
      maxConcurrentActivityTaskExecutions: 200,
    });
    const running = worker.run();
    stops.unshift(async () => {
      worker.shutdown();
      await running;
      await nativeConnection.close();
    });
    const connection = await Connection.connect({ address: temporal.address });
    stops.unshift(() => connection.close());
    const client = new Client({ connection });

    const start = async (service: string, samples: number): Promise<WorkflowHandle> => {
      const input: DeployInput = {
        service,
        ref: 'main',
        requestedBy: 'bench',
        durations: { watch: samples * I, sampleInterval: I, pollInterval: 100, activityTimeout: 10_000 },
      };
      return client.workflow.start('deploy', { ...deployStartOptions(input), taskQueue: 'watch-detection', args: [input] });
    };
    const watching = async (h: WorkflowHandle): Promise<DeployProgress> => {
      for (;;) {
        const p = await h.query<DeployProgress>('progress');
        if (p.stage === 'watching' && p.watch) return p;
        if (p.verdict) throw new Error(`${h.workflowId} ended ${p.verdict} before its watch: ${p.verdictReason}`);
        await sleep(50);
      }
    };

    // ---- detection runs ----------------------------------------------------------------------------------
    process.stderr.write(
      `${opts.runs} detection and ${opts.clean} clean runs per provider (${PROVIDERS.join(', ')}), I = ${I} ms, scrape ${S} ms…\n`,
    );
    const rollbacksOf = (service: string) =>
      sandbox.calls({ vendor: 'vercel', method: 'POST', pathPrefix: `/v1/projects/${service}/rollback/` });
    const detect = async ({ name: service, provider }: { name: string; provider: Provider }) => {
      const h = await start(service, 20);
      const p = await watching(h);
      const watchStart = Date.parse(p.watch!.startedAt);
      // A random moment in the watch, from right after it starts to 12 intervals in.
      await sleep(Math.random() * 12 * I);
      const injectedAt = Date.now();
      sandbox.apps.degrade(`production/${service}`, { errorRate: 20 });
      const result = (await h.result()) as DeployResult;
      const rollback = rollbacksOf(service)[0];
      if (!rollback || result.verdict !== 'rolled-back')
        throw new Error(`${service}: no rollback (${result.verdict}: ${result.verdictReason})`);
      // Two critical samples in a row: the tick after the breach is visible (for Prometheus: scraped), and the one after it.
      const visible = injectedAt + (provider === 'prometheus' ? S : 0);
      const nextTick = watchStart + Math.ceil((visible - watchStart) / I) * I;
      return {
        provider,
        latency: rollback.time - injectedAt,
        ideal: nextTick + I - injectedAt,
        steps: await breakdown(h, rollback.time),
      };
    };

    // ---- clean runs --------------------------------------------------------------------------------------
    const rnd = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
    const calm = { errorRate: 0.4, p50Ms: 120, p95Ms: 600, p99Ms: 1_500, noise: 0.3 };
    const clean = async ({ name: service, provider }: { name: string; provider: Provider }) => {
      const samples = 10;
      const h = await start(service, samples);
      const p = await watching(h);
      const target = `production/${service}`;
      sandbox.apps.degrade(target, calm);
      const watchStart = Date.parse(p.watch!.startedAt);
      // The script of the watch: per interval, a warning episode or a single critical spike, at random.
      let spikes = 0;
      let episodes = 0;
      let lastSpike = -2;
      for (let k = 0; k < samples; k++) {
        const tickStart = watchStart + k * I;
        await sleep(Math.max(0, tickStart - Date.now()));
        const r = Math.random();
        if (r < 0.15 && k - lastSpike >= 2) {
          // A spike that a sample may or may not catch, shorter than an interval.
          await sleep(rnd(0, 0.6) * I);
          sandbox.apps.degrade(target, { errorRate: rnd(10, 20) });
          await sleep(0.3 * I);
          sandbox.apps.degrade(target, calm);
          spikes++;
          lastSpike = k;
        } else if (r < 0.35) {
          const len = 1 + Math.floor(Math.random() * 3);
          sandbox.apps.degrade(target, { errorRate: rnd(2, 4), p99Ms: Math.random() < 0.3 ? rnd(5_500, 8_000) : calm.p99Ms });
          await sleep(len * I);
          sandbox.apps.degrade(target, calm);
          episodes++;
          k += len - 1;
        }
      }
      const result = (await h.result()) as DeployResult;
      return {
        provider,
        falseRollback: result.verdict !== 'succeeded' || rollbacksOf(service).length > 0,
        reason: result.verdictReason,
        warnings: result.watch?.warnings ?? 0,
        samples: result.watch?.samplesTaken ?? 0,
        spikes,
        episodes,
      };
    };

    const d = await pool(
      names.filter((n) => n.name.startsWith('breach-')),
      opts.concurrency,
      detect,
    );
    // After the detection runs, so their load does not colour the latencies.
    const c = await pool(
      names.filter((n) => n.name.startsWith('clean-')),
      opts.concurrency,
      clean,
    );

    const report = {
      intervalMs: I,
      scrapeIntervalMs: S,
      providers: Object.fromEntries(
        PROVIDERS.map((provider) => {
          const dd = d.filter((x) => x.provider === provider);
          const cc = c.filter((x) => x.provider === provider);
          const target = I + (provider === 'prometheus' ? S : 0) + 2_000;
          const med = median(dd.map((x) => x.latency));
          return [
            provider,
            {
              detection: {
                runs: dd.length,
                medianMs: Math.round(med),
                maxMs: Math.round(Math.max(...dd.map((x) => x.latency))),
                baselineIdealSamplerMedianMs: Math.round(median(dd.map((x) => x.ideal))),
                ratioMedianVsBaseline: Number((med / median(dd.map((x) => x.ideal))).toFixed(2)),
                targetMs: target,
                medianWithinTarget: med <= target,
              },
              clean: {
                runs: cc.length,
                samples: cc.reduce((n, x) => n + x.samples, 0),
                warningSamples: cc.reduce((n, x) => n + x.warnings, 0),
                criticalSpikes: cc.reduce((n, x) => n + x.spikes, 0),
                warningEpisodes: cc.reduce((n, x) => n + x.episodes, 0),
                falseRollbacks: cc.filter((x) => x.falseRollback).length,
                falseRollbackReasons: cc.filter((x) => x.falseRollback).map((x) => x.reason),
              },
            },
          ];
        }),
      ),
    };
    const lines = [`watch detection, sample interval I = ${I} ms, Prometheus scrape ${S} ms`];
    for (const provider of PROVIDERS) {
      const r = report.providers[provider];
      const dd = d.filter((x) => x.provider === provider);
      const step = (k: keyof (typeof d)[number]['steps']) =>
        `${k} ${Math.round(median(dd.map((x) => x.steps[k])))}/${Math.max(...dd.map((x) => x.steps[k]))}`;
      lines.push(
        `  ${provider}: breach → rollback request over ${r.detection.runs} runs: median ${r.detection.medianMs} ms, max ${r.detection.maxMs} ms (target median ≤ ${r.detection.targetMs} ms: ${r.detection.medianWithinTarget ? 'met' : 'MISSED'})`,
        `    baseline (ideal sampler, two ticks): median ${r.detection.baselineIdealSamplerMedianMs} ms; ratio of medians ${r.detection.ratioMedianVsBaseline}`,
        `    where it goes (median/max ms): ${(['timerLate', 'toSample', 'sample', 'toRollback', 'rollbackCall'] as const).map(step).join('; ')}`,
        `    clean watches: ${r.clean.runs} (${r.clean.samples} samples, ${r.clean.warningSamples} warning samples, ${r.clean.criticalSpikes} critical spikes, ${r.clean.warningEpisodes} warning episodes), false rollbacks: ${r.clean.falseRollbacks}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n${JSON.stringify(report)}\n`);
    if (PROVIDERS.some((p) => !report.providers[p].detection.medianWithinTarget || report.providers[p].clean.falseRollbacks > 0))
      process.exitCode = 1;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:watch-detection: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

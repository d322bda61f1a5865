/**
 * bench:watch-detection — how fast the deploy watch turns a breach into a rollback request, and
 * whether noisy-but-healthy releases are ever rolled back.
 *
 * A real Temporal dev server (default settings), a real PostgreSQL ops database, the sandbox and a
 * worker with the real activities. Detection runs: a deployment's production breaches (error rate
 * 20 %) at a random moment of its watch; the latency is from that moment to the rollback request in
 * the sandbox's call log. Baseline, from the same runs: an ideal sampler with no workflow, activity or
 * network overhead, which would see the breach at the next sampling tick of the same watch.
 * Detection runs go concurrently, then the clean runs. Clean runs: metrics jitter ±50 % around a healthy 2 % error rate and 4 s p99 (warnings, never past
 * the critical 5 % / 10 s); any rollback among them is a false rollback.
 *
 *   npm run bench:watch-detection -- [--interval 2000] [--runs 20] [--clean 50]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
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

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

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
    .option('--interval <ms>', 'watch sample interval I', positive, 2_000)
    .option('--runs <n>', 'deployments with an injected breach', positive, 20)
    .option('--clean <n>', 'deployments with noisy but healthy metrics', positive, 50)
    .parse()
    .opts<{ interval: number; runs: number; clean: number }>();
  const I = opts.interval;
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  const dir = mkdtempSync(path.join(os.tmpdir(), 'watch-detection-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as the postgres account when we are root
  const stops: (() => Promise<void>)[] = [];
  try {
    process.stderr.write('starting Temporal, PostgreSQL and the sandbox…\n');
    const [temporal, pg, sandbox] = await Promise.all([
      startLocalTemporal({ headless: true }),
      startLocalPostgres({ dir: path.join(dir, 'pg'), settings: { fsync: 'off' } }),
      startSandbox({ timing: 10 }),
    ]);
    stops.push(
      () => temporal.stop(),
      () => pg.stop(),
      () => sandbox.stop(),
    );
    await ensureDatabase(pg.url('postgres'), 'ops');
    const opsUrl = urlForDatabase(pg.url('postgres'), 'ops');
    await migrateOpsDatabase(opsUrl);

    const base = loadConfig();
    const names = [
      ...Array.from({ length: opts.runs }, (_, i) => `breach-${i}`),
      ...Array.from({ length: opts.clean }, (_, i) => `clean-${i}`),
    ];
    const raw = {
      ...base,
      services: names.map((n) => ({ ...base.services[0], name: n, projectId: n, rollingRelease: undefined })),
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
    process.stderr.write(`${opts.runs} detection runs and ${opts.clean} clean runs with I = ${I} ms…\n`);
    const detections = names.slice(0, opts.runs).map(async (service) => {
      const h = await start(service, 20);
      const p = await watching(h);
      const watchStart = Date.parse(p.watch!.startedAt);
      // A random moment in the watch, from right after it starts to 12 intervals in.
      await sleep(Math.random() * 12 * I);
      const injectedAt = Date.now();
      sandbox.apps.degrade(`production/${service}`, { errorRate: 20 });
      const result = (await h.result()) as DeployResult;
      const rollback = sandbox.calls({ vendor: 'vercel', method: 'POST', pathPrefix: `/v1/projects/${service}/rollback/` })[0];
      if (!rollback || result.verdict !== 'rolled-back')
        throw new Error(`${service}: no rollback (${result.verdict}: ${result.verdictReason})`);
      const nextTick = watchStart + Math.ceil((injectedAt - watchStart) / I) * I;
      return { latency: rollback.time - injectedAt, ideal: nextTick - injectedAt, steps: await breakdown(h, rollback.time) };
    });

    // ---- clean runs --------------------------------------------------------------------------------------
    // Run after the detection runs, so their load does not colour the latencies.
    const cleans = names.slice(opts.runs).map((service) => async () => {
      const h = await start(service, 10);
      await watching(h);
      sandbox.apps.degrade(`production/${service}`, { errorRate: 2, p99Ms: 4_000, p95Ms: 2_500, p50Ms: 400, noise: 0.5 });
      const result = (await h.result()) as DeployResult;
      const rollbacks = sandbox.calls({ vendor: 'vercel', method: 'POST', pathPrefix: `/v1/projects/${service}/rollback/` }).length;
      return {
        falseRollback: result.verdict !== 'succeeded' || rollbacks > 0,
        warnings: result.watch?.warnings ?? 0,
        samples: result.watch?.samplesTaken ?? 0,
      };
    });

    const d = await Promise.all(detections);
    const c = await Promise.all(cleans.map((run) => run()));
    const latencies = d.map((x) => x.latency);
    const ideals = d.map((x) => x.ideal);
    const overheads = d.map((x) => x.latency - x.ideal);
    const falseRollbacks = c.filter((x) => x.falseRollback).length;
    const report = {
      intervalMs: I,
      detection: {
        runs: d.length,
        medianMs: Math.round(median(latencies)),
        maxMs: Math.round(Math.max(...latencies)),
        baselineIdealSamplerMedianMs: Math.round(median(ideals)),
        baselineIdealSamplerMaxMs: Math.round(Math.max(...ideals)),
        overheadMedianMs: Math.round(median(overheads)),
        overheadMaxMs: Math.round(Math.max(...overheads)),
        ratioMedianVsBaseline: Number((median(latencies) / median(ideals)).toFixed(2)),
        targetMs: I + 2_000,
        withinTarget: Math.max(...latencies) <= I + 2_000,
      },
      clean: {
        runs: c.length,
        samples: c.reduce((n, x) => n + x.samples, 0),
        warningSamples: c.reduce((n, x) => n + x.warnings, 0),
        falseRollbacks,
      },
    };
    const step = (k: keyof (typeof d)[number]['steps']) =>
      `${k} median ${Math.round(median(d.map((x) => x.steps[k])))} / max ${Math.max(...d.map((x) => x.steps[k]))}`;
    const lines = [
      `watch detection, sample interval I = ${I} ms`,
      `  breach → rollback request over ${d.length} runs: median ${report.detection.medianMs} ms, max ${report.detection.maxMs} ms (target ≤ I + 2 s = ${I + 2_000} ms: ${report.detection.withinTarget ? 'met' : 'MISSED'})`,
      `  baseline (ideal sampler, next tick): median ${report.detection.baselineIdealSamplerMedianMs} ms, max ${report.detection.baselineIdealSamplerMaxMs} ms; ratio of medians ${report.detection.ratioMedianVsBaseline}`,
      `  overhead over the ideal sampler: median ${report.detection.overheadMedianMs} ms, max ${report.detection.overheadMaxMs} ms`,
      `  where it goes (ms): ${(['timerLate', 'toSample', 'sample', 'toRollback', 'rollbackCall'] as const).map(step).join('; ')}`,
      `  clean watches: ${c.length} (${report.clean.samples} samples, ${report.clean.warningSamples} warning samples), false rollbacks: ${falseRollbacks}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n${JSON.stringify(report)}\n`);
    if (!report.detection.withinTarget || falseRollbacks > 0) process.exitCode = 1;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:watch-detection: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});

import type { DeployResult } from '../../src/workflows/deploy/contract';
import { createMetricReader } from '../../src/activities/metrics';
import { MockActivityEnvironment } from '@temporalio/testing';
import { metricCheck } from '../../src/activities/health/checks';
import { createHealthActivities } from '../../src/activities/health';
import type { CheckResult } from '../../src/workflows/health/contract';
import { scratchDatabase, type ScratchDatabase } from '../harness';
import { FAST, openStages, waitForProgress, type Stage, type Stages } from '../deploy/stage';

/**
 * The sql provider over the first runbook's api_logs (its error-rate alert is SQL over that table): the
 * watch rolls back on an error burst of the new deployment, and a quiet window with no rows is no data,
 * never a division by zero.
 */
const ERROR_RATE = `SELECT 100.0 * count(*) FILTER (WHERE status >= 500) / NULLIF(count(*), 0)
  FROM api_logs WHERE created_at > now() - make_interval(secs => $1) AND ($2::text IS NULL OR deployment_id = $2)`;
const P95_MS = `SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY latency)
  FROM api_logs WHERE created_at > now() - make_interval(secs => $1) AND ($2::text IS NULL OR deployment_id = $2)`;

const metrics = (noData = 'ignore') => [
  { name: 'error-rate', provider: 'appdb', query: ERROR_RATE, warning: 1, critical: 5, unit: '%', window: '3s', noData },
  { name: 'p95', provider: 'appdb', query: P95_MS, warning: 3_000, critical: 8_000, unit: 'ms', window: '3s', noData },
];

describe('metrics: the sql provider over api_logs', () => {
  let stages: Stages;
  let stage: Stage;
  let app: ScratchDatabase;
  beforeAll(async () => {
    [stages, app] = await Promise.all([openStages(), scratchDatabase('applogs')]);
    // The columns of examples/javari-ai's api_logs that the queries read.
    await app.pool.query(`CREATE TABLE api_logs (id bigserial PRIMARY KEY, endpoint text NOT NULL, status int NOT NULL,
      latency int NOT NULL, deployment_id text, created_at timestamptz NOT NULL DEFAULT now())`);
  });
  afterAll(async () => {
    await stage?.close();
    await stages?.close();
    await app?.drop();
  });

  const log = (deployment: string, status: number, n: number) =>
    app.pool.query(
      `INSERT INTO api_logs (endpoint, status, latency, deployment_id) SELECT '/api/chat', $2, 200 + g, $1 FROM generate_series(1, $3) g`,
      [deployment, status, n],
    );

  it('a quiet window is no data: ignored, or the warning the metric asks for; never an error', async () => {
    stage = await stages.forTest({
      service: { rollingRelease: undefined, metrics: metrics('warning') },
      config: { metricProviders: { appdb: { type: 'sql', database: 'app' } } },
      databases: { app: app.url },
      noWorker: true,
    });
    const reader = createMetricReader(stage.deps);
    const service = stage.config.services[0];
    const readings = await reader.readMetrics(service, { baseUrl: service.productionUrl });
    expect(readings.map((r) => [r.name, r.provider, r.providerType, r.value, r.error])).toEqual([
      ['error-rate', 'appdb', 'sql', null, undefined],
      ['p95', 'appdb', 'sql', null, undefined],
    ]);
    expect(readings.map((r) => metricCheck(service, r)).map((c) => [c.key, c.status, c.summary])).toEqual([
      ['health:javari-web:error-rate', 'warning', 'javari-web error-rate (appdb): no data'],
      ['health:javari-web:p95', 'warning', 'javari-web p95 (appdb): no data'],
    ]);

    // Rows of every deployment (no deployment outside a watch): 2 of 40 failed.
    await log('dpl_a', 200, 38);
    await log('dpl_b', 503, 2);
    const [rate] = await reader.readMetrics(service, { baseUrl: service.productionUrl });
    expect(rate.value).toBeCloseTo(5, 5);
    expect(metricCheck(service, rate)).toMatchObject({ status: 'warning', value: 5, unit: '%' });
    // One deployment's rows only.
    expect((await reader.readMetrics(service, { baseUrl: '', deployment: 'dpl_b' }))[0].value).toBe(100);

    // The health check's service check reads the same metrics through the provider instead of /api/metrics.
    const health = createHealthActivities(stage.deps);
    const results = (await new MockActivityEnvironment().run(health.checkService, { service: 'javari-web' })) as CheckResult[];
    expect(results.find((r) => r.check === 'error-rate')).toMatchObject({
      key: 'health:javari-web:error-rate',
      status: 'warning',
      value: 5,
      details: { provider: 'appdb', providerType: 'sql' },
    });
    expect(stage.calls('app').some((c) => c.path.endsWith('/api/metrics'))).toBe(false);
  });

  it('an error burst of the new deployment in api_logs rolls production back; its quiet start was no data, ignored', async () => {
    await app.pool.query('TRUNCATE api_logs');
    stage = await stages.forTest({
      service: { rollingRelease: undefined, metrics: metrics() },
      config: { metricProviders: { appdb: { type: 'sql', database: 'app' } } },
      databases: { app: app.url },
    });
    const before = stage.sandbox.apps.production('crav-javari')!.current!;
    const handle = await stage.start({ service: 'javari-web', ref: 'main', requestedBy: 'roy', durations: { ...FAST, watch: 30_000 } });
    let writing = true;
    const result: DeployResult = await stage.worker.run(async () => {
      const p = await waitForProgress(handle, (x) => x.stage === 'watching' && x.samplesTaken >= 2);
      const id = p.production!.id;
      // The burst: half of the new deployment's requests fail, for as long as the watch runs.
      const writer = (async () => {
        while (writing) {
          await log(id, 200, 10);
          await log(id, 500, 10);
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      try {
        return await handle.result();
      } finally {
        writing = false;
        await writer;
      }
    });
    expect(result.verdict).toBe('rolled-back');
    expect(result.verdictReason).toMatch(/error-rate \(appdb\) [\d.]+% > 5% \(2× in a row\)/);
    expect(stage.sandbox.apps.production('crav-javari')!.current).toBe(before);
    const [quiet] = result.recentSamples;
    expect(quiet.level).toBe('ok');
    expect(quiet.metrics![0]).toMatchObject({ name: 'error-rate', provider: 'appdb', value: null });
    expect(quiet.reasons).toEqual([]);
    const last = result.recentSamples[result.recentSamples.length - 1];
    expect(last.metrics![0].value).toBeGreaterThan(40);
  });
});

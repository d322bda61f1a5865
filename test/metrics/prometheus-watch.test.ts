import type { DeployResult } from '../../src/workflows/deploy/contract';
import type { RunningServer } from '../../src/stack/prometheus';
import { FAST, openStages, waitForProgress, type Stage, type Stages } from '../deploy/stage';
import { PROM_ERROR_RATE, promAbove, prometheusFor, promMetrics, scraped } from './prometheus';

/**
 * The deploy watch with the prometheus provider, end to end: the sandbox's sample app exposes its
 * request counter and latency histogram by deployment, a real Prometheus scrapes it every second, and
 * the watch's PromQL queries decide.
 */
// 200 simulated requests a second per project: enough that a 5 s window's error ratio is not mostly sampling noise.
process.env.RUNBOOK_SANDBOX_METRICS_RPS = '200';

describe('deploy watch: prometheus metric provider against a real Prometheus', () => {
  let stages: Stages;
  let stage: Stage;
  let prom: RunningServer;
  beforeAll(async () => {
    stages = await openStages();
    prom = await prometheusFor(stages.sandbox.url);
    await scraped(prom.url);
  });
  afterAll(async () => {
    await prom?.stop();
    await stages?.close();
  });
  afterEach(async () => {
    await stage?.close();
  });

  const watchFor = (ms: number) => ({ ...FAST, watch: ms });

  it('a degraded release: Prometheus scrapes its errors, two critical samples in a row roll production back', async () => {
    stage = await stages.forTest({
      service: { rollingRelease: undefined, metrics: promMetrics() },
      config: { metricProviders: { prom: { type: 'prometheus', url: prom.url } } },
    });
    const before = stage.sandbox.apps.production('crav-javari')!.current!;
    const handle = await stage.start({ service: 'javari-web', ref: 'main', requestedBy: 'roy', durations: watchFor(30_000) });
    let healthySamples = 0;
    const result: DeployResult = await stage.worker.run(async () => {
      const p = await waitForProgress(handle, (x) => x.stage === 'watching' && x.samplesTaken >= 4);
      stage.sandbox.apps.degrade(p.production!.id, { errorRate: 30 });
      healthySamples = p.samplesTaken;
      return handle.result();
    });

    expect(result.verdict).toBe('rolled-back');
    expect(result.verdictReason).toMatch(/error-rate \(prom\) [\d.]+% > 5% \(2× in a row\)/);
    expect(stage.sandbox.apps.production('crav-javari')!.current).toBe(before);
    expect(stage.sideEffects().filter((e) => e.includes('/rollback/'))).toEqual([`POST /v1/projects/crav-javari/rollback/${before}`]);

    // Every sample says what each metric read, through which provider and when; the app's /api/metrics was never asked.
    const samples = result.recentSamples;
    for (const s of samples) {
      expect(s.metrics?.map((m) => [m.name, m.provider])).toEqual([
        ['error-rate', 'prom'],
        ['p99', 'prom'],
      ]);
      expect(Date.parse(s.metrics![0].queriedAt)).toBeLessThanOrEqual(Date.parse(s.at));
    }
    // Before the degradation: ok (the first second of a new deployment has no rate yet: no data, ignored).
    const healthy = samples.slice(0, healthySamples);
    for (const s of healthy) expect(s.level).toBe('ok');
    expect(healthy.some((s) => s.metrics![0].value !== null && s.metrics![0].value < 1)).toBe(true);
    const [first, second] = samples.slice(-2);
    expect(first.level).toBe('warning'); // the first critical sample is held back: a spike is not a rollback
    expect(first.reasons.join()).toMatch(/1\/2 in a row/);
    expect(second.level).toBe('critical');
    expect(second.metrics![0].value).toBeGreaterThan(5);
    expect(stage.calls('app').some((c) => c.path.endsWith('/api/metrics'))).toBe(false);
  });

  it('staged promotion: the canary is judged against the stable deployment (k × its error rate) as well as the limit', async () => {
    stage = await stages.forTest({
      service: { rollingRelease: { stages: [50, 100] }, metrics: promMetrics('5s', { compareToStable: true }) },
      config: { metricProviders: { prom: { type: 'prometheus', url: prom.url } } },
      deploy: { baselineFactor: 2 },
    });
    const stable = stage.sandbox.apps.production('crav-javari')!.current!;
    // Both deployments fail 8 %: above the 5 % limit, but the canary is no worse than what serves now.
    stage.sandbox.apps.degrade(stable, { errorRate: 8 });
    // The stable deployment's 5 s window must hold only degraded traffic before the canary is compared with it.
    await promAbove(prom.url, PROM_ERROR_RATE.replaceAll('$deployment', stable).replaceAll('$window', '5s'), 6);
    const handle = await stage.start({
      service: 'javari-web',
      ref: 'main',
      requestedBy: 'roy',
      durations: { ...FAST, stageWatch: 8_000, watch: 4_000 },
    });
    const result: DeployResult = await stage.worker.run(async () => {
      const p = await waitForProgress(handle, (x) => x.stage === 'watching' && x.watch?.percent === 50);
      stage.sandbox.apps.degrade(p.production!.id, { errorRate: 8 });
      return handle.result();
    });
    const atCanary = result.recentSamples.filter((s) => s.percent === 50);
    expect(atCanary.length).toBeGreaterThan(0);
    for (const s of atCanary) expect(s.metrics![0]).toHaveProperty('stable');
    const compared = atCanary.filter((s) => (s.metrics![0].value ?? 0) > 5);
    expect(compared.length).toBeGreaterThan(0);
    // Judged against the stable deployment's value of the same sample: within k × stable is no breach.
    for (const s of compared) {
      const { value, stable: stableValue } = s.metrics![0] as { value: number; stable: number | null };
      if (typeof stableValue === 'number' && value <= 2 * stableValue)
        expect(s.reasons.join()).toMatch(/within 2× the stable deployment's/);
      else expect(s.reasons.join()).toMatch(/> 2× stable/);
    }
    expect(compared.some((s) => /within 2× the stable deployment's/.test(s.reasons.join()))).toBe(true);
    // The canary stage passed and the release advanced; at 100 % there is no stable deployment left to
    // compare with, so the same 8 % is a breach of the absolute limit.
    expect(result.promotion).toMatchObject({ percent: 100 });
    expect(result.verdict).toBe('rolled-back');
    expect(result.verdictReason).toMatch(/^critical breach during the watch: error-rate \(prom\)/);
  });
});

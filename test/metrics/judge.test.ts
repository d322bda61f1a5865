import { judgeMetric, judgeMetricSample, type MetricReading } from '../../src/workflows/common/metrics';
import { promQuery } from '../../src/activities/metrics/prometheus';
import { sqlParams } from '../../src/activities/metrics/sql';

const rule = { warning: 1, critical: 5, unit: '%', noData: 'ignore' as const, failureLimit: 2, compareToStable: false };
const reading = (value: number | null, extra: Partial<MetricReading> = {}): MetricReading => ({
  name: 'error-rate',
  provider: 'prom',
  providerType: 'prometheus',
  value,
  queriedAt: '2026-01-01T00:00:00.000Z',
  tookMs: 3,
  rule,
  ...extra,
});

describe('metric judgement (watch and health)', () => {
  it('thresholds: above critical, above warning, ok; "above", not "at"', () => {
    expect(judgeMetric(reading(5.2), 2)).toEqual({ level: 'critical', reason: 'error-rate (prom) 5.2% > 5%' });
    expect(judgeMetric(reading(5), 2).level).toBe('warning');
    expect(judgeMetric(reading(1), 2).level).toBe('ok');
  });

  it('no data follows the metric (ignore, warning, critical); a failed query is a warning, never a breach', () => {
    expect(judgeMetric(reading(null), 2)).toEqual({ level: 'ok', reason: 'error-rate (prom): no data (ignored)' });
    expect(judgeMetric(reading(null, { rule: { ...rule, noData: 'critical' } }), 2).level).toBe('critical');
    expect(judgeMetric(reading(null, { error: 'Prometheus unreachable: ECONNREFUSED' }), 2)).toEqual({
      level: 'warning',
      reason: 'error-rate (prom) unreadable: Prometheus unreachable: ECONNREFUSED',
    });
  });

  it('against the stable deployment: a breach needs both the absolute limit and k × stable', () => {
    const compared = { ...rule, compareToStable: true };
    expect(judgeMetric(reading(8, { rule: compared, stable: 6 }), 2).level).toBe('warning');
    expect(judgeMetric(reading(13, { rule: compared, stable: 6 }), 2)).toEqual({
      level: 'critical',
      reason: 'error-rate (prom) 13% > 5% and > 2× stable 6%',
    });
    expect(judgeMetric(reading(4, { rule: compared, stable: 0 }), 2).level).toBe('warning');
    // The stable deployment has no data: the absolute limit alone.
    expect(judgeMetric(reading(8, { rule: compared, stable: null }), 2).level).toBe('critical');
  });

  it('over samples: one critical spike is a warning; failureLimit in a row is the breach; an ok sample resets the run', () => {
    let v = judgeMetricSample([reading(9)], {}, 2);
    expect(v).toMatchObject({ critical: [], streaks: { 'error-rate': 1 } });
    expect(v.warning[0]).toMatch(/1\/2 in a row/);
    v = judgeMetricSample([reading(0.2)], v.streaks, 2);
    expect(v.streaks['error-rate']).toBe(0);
    v = judgeMetricSample([reading(9)], judgeMetricSample([reading(9)], v.streaks, 2).streaks, 2);
    expect(v.critical).toEqual(['error-rate (prom) 9% > 5% (2× in a row)']);
  });
});

describe('provider query variables', () => {
  it('PromQL: $deployment as an exact regex literal, every deployment outside a watch; $window in seconds', () => {
    expect(promQuery('rate(x{deployment=~"$deployment"}[$window])', { deployment: 'dpl_a.b"c', windowMs: 60_000 })).toBe(
      'rate(x{deployment=~"dpl_a\\\\.b\\"c"}[60s])',
    );
    expect(promQuery('x{deployment=~"$deployment"}', { windowMs: 1_000 })).toBe('x{deployment=~".+"}');
  });

  it('SQL: only the parameters the statement uses; a third one is refused', () => {
    expect(sqlParams('SELECT 1', { windowMs: 60_000, deployment: 'd' })).toEqual([]);
    expect(sqlParams('SELECT $1', { windowMs: 60_000, deployment: 'd' })).toEqual([60]);
    expect(sqlParams('SELECT $1, $2', { windowMs: 60_000 })).toEqual([60, null]);
    expect(() => sqlParams('SELECT $3', { windowMs: 1 })).toThrow('only $1 (window in seconds) and $2 (deployment id) exist');
  });
});

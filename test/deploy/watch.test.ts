import { classifySample } from '../../src/workflows/deploy/watch';

const t = { errorRate: { warning: 1, critical: 5 }, p99Ms: { warning: 5_000, critical: 10_000 }, unhealthySamples: 3 };
const ok = { healthy: true, errorRate: 0.2, p99Ms: 480, detail: 'health: 200 healthy' };

describe('watch sample rules (Monitoring & Alerts → Alert Thresholds)', () => {
  it('critical above 5 % errors or 10 s p99, warning above 1 % or 5 s, ok below', () => {
    expect(classifySample(ok, 0, t)).toEqual({ level: 'ok', reasons: [] });
    expect(classifySample({ ...ok, errorRate: 5 }, 0, t).level).toBe('warning'); // "> 5 %", not ≥
    expect(classifySample({ ...ok, errorRate: 5.01 }, 0, t)).toEqual({ level: 'critical', reasons: ['error rate 5.01% > 5%'] });
    expect(classifySample({ ...ok, p99Ms: 6_000 }, 0, t)).toEqual({ level: 'warning', reasons: ['p99 6000 ms > 5000 ms'] });
    expect(classifySample({ ...ok, errorRate: 2, p99Ms: 12_000 }, 0, t)).toEqual({
      level: 'critical',
      reasons: ['p99 12000 ms > 10000 ms'],
    });
  });

  it('unhealthy is a warning until it happens N times in a row; a missing sample says nothing about the app', () => {
    const down = { ...ok, healthy: false, detail: 'health: 503 degraded' };
    expect(classifySample(down, 2, t).level).toBe('warning');
    expect(classifySample(down, 3, t)).toEqual({ level: 'critical', reasons: ['unhealthy 3× in a row (health: 503 degraded)'] });
    expect(classifySample({ ...down, missing: true, errorRate: null, p99Ms: null, detail: 'activity timed out' }, 3, t)).toEqual({
      level: 'warning',
      reasons: ['no sample (activity timed out)'],
    });
    expect(classifySample({ ...ok, errorRate: null, p99Ms: null, detail: 'metrics unavailable' }, 0, t).level).toBe('warning');
  });
});

import { combineCiResults } from '../../src/activities/deploy/ci-status';
import { deployWorkflowId, rollbackWorkflowId } from '../../src/workflows/deploy/contract';
import { classifySample } from '../../src/workflows/deploy/watch';

const t = { errorRate: { warning: 1, critical: 5 }, p99Ms: { warning: 5_000, critical: 10_000 }, unhealthySamples: 3 };
const ok = { healthy: true, errorRate: 0.2, p99Ms: 480, detail: 'health: 200 healthy' };

describe('watch sample rules (Monitoring & Alerts → Alert Thresholds)', () => {
  it('critical above 5 % errors or 10 s p99, warning above 1 % or 5 s, ok below', () => {
    expect(classifySample(ok, 0, t)).toEqual({ level: 'ok', reasons: [] });
    expect(classifySample({ ...ok, errorRate: 5 }, 0, t).level).toBe('warning'); // "> 5 %", not ≥
    expect(classifySample({ ...ok, errorRate: 5.01 }, 0, t)).toEqual({ level: 'critical', reasons: ['error rate 5.01% > 5%'] });
    expect(classifySample({ ...ok, p99Ms: 6_000 }, 0, t)).toEqual({ level: 'warning', reasons: ['p99 6000 ms > 5000 ms'] });
    expect(classifySample({ ...ok, errorRate: 2, p99Ms: 12_000 }, 0, t)).toEqual({ level: 'critical', reasons: ['p99 12000 ms > 10000 ms'] });
  });

  it('unhealthy is a warning until it happens N times in a row; a missing sample says nothing about the app', () => {
    const down = { ...ok, healthy: false, detail: 'health: 503 degraded' };
    expect(classifySample(down, 2, t).level).toBe('warning');
    expect(classifySample(down, 3, t)).toEqual({ level: 'critical', reasons: ['unhealthy 3× in a row (health: 503 degraded)'] });
    expect(classifySample({ ...down, missing: true, errorRate: null, p99Ms: null, detail: 'activity timed out' }, 3, t)).toEqual({ level: 'warning', reasons: ['no sample (activity timed out)'] });
    expect(classifySample({ ...ok, errorRate: null, p99Ms: null, detail: 'metrics unavailable' }, 0, t).level).toBe('warning');
  });
});

describe('CI gate: commit statuses and check runs combined', () => {
  it('fails on any failure, waits on pending or missing required contexts, passes when all succeeded', () => {
    expect(combineCiResults([{ context: 'ci/test', state: 'success' }], [{ name: 'lint', status: 'completed', conclusion: 'failure' }], [])).toEqual({ state: 'failure', reason: 'failing: lint' });
    expect(combineCiResults([{ context: 'ci/test', state: 'success' }], [{ name: 'build', status: 'in_progress', conclusion: null }], []).state).toBe('pending');
    expect(combineCiResults([{ context: 'ci/test', state: 'success' }], [], ['ci/e2e'])).toEqual({ state: 'pending', reason: 'waiting for: ci/e2e' });
    expect(combineCiResults([], [], []).state).toBe('pending');
    expect(combineCiResults([{ context: 'ci/test', state: 'success' }], [{ name: 'docs', status: 'completed', conclusion: 'skipped' }], ['ci/test'])).toEqual({
      state: 'success',
      reason: '2 check(s) passed: ci/test, docs',
    });
  });
});

describe('workflow ids', () => {
  it('deploy-<service>-<sha|ref> and rollback-<service>-<incident or time>', () => {
    expect(deployWorkflowId({ service: 'javari-web', ref: 'main', sha: '0123456789abcdef0123' })).toBe('deploy-javari-web-0123456789ab');
    expect(deployWorkflowId({ service: 'javari-web', ref: 'hotfix/Login_fix' })).toBe('deploy-javari-web-hotfix-login-fix');
    expect(rollbackWorkflowId({ service: 'javari-web', incidentId: 'incident-api-5xx-1a2b3c4d' }, new Date())).toBe('rollback-javari-web-incident-api-5xx-1a2b3c4d');
    expect(rollbackWorkflowId({ service: 'javari-web' }, new Date('2026-11-22T03:04:05.678Z'))).toBe('rollback-javari-web-2026-11-22t03-04-05-678z');
  });
});

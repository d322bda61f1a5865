import { deployWorkflowId, planFrom, rollbackWorkflowId } from '../../src/workflows/deploy/contract';
import { testConfig } from '../harness';

describe('workflow ids', () => {
  it('deploy-<service>-<sha|ref> and rollback-<service>-<incident or time>', () => {
    expect(deployWorkflowId({ service: 'javari-web', ref: 'main', sha: '0123456789abcdef0123' })).toBe('deploy-javari-web-0123456789ab');
    expect(deployWorkflowId({ service: 'javari-web', ref: 'hotfix/Login_fix' })).toBe('deploy-javari-web-hotfix-login-fix');
    expect(rollbackWorkflowId({ service: 'javari-web', incidentId: 'incident-api-5xx-1a2b3c4d' }, new Date())).toBe(
      'rollback-javari-web-incident-api-5xx-1a2b3c4d',
    );
    expect(rollbackWorkflowId({ service: 'javari-web' }, new Date('2026-11-22T03:04:05.678Z'))).toBe(
      'rollback-javari-web-2026-11-22t03-04-05-678z',
    );
  });
});

describe('planFrom: the deploy plan from config and the input overrides', () => {
  it('takes the watch thresholds and durations from config, the overrides first', () => {
    const config = testConfig();
    const service = config.services[0];
    const plan = planFrom(config, service, { durations: { watch: 3_000 }, unhealthySamplesForRollback: 5 });
    expect(plan).toMatchObject({
      service: service.name,
      platform: 'vercel',
      unhealthySamplesForRollback: 5,
      thresholds: {
        errorRate: { warning: config.thresholds.errorRate.warning, critical: config.thresholds.errorRate.critical },
        p99Ms: config.thresholds.p99Ms,
      },
      durations: { watch: 3_000, stageWatch: config.deploy.stageWatch, probeTimeout: config.platforms.requestTimeout },
    });
    expect(planFrom(config, service).unhealthySamplesForRollback).toBe(config.deploy.unhealthySamplesForRollback);
  });

  it('a Netlify site promotes in one step: no rolling stages', () => {
    const config = testConfig({}, 'netlify-supabase');
    expect(planFrom(config, config.services[0]).rollingStages).toEqual([]);
  });
});

import { appHealthChecks, edgeFunctionCheck, metricChecks, tlsCheck, webhookCheck } from '../../src/activities/health/checks';
import { appHealth } from '../../src/platforms/schemas';
import { testConfig } from '../harness';

/** How the runbooks' checks read what they observe. */
const config = testConfig();
const service = config.services[0];
const probe = (status: number | null, body = '', error?: string) => ({
  url: 'https://javariai.com/api/health',
  status,
  latencyMs: 12,
  body,
  error,
});

describe('check semantics', () => {
  it("reads the first runbook's unhealthy example as a warning naming the degraded provider", () => {
    const body = {
      status: 'degraded',
      timestamp: '2025-11-08T12:00:00.000Z',
      checks: {
        database: { status: 'healthy', latency: 45 },
        ai_providers: { status: 'degraded', openai: 'operational', anthropic: 'error', error: 'Connection timeout' },
      },
    };
    const [app, ...rest] = appHealthChecks(service, { ...probe(503, JSON.stringify(body)), health: appHealth.parse(body) });
    expect(app).toMatchObject({ key: 'health:javari-web:app', status: 'warning' });
    expect(app.summary).toBe('javari-web is degraded: ai_providers degraded (anthropic error): Connection timeout');
    expect(rest).toEqual([]); // no storage entry in that answer, so no storage verdict
  });

  it('treats no answer or a 500 as an outage, and a healthy answer with degraded storage as a storage warning', () => {
    expect(appHealthChecks(service, probe(null, '', 'ECONNREFUSED'))[0]).toMatchObject({
      status: 'critical',
      summary: expect.stringContaining('ECONNREFUSED'),
    });
    expect(appHealthChecks(service, probe(500, '{"error":"x"}'))[0]).toMatchObject({ status: 'critical' });
    const body = { status: 'healthy', checks: { storage: { status: 'degraded', latency: 900 } } };
    const results = appHealthChecks(service, { ...probe(200), health: appHealth.parse(body) });
    expect(results.map((r) => [r.check, r.status])).toEqual([
      ['app', 'ok'],
      ['storage', 'warning'],
    ]);
  });

  it('applies the alert thresholds: error rate 0.1 / 1 / 5 %, p99 5 / 10 s', () => {
    const at = (errorRate: number, p99Ms: number) =>
      metricChecks(service, { errorRate, p50Ms: 1, p95Ms: 1, p99Ms, requests: 1 }, config.thresholds).map((r) => r.status);
    expect(at(0.05, 100)).toEqual(['ok', 'ok']);
    expect(at(0.5, 6_000)).toEqual(['info', 'warning']);
    expect(at(2, 12_000)).toEqual(['warning', 'critical']);
    expect(at(5.1, 100)).toEqual(['critical', 'ok']);
  });

  it('reads a 401 from an Edge Function as up, and a webhook that answers at all as up', () => {
    expect(edgeFunctionCheck('ai-query', probe(401)).status).toBe('ok');
    expect(edgeFunctionCheck('ai-query', probe(503)).status).toBe('critical');
    expect(edgeFunctionCheck('ai-query', probe(200)).status).toBe('warning');
    expect(webhookCheck('telegram-webhook', probe(400)).status).toBe('ok');
    expect(webhookCheck('telegram-webhook', probe(null, '', 'timeout')).status).toBe('warning');
  });

  it('warns about certificates within the warning window and pages for expired or untrusted ones', () => {
    const cert = (daysLeft: number, untrusted?: string) => ({
      host: 'h',
      port: 443,
      validTo: new Date(Date.now() + daysLeft * 86_400_000),
      daysLeft,
      subject: 'h',
      issuer: 'ca',
      untrusted,
    });
    expect(tlsCheck('h', cert(60), 21).status).toBe('ok');
    expect(tlsCheck('h', cert(20), 21).status).toBe('warning');
    expect(tlsCheck('h', cert(5), 21).status).toBe('critical');
    expect(tlsCheck('h', cert(-1), 21).summary).toMatch(/expired/);
    expect(tlsCheck('h', cert(60, 'SELF_SIGNED_CERT_IN_CHAIN'), 21)).toMatchObject({
      status: 'critical',
      summary: expect.stringContaining('not trusted'),
    });
  });
});

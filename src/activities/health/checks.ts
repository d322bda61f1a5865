import { request } from 'undici';
import type { RunbookConfig, ServiceConfig } from '../../config/schema';
import type { AppMetrics, ProviderStatus } from '../../platforms/schemas';
import type { HealthProbeResult, ProbeResult } from '../../platforms/types';
import { judgeMetric, type MetricReading } from '../../workflows/common/metrics';
import { checkKey, type CheckResult, type CheckStatus } from '../../workflows/health/contract';
import type { CertificateInfo } from './tls';

/**
 * How each runbook check reads: pure functions from what was observed to a CheckResult, so the semantics
 * (what counts as up, degraded, down) are in one place and tested without I/O.
 */

type Thresholds = RunbookConfig['thresholds'];

const worst = (a: CheckStatus, b: CheckStatus): CheckStatus => {
  const order: CheckStatus[] = ['unknown', 'ok', 'info', 'warning', 'critical'];
  return order.indexOf(a) >= order.indexOf(b) ? a : b;
};

const APP_STATUS: Record<string, CheckStatus> = { healthy: 'ok', degraded: 'warning', unhealthy: 'critical' };

/** System Status → Primary Health Check: "healthy" is up, "degraded" names what degraded, no answer or a 5xx is an outage. */
export function appHealthChecks(service: ServiceConfig, probe: HealthProbeResult): CheckResult[] {
  const base = { service: service.name, customerFacing: service.customerFacing };
  const app = (status: CheckStatus, summary: string, details?: Record<string, unknown>): CheckResult => ({
    ...base,
    key: checkKey(service.name, 'app'),
    check: 'app',
    status,
    summary,
    value: probe.latencyMs,
    unit: 'ms',
    details: { url: probe.url, httpStatus: probe.status, ...details },
  });
  if (probe.status === null) return [app('critical', `${service.name} health check got no answer: ${probe.error ?? 'no answer'}`)];
  const h = probe.health;
  if (!h) {
    if (probe.status >= 500) return [app('critical', `${service.name} health check answered HTTP ${probe.status}`)];
    if (probe.status >= 400) return [app('critical', `${service.name} health check answered HTTP ${probe.status}`)];
    // A health path that serves a page rather than the health document (the second runbook's frontend).
    return [app('ok', `${service.name} answered HTTP ${probe.status}${probe.problem ? ` (${probe.problem})` : ''}`)];
  }
  const degraded = Object.entries(h.checks)
    .filter(([, c]) => c && c.status !== 'healthy')
    .map(([name, c]) => {
      const extra = Object.entries(c as Record<string, unknown>)
        .filter(([k, v]) => !['status', 'latency', 'error'].includes(k) && typeof v === 'string' && v !== 'operational')
        .map(([k, v]) => `${k} ${v}`);
      return `${name} ${c!.status}${extra.length ? ` (${extra.join(', ')})` : ''}${c!.error ? `: ${c!.error}` : ''}`;
    });
  const status = APP_STATUS[h.status] ?? 'warning';
  const results = [
    app(
      status,
      h.status === 'healthy' ? `${service.name} is healthy` : `${service.name} is ${h.status}: ${degraded.join('; ') || 'no detail'}`,
      {
        version: h.version,
        checks: h.checks,
      },
    ),
  ];
  const storage = h.checks.storage;
  if (storage) {
    results.push({
      ...base,
      key: checkKey(service.name, 'storage'),
      check: 'storage',
      status: APP_STATUS[storage.status] ?? 'warning',
      summary: `${service.name} storage is ${storage.status}${storage.error ? `: ${storage.error}` : ''}`,
      value: storage.latency,
      unit: 'ms',
    });
  }
  return results;
}

/** Quick Status Check → Frontend: `curl -I` should return 200. */
export function frontendCheck(service: ServiceConfig, probe: ProbeResult): CheckResult {
  const up = probe.status !== null && probe.status >= 200 && probe.status < 400;
  return {
    key: checkKey(service.name, 'frontend'),
    service: service.name,
    check: 'frontend',
    customerFacing: service.customerFacing,
    status: up ? 'ok' : 'critical',
    summary: up
      ? `frontend ${service.productionUrl} answers ${probe.status}`
      : `frontend ${service.productionUrl} is down: ${probe.status ?? probe.error}`,
    value: probe.latencyMs,
    unit: 'ms',
  };
}

/** Alert Thresholds → API error rate (0.1 / 1 / 5 %) and p99 response time (5 / 10 s). */
export function metricChecks(service: ServiceConfig, m: AppMetrics, t: Thresholds): CheckResult[] {
  const rate: CheckStatus =
    m.errorRate > t.errorRate.critical
      ? 'critical'
      : m.errorRate > t.errorRate.warning
        ? 'warning'
        : m.errorRate > t.errorRate.info
          ? 'info'
          : 'ok';
  const p99: CheckStatus = m.p99Ms > t.p99Ms.critical ? 'critical' : m.p99Ms > t.p99Ms.warning ? 'warning' : 'ok';
  const base = { service: service.name, customerFacing: service.customerFacing };
  return [
    {
      ...base,
      key: checkKey(service.name, 'error-rate'),
      check: 'error-rate',
      status: rate,
      summary: `${service.name} API error rate ${m.errorRate} %${rate === 'ok' ? '' : ` (above the ${rate} threshold of ${t.errorRate[rate as 'info' | 'warning' | 'critical']} %)`}`,
      value: m.errorRate,
      unit: '%',
    },
    {
      ...base,
      key: checkKey(service.name, 'p99'),
      check: 'p99',
      status: p99,
      summary: `${service.name} p99 response time ${m.p99Ms} ms${p99 === 'ok' ? '' : ` (above the ${p99} threshold of ${t.p99Ms[p99 as 'warning' | 'critical']} ms)`}`,
      value: m.p99Ms,
      unit: 'ms',
    },
  ];
}

/**
 * A configured metric (services[].metrics) read through its provider: judged like the watch judges one
 * sample (no stable comparison outside a deployment); an unreadable query is unknown, not an alert.
 */
export function metricCheck(service: ServiceConfig, r: MetricReading): CheckResult {
  const { level, reason } = judgeMetric(r, 1);
  return {
    key: checkKey(service.name, r.name),
    service: service.name,
    check: r.name,
    customerFacing: service.customerFacing,
    status: r.error ? 'unknown' : level,
    summary: `${service.name} ${reason}`,
    ...(r.value !== null ? { value: r.value } : {}),
    unit: r.rule.unit,
    details: { provider: r.provider, providerType: r.providerType, queriedAt: r.queriedAt, tookMs: r.tookMs },
  };
}

/** AI provider status pages: degraded performance is a warning, an outage is critical. */
export function providerCheck(name: string, s: ProviderStatus): CheckResult {
  const status: CheckStatus = s.status.indicator === 'none' ? 'ok' : s.status.indicator === 'minor' ? 'warning' : 'critical';
  return {
    key: checkKey('provider', name),
    service: name,
    check: 'status-page',
    status,
    summary: `${name}: ${s.status.description} (${s.status.indicator})`,
  };
}

/** Database latency (SELECT 1) and connections against the pool (70 / 90 %). */
export function connectionsCheck(database: string, connections: number, poolSize: number, t: Thresholds): CheckResult {
  const pct = (100 * connections) / poolSize;
  const status: CheckStatus = pct > t.dbConnections.critical ? 'critical' : pct > t.dbConnections.warning ? 'warning' : 'ok';
  return {
    key: checkKey(database, 'connections'),
    service: database,
    check: 'connections',
    status,
    summary: `${connections} connections on ${database}, ${pct.toFixed(0)} % of the pool of ${poolSize}`,
    value: pct,
    unit: '%',
  };
}

export function diskCheck(database: string, usedBytes: number, diskBytes: number, t: Thresholds): CheckResult {
  const pct = (100 * usedBytes) / diskBytes;
  const status: CheckStatus = pct > t.diskPercent.critical ? 'critical' : 'ok';
  return {
    key: checkKey(database, 'disk'),
    service: database,
    check: 'disk',
    status,
    summary: `${database} uses ${pct.toFixed(1)} % of its ${Math.round(diskBytes / 2 ** 30)} GiB disk`,
    value: pct,
    unit: '%',
  };
}

const PROJECT_WAITING = new Set(['COMING_UP', 'RESTORING', 'UPGRADING', 'RESTARTING', 'PAUSING', 'RESIZING']);

/** Daily Operations → Database Connection Check: the project shows ACTIVE_HEALTHY. */
export function supabaseProjectCheck(ref: string, status: string): CheckResult {
  const s: CheckStatus = status === 'ACTIVE_HEALTHY' ? 'ok' : PROJECT_WAITING.has(status) ? 'warning' : 'critical';
  return {
    key: checkKey('supabase', 'project'),
    service: 'supabase',
    check: 'project',
    status: s,
    summary: `Supabase project ${ref} is ${status}`,
  };
}

/** Backend API Status: an Edge Function called with an invalid JWT answers 401, which means it is up. */
export function edgeFunctionCheck(name: string, probe: ProbeResult): CheckResult {
  let status: CheckStatus;
  let summary: string;
  if (probe.status === 401) [status, summary] = ['ok', `Edge Function ${name} is up (401 to an invalid JWT)`];
  else if (probe.status === null || probe.status >= 500)
    [status, summary] = ['critical', `Edge Function ${name} is down: ${probe.status ?? probe.error}`];
  else if (probe.status === 404) [status, summary] = ['critical', `Edge Function ${name} is not deployed (404)`];
  else [status, summary] = ['warning', `Edge Function ${name} answered ${probe.status} to an invalid JWT: is JWT verification off?`];
  return {
    key: checkKey('supabase', `function-${name}`),
    service: 'supabase',
    check: `function-${name}`,
    status,
    summary,
    value: probe.latencyMs,
    unit: 'ms',
  };
}

/** Telegram/Slack webhook endpoints: any answer below 500 means the endpoint is there (the runbook shows ⚠️ when it is not). */
export function webhookCheck(name: string, probe: ProbeResult): CheckResult {
  const up = probe.status !== null && probe.status < 500;
  return {
    key: checkKey('webhook', name),
    service: name,
    check: 'webhook',
    status: up ? 'ok' : 'warning',
    summary: up ? `webhook ${name} answers (${probe.status})` : `webhook ${name} is down: ${probe.status ?? probe.error}`,
    value: probe.latencyMs,
    unit: 'ms',
  };
}

/** Certificates expiring within 7 days, or untrusted ones, are critical; within `warnDays` a warning. */
export function tlsCheck(entry: string, cert: CertificateInfo, warnDays: number): CheckResult {
  let status: CheckStatus = 'ok';
  let summary = `certificate of ${entry} valid until ${cert.validTo.toISOString().slice(0, 10)} (${cert.daysLeft} days)`;
  if (cert.daysLeft < 0) [status, summary] = ['critical', `certificate of ${entry} expired on ${cert.validTo.toISOString().slice(0, 10)}`];
  else if (cert.daysLeft <= 7)
    [status, summary] = [
      'critical',
      `certificate of ${entry} expires in ${cert.daysLeft} days (${cert.validTo.toISOString().slice(0, 10)})`,
    ];
  else if (cert.daysLeft < warnDays)
    [status, summary] = [
      'warning',
      `certificate of ${entry} expires in ${cert.daysLeft} days (${cert.validTo.toISOString().slice(0, 10)})`,
    ];
  if (cert.untrusted) {
    status = worst(status, 'critical');
    summary = `${summary}; not trusted: ${cert.untrusted}`;
  }
  return {
    key: checkKey('tls', entry),
    service: entry,
    check: 'tls',
    status,
    summary,
    value: cert.daysLeft,
    unit: 'days',
    details: {
      issuer: cert.issuer,
      subject: cert.subject,
      validTo: cert.validTo.toISOString(),
      ...(cert.connectedTo ? { connectedTo: cert.connectedTo } : {}),
    },
  };
}

/**
 * A request with a method, headers and body (the app probe only GETs): the Edge Function check needs an
 * invalid bearer token, the webhook check a POST. No answer is an observation, not an error.
 */
export async function probeRequest(
  url: string,
  opts: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: unknown; timeoutMs: number; signal?: AbortSignal },
): Promise<ProbeResult> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const started = performance.now();
  try {
    const res = await request(url, {
      method: opts.method ?? 'GET',
      headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal,
    });
    const body = (await res.body.text()).slice(0, 2048);
    return { url, status: res.statusCode, latencyMs: Math.round(performance.now() - started), body };
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const e = err as { code?: string; message?: string; cause?: { code?: string } };
    return {
      url,
      status: null,
      latencyMs: Math.round(performance.now() - started),
      body: '',
      error: timeout.aborted ? `no answer within ${opts.timeoutMs} ms` : (e.cause?.code ?? e.code ?? e.message ?? String(err)),
    };
  }
}

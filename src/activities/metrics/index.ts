import type { MetricConfig, MetricProviderConfig, RunbookConfig, ServiceConfig } from '../../config/schema';
import type { PlatformClients } from '../../platforms';
import { messageOf } from '../../workflows/common';
import type { MetricReading } from '../../workflows/common/metrics';
import { endpointValue } from './endpoint';
import { promQuery, queryPrometheus } from './prometheus';
import { querySqlMetric, sqlParams } from './sql';

/**
 * The metric providers (prometheus, sql, endpoint) behind services[].metrics, shared by the deploy
 * watch and the health check. Each reading says which provider answered, when and how fast; a failed
 * query is a reading with an error, never a thrown activity (the judgement decides what it means).
 */

export interface MetricDeps {
  config: RunbookConfig;
  env: NodeJS.ProcessEnv;
  databaseUrl(name: string): string;
  probe?: () => PlatformClients['probe'];
}

export interface MetricTarget {
  /** The deployment judged (the `deployment` label, api_logs.deployment_id); absent: every deployment. */
  deployment?: string;
  /** The stable deployment, for metrics with compareToStable during a staged promotion. */
  stableDeployment?: string;
  /** Base URL of the deployment, for the endpoint provider. */
  baseUrl: string;
  signal?: AbortSignal;
}

/** Whether the provider's query can tell one deployment from another. */
function tellsDeployments(provider: MetricProviderConfig, query: string): boolean {
  if (provider.type === 'prometheus') return query.includes('$deployment');
  if (provider.type === 'sql') return /\$2\b/.test(query);
  return false;
}

export function createMetricReader(deps: MetricDeps) {
  const timeoutMs = deps.config.platforms.requestTimeout;

  async function valueOf(provider: MetricProviderConfig, m: MetricConfig, t: MetricTarget, deployment?: string): Promise<number | null> {
    const vars = { deployment, windowMs: m.window };
    switch (provider.type) {
      case 'prometheus': {
        const token = provider.bearerTokenEnv ? deps.env[provider.bearerTokenEnv] : undefined;
        if (provider.bearerTokenEnv && !token) throw new Error(`environment variable ${provider.bearerTokenEnv} is not set`);
        return queryPrometheus(provider.url, promQuery(m.query, vars), { token, timeoutMs, signal: t.signal });
      }
      case 'sql':
        return querySqlMetric(deps.databaseUrl(provider.database), m.query, sqlParams(m.query, vars), { timeoutMs });
      case 'endpoint':
        if (!deps.probe) throw new Error('the endpoint provider needs the platform clients');
        return endpointValue(deps.probe(), t.baseUrl, m.query);
    }
  }

  async function read(m: MetricConfig, t: MetricTarget): Promise<MetricReading> {
    const provider = deps.config.metricProviders[m.provider];
    const started = performance.now();
    const base = {
      name: m.name,
      provider: m.provider,
      providerType: provider.type,
      queriedAt: new Date().toISOString(),
      rule: {
        ...(m.warning !== undefined ? { warning: m.warning } : {}),
        critical: m.critical,
        unit: m.unit,
        noData: m.noData,
        failureLimit: m.failureLimit,
        compareToStable: m.compareToStable,
      },
    };
    try {
      const compare = m.compareToStable && t.stableDeployment !== undefined && tellsDeployments(provider, m.query);
      const [value, stable] = await Promise.all([
        valueOf(provider, m, t, t.deployment),
        compare ? valueOf(provider, m, t, t.stableDeployment) : undefined,
      ]);
      return { ...base, value, ...(compare ? { stable: stable ?? null } : {}), tookMs: Math.round(performance.now() - started) };
    } catch (err) {
      return { ...base, value: null, error: messageOf(err), tookMs: Math.round(performance.now() - started) };
    }
  }

  return {
    /** Every metric of the service, queried at once. */
    async readMetrics(service: ServiceConfig, t: MetricTarget): Promise<MetricReading[]> {
      return Promise.all(service.metrics.map((m) => read(m, t)));
    },
  };
}

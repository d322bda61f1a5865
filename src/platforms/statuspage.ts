import type { RunbookConfig } from '../config/schema';
import { PlatformError } from './errors';
import { PlatformHttp } from './http';
import { providerStatus, providerSummary, statuspageIncident, statuspageIncidentList } from './schemas';
import type { ProviderStatusClient, StatuspageClient } from './types';

/**
 * Statuspage has no idempotency key, so an incident carries its creator's identity at the end of its
 * name, "(ref <identity>)", where a later create can find it among the unresolved incidents.
 */
export function nameWithIdentity(name: string, identity: string): string {
  return `${name} (ref ${identity})`;
}

export function identityFromName(name: string): string | undefined {
  return /\(ref ([^\s()]+)\)$/.exec(name)?.[1];
}

export function createStatuspageClient(config: RunbookConfig, env: NodeJS.ProcessEnv): StatuspageClient {
  const sp = config.notifications.statuspage;
  const http = new PlatformHttp({
    platform: 'statuspage',
    baseUrl: config.platforms.statuspageApiUrl,
    timeoutMs: config.platforms.requestTimeout,
    env,
    credential: sp && { env: sp.apiKeyEnv, noun: 'API key', header: (key) => ({ authorization: `OAuth ${key}` }) },
  });
  const pageId = (endpoint: string): string => {
    if (sp) return sp.pageId;
    throw new PlatformError({
      platform: 'statuspage',
      endpoint,
      kind: 'rejected',
      retryable: false,
      hint: 'no status page configured: set notifications.statuspage',
    });
  };
  const page = (id: string) => `page ${id}`;

  const client: StatuspageClient = {
    configured: sp !== undefined,
    async createIncident(fields) {
      const id = pageId('POST /pages/{pageId}/incidents');
      return http.request({
        method: 'POST',
        path: '/pages/{pageId}/incidents',
        params: { pageId: id },
        body: { incident: fields },
        resource: page(id),
        schema: statuspageIncident,
      });
    },
    async updateIncident(incidentId, fields) {
      const id = pageId('PATCH /pages/{pageId}/incidents/{incidentId}');
      return http.request({
        method: 'PATCH',
        path: '/pages/{pageId}/incidents/{incidentId}',
        params: { pageId: id, incidentId },
        body: { incident: fields },
        resource: `incident ${incidentId} of ${page(id)}`,
        schema: statuspageIncident,
      });
    },
    async listUnresolved() {
      const id = pageId('GET /pages/{pageId}/incidents/unresolved');
      return http.request({
        method: 'GET',
        path: '/pages/{pageId}/incidents/unresolved',
        params: { pageId: id },
        resource: page(id),
        schema: statuspageIncidentList,
      });
    },
    async findOrCreateIncident({ identity, ...fields }) {
      const existing = (await client.listUnresolved()).find((i) => identityFromName(i.name) === identity);
      if (existing) return { incident: existing, created: false };
      return { incident: await client.createIncident({ ...fields, name: nameWithIdentity(fields.name, identity) }), created: true };
    },
  };
  return client;
}

/** AI provider status pages (Statuspage format), by the names under platforms.providers. */
export function createProviderStatusClient(config: RunbookConfig, env: NodeJS.ProcessEnv): ProviderStatusClient {
  const pages = { ...config.platforms.statusPages, ...config.platforms.providers };
  const http = new PlatformHttp({ platform: 'provider-status', baseUrl: '', timeoutMs: config.platforms.requestTimeout, env });
  const locate = (provider: string, file: 'status.json' | 'summary.json') => {
    const cfg = pages[provider];
    if (!cfg) {
      throw new PlatformError({
        platform: 'provider-status',
        endpoint: `GET /api/v2/${file}`,
        kind: 'rejected',
        retryable: false,
        hint: `no status page for "${provider}": add it under platforms.providers or platforms.statusPages (known: ${Object.keys(pages).join(', ') || 'none'})`,
      });
    }
    const url = new URL(cfg.statusUrl);
    if (file === 'summary.json') url.pathname = url.pathname.replace(/status\.json$/, 'summary.json');
    return { baseUrl: url.origin, path: url.pathname, resource: `the ${provider} status page` };
  };
  return {
    providers: Object.keys(config.platforms.providers),
    platforms: Object.keys(config.platforms.statusPages),
    status: async (provider) => http.request({ method: 'GET', ...locate(provider, 'status.json'), schema: providerStatus }),
    summary: async (provider) => http.request({ method: 'GET', ...locate(provider, 'summary.json'), schema: providerSummary }),
  };
}

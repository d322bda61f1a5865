import type { RunbookConfig } from '../config/schema';
import { notConfigured } from './errors';
import { PlatformHttp, type HttpMethod } from './http';
import { providerStatus, providerSummary, statuspageIncident, statuspageIncidentList } from './schemas';
import type { ProviderKeyCheck, ProviderStatusClient, StatuspageClient } from './types';

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
  /** A call on the configured page (and on one of its incidents): method, path, their ids and the resource errors name. */
  const onPage = (method: HttpMethod, path: string, incidentId?: string) => {
    if (!sp) throw notConfigured('statuspage', `${method} ${path}`, 'no status page configured: set notifications.statuspage');
    const page = `page ${sp.pageId}`;
    const params: Record<string, string> = incidentId === undefined ? { pageId: sp.pageId } : { pageId: sp.pageId, incidentId };
    return { method, path, params, resource: incidentId === undefined ? page : `incident ${incidentId} of ${page}` };
  };

  const client: StatuspageClient = {
    configured: sp !== undefined,
    async createIncident(fields) {
      return http.request({ ...onPage('POST', '/pages/{pageId}/incidents'), body: { incident: fields }, schema: statuspageIncident });
    },
    async updateIncident(incidentId, fields) {
      return http.request({
        ...onPage('PATCH', '/pages/{pageId}/incidents/{incidentId}', incidentId),
        body: { incident: fields },
        schema: statuspageIncident,
      });
    },
    async getIncident(incidentId) {
      return http.request({ ...onPage('GET', '/pages/{pageId}/incidents/{incidentId}', incidentId), schema: statuspageIncident });
    },
    async listUnresolved() {
      return http.request({ ...onPage('GET', '/pages/{pageId}/incidents/unresolved'), schema: statuspageIncidentList });
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
      throw notConfigured(
        'provider-status',
        `GET /api/v2/${file}`,
        `no status page for "${provider}": add it under platforms.providers or platforms.statusPages (known: ${Object.keys(pages).join(', ') || 'none'})`,
      );
    }
    const url = new URL(cfg.statusUrl);
    if (file === 'summary.json') url.pathname = url.pathname.replace(/status\.json$/, 'summary.json');
    return { baseUrl: url.origin, path: url.pathname, resource: `the ${provider} status page` };
  };
  return {
    providers: Object.keys(config.platforms.providers),
    platforms: Object.keys(config.platforms.statusPages),
    apis: Object.entries(config.platforms.providers)
      .filter(([, p]) => p.apiUrl && p.keyEnv)
      .map(([name]) => name),
    checkKey: (provider) => checkProviderKey(provider, config, env),
    status: async (provider) => http.request({ method: 'GET', ...locate(provider, 'status.json'), schema: providerStatus }),
    summary: async (provider) => http.request({ method: 'GET', ...locate(provider, 'summary.json'), schema: providerSummary }),
  };
}

/**
 * Chat Not Responding → "Test API key": `GET <apiUrl>/models` with the provider's key (Bearer; Anthropic's
 * `x-api-key`). Any answer is the finding, so this never throws; the key itself never leaves this function.
 */
async function checkProviderKey(provider: string, config: RunbookConfig, env: NodeJS.ProcessEnv): Promise<ProviderKeyCheck> {
  const cfg = config.platforms.providers[provider];
  if (!cfg?.apiUrl || !cfg.keyEnv)
    return { provider, status: null, verdict: 'error', error: `no apiUrl and keyEnv under platforms.providers.${provider}` };
  const key = env[cfg.keyEnv];
  if (!key) return { provider, status: null, verdict: 'missing', error: `${cfg.keyEnv} is not set` };
  const anthropic = provider === 'anthropic';
  let res: Response;
  try {
    res = await fetch(`${cfg.apiUrl.replace(/\/$/, '')}/models`, {
      headers: anthropic ? { 'x-api-key': key, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${key}` },
      signal: AbortSignal.timeout(config.platforms.requestTimeout),
    });
    await res.arrayBuffer();
  } catch (err) {
    return { provider, status: null, verdict: 'error', error: err instanceof Error ? err.message : String(err) };
  }
  const header = (openai: string, claude: string) => res.headers.get(anthropic ? claude : openai) ?? undefined;
  const num = (v: string | undefined) => (v === undefined || Number.isNaN(Number(v)) ? undefined : Number(v));
  const verdict: ProviderKeyCheck['verdict'] =
    res.status === 401 || res.status === 403 ? 'invalid' : res.status === 429 ? 'rate-limited' : res.ok ? 'valid' : 'error';
  return {
    provider,
    status: res.status,
    verdict,
    limitRequests: num(header('x-ratelimit-limit-requests', 'anthropic-ratelimit-requests-limit')),
    remainingRequests: num(header('x-ratelimit-remaining-requests', 'anthropic-ratelimit-requests-remaining')),
    reset: header('x-ratelimit-reset-requests', 'anthropic-ratelimit-requests-reset'),
  };
}

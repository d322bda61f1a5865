import type { FastifyInstance } from 'fastify';
import { params, randomId } from './world';

/**
 * Status pages in Statuspage format: /status/<name>/api/v2/status.json and summary.json, for the AI providers
 * (OpenAI, Anthropic, OpenRouter) and the platforms (Supabase, Vercel, Netlify); any other name gets a generic page.
 */

export type Indicator = 'none' | 'minor' | 'major' | 'critical';

export interface ProviderIncident {
  name: string;
  status: 'investigating' | 'identified' | 'monitoring' | 'resolved';
  impact?: Indicator;
}

export interface ProviderState {
  indicator: Indicator;
  description: string;
  incidents: Array<ProviderIncident & { id: string }>;
  updatedAt: string;
  /** The provider's API (`GET /ai/<name>/v1/models`): whether keys are accepted, and the request budget left. */
  api?: ProviderApiState;
}

export interface ProviderApiState {
  keyValid: boolean;
  limitRequests: number;
  remainingRequests: number;
}

const DEFAULT_API: ProviderApiState = { keyValid: true, limitRequests: 5000, remainingRequests: 4999 };
const MODELS: Record<string, string[]> = {
  openai: ['gpt-4o', 'gpt-4o-mini', 'gpt-3.5-turbo'],
  anthropic: ['claude-sonnet-4-5', 'claude-haiku-4-5'],
  openrouter: ['anthropic/claude-sonnet-4.5', 'openai/gpt-4o-mini'],
};

const DESCRIPTIONS: Record<Indicator, string> = {
  none: 'All Systems Operational',
  minor: 'Partially Degraded Service',
  major: 'Partial System Outage',
  critical: 'Major System Outage',
};
const COMPONENT_STATUS: Record<Indicator, string> = {
  none: 'operational',
  minor: 'degraded_performance',
  major: 'partial_outage',
  critical: 'major_outage',
};
const COMPONENTS: Record<string, string[]> = {
  openai: ['API', 'ChatGPT', 'Sora'],
  anthropic: ['claude.ai', 'Claude API', 'Claude Code'],
  openrouter: ['API', 'Chat'],
  supabase: ['Auth', 'Database', 'Edge Functions', 'Storage', 'Management API'],
  vercel: ['Builds', 'Edge Network', 'Serverless Functions', 'API'],
  netlify: ['Builds', 'CDN', 'Functions', 'API'],
};
const NAMES: Record<string, string> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  openrouter: 'OpenRouter',
  supabase: 'Supabase',
  vercel: 'Vercel',
  netlify: 'Netlify',
};

export class ProvidersSandbox {
  private readonly states = new Map<string, ProviderState>();
  private readonly pageIds = new Map<string, string>();

  constructor(private readonly origin: () => string) {}

  dump(): { states: Record<string, ProviderState>; pageIds: Record<string, string> } {
    return { states: Object.fromEntries(this.states), pageIds: Object.fromEntries(this.pageIds) };
  }

  load(state: { states: Record<string, ProviderState>; pageIds: Record<string, string> }): void {
    this.states.clear();
    this.pageIds.clear();
    for (const [k, v] of Object.entries(state.states)) this.states.set(k, v);
    for (const [k, v] of Object.entries(state.pageIds)) this.pageIds.set(k, v);
  }

  get(name: string): ProviderState {
    return (
      this.states.get(name) ?? { indicator: 'none', description: DESCRIPTIONS.none, incidents: [], updatedAt: new Date().toISOString() }
    );
  }

  indicator(name: string): Indicator {
    return this.get(name).indicator;
  }

  /**
   * Sets a provider's page. A non-`none` indicator opens an "Elevated error rates" incident unless
   * `incidents` is given; `indicator: none` with a monitoring incident is allowed, as on the real pages.
   */
  set(name: string, s: { indicator: Indicator; description?: string; incidents?: ProviderIncident[] }): void {
    if (!(s.indicator in DESCRIPTIONS)) throw new Error('indicator: must be one of none, minor, major, critical');
    const incidents = (
      s.incidents ??
      (s.indicator === 'none' ? [] : [{ name: 'Elevated error rates', status: 'investigating' as const, impact: s.indicator }])
    ).map((i) => ({
      ...i,
      id: randomId(12, 'abcdefghijklmnopqrstuvwxyz0123456789'),
    }));
    this.states.set(name, {
      ...(this.states.get(name)?.api ? { api: this.states.get(name)!.api } : {}),
      indicator: s.indicator,
      description: s.description ?? DESCRIPTIONS[s.indicator],
      incidents,
      updatedAt: new Date().toISOString(),
    });
  }

  /** Changes what the provider's API answers: keys rejected (401), or the request budget (0 → 429). */
  setApi(name: string, api: Partial<ProviderApiState>): void {
    const s = this.get(name);
    const next = { ...DEFAULT_API, ...s.api, ...api };
    if (next.remainingRequests < 0 || next.limitRequests < 0) throw new Error('remainingRequests, limitRequests: must not be negative');
    this.states.set(name, { ...s, api: next });
  }

  snapshot(): Record<string, ProviderState> {
    return Object.fromEntries(this.states);
  }

  private page(name: string, updatedAt: string) {
    if (!this.pageIds.has(name)) this.pageIds.set(name, randomId(12, 'abcdefghijklmnopqrstuvwxyz0123456789'));
    return {
      id: this.pageIds.get(name)!,
      name: NAMES[name] ?? name,
      url: `${this.origin()}/status/${name}`,
      time_zone: 'Etc/UTC',
      updated_at: updatedAt,
    };
  }

  /**
   * The AI providers' APIs, as far as "test the API key" goes (`GET /v1/models`): OpenAI and OpenRouter
   * take `Authorization: Bearer`, Anthropic `x-api-key`; rate-limit headers as each provider sends them.
   */
  apiPlugin = async (app: FastifyInstance): Promise<void> => {
    app.get('/:provider/v1/models', (req, reply) => {
      const name = params(req).provider;
      const anthropic = name === 'anthropic';
      const key = anthropic ? req.headers['x-api-key'] : /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
      const api = { ...DEFAULT_API, ...this.get(name).api };
      if (!key || !api.keyValid) {
        const message = anthropic ? 'invalid x-api-key' : 'Incorrect API key provided';
        return reply
          .code(401)
          .send(
            anthropic
              ? { type: 'error', error: { type: 'authentication_error', message } }
              : { error: { message, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
          );
      }
      const reset = new Date(Date.now() + 60_000);
      if (anthropic) {
        reply.headers({
          'anthropic-ratelimit-requests-limit': String(api.limitRequests),
          'anthropic-ratelimit-requests-remaining': String(api.remainingRequests),
          'anthropic-ratelimit-requests-reset': reset.toISOString(),
        });
      } else {
        reply.headers({
          'x-ratelimit-limit-requests': String(api.limitRequests),
          'x-ratelimit-remaining-requests': String(api.remainingRequests),
          'x-ratelimit-reset-requests': '60s',
        });
      }
      if (api.remainingRequests === 0) {
        reply.header('retry-after', '60');
        return anthropic
          ? reply
              .code(429)
              .send({ type: 'error', error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' } })
          : reply
              .code(429)
              .send({ error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
      }
      const data = (MODELS[name] ?? ['default']).map((id) =>
        anthropic ? { type: 'model', id, display_name: id } : { id, object: 'model', owned_by: name },
      );
      return reply.send(anthropic ? { data, has_more: false } : { object: 'list', data });
    });
  };

  plugin = async (app: FastifyInstance): Promise<void> => {
    app.get('/:provider/api/v2/status.json', (req, reply) => {
      const name = params(req).provider;
      const s = this.get(name);
      return reply.send({ page: this.page(name, s.updatedAt), status: { indicator: s.indicator, description: s.description } });
    });
    app.get('/:provider/api/v2/summary.json', (req, reply) => {
      const name = params(req).provider;
      const s = this.get(name);
      const components = (COMPONENTS[name] ?? ['API']).map((c, i) => ({
        id: `${name}-${i}`,
        name: c,
        status: COMPONENT_STATUS[s.indicator],
        created_at: s.updatedAt,
        updated_at: s.updatedAt,
        position: i + 1,
        description: null,
        showcase: true,
        group: false,
        only_show_if_degraded: false,
      }));
      const incidents = s.incidents
        .filter((i) => i.status !== 'resolved')
        .map((i) => ({
          id: i.id,
          name: i.name,
          status: i.status,
          impact: i.impact ?? s.indicator,
          shortlink: `${this.origin()}/status/${name}/incidents/${i.id}`,
          created_at: s.updatedAt,
          updated_at: s.updatedAt,
          monitoring_at: i.status === 'monitoring' ? s.updatedAt : null,
          resolved_at: null,
          page_id: this.page(name, s.updatedAt).id,
          incident_updates: [],
          components: [],
        }));
      return reply.send({
        page: this.page(name, s.updatedAt),
        components,
        incidents,
        scheduled_maintenances: [],
        status: { indicator: s.indicator, description: s.description },
      });
    });
  };
}

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
}

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
      indicator: s.indicator,
      description: s.description ?? DESCRIPTIONS[s.indicator],
      incidents,
      updatedAt: new Date().toISOString(),
    });
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

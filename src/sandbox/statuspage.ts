import type { FastifyInstance, FastifyReply } from 'fastify';
import { sendError } from './vendors';
import { isRecord, params, randomId, requireAuth, type World } from './world';

/** Statuspage.io incidents API v1: create, update, list unresolved (contracts/platforms.md). */

const STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'];
const IMPACTS = ['none', 'minor', 'major', 'critical'];
const COMPONENT_STATUSES = ['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance'];

export interface StatuspageIncident {
  id: string;
  page_id: string;
  name: string;
  status: string;
  impact: string;
  shortlink: string;
  created_at: string;
  updated_at: string;
  monitoring_at: string | null;
  resolved_at: string | null;
  components: Array<{ id: string; status: string }>;
  incident_updates: Array<{
    id: string;
    incident_id: string;
    status: string;
    body: string;
    created_at: string;
    display_at: string;
    deliver_notifications: boolean;
  }>;
}

export class StatuspageSandbox {
  readonly incidents: StatuspageIncident[] = [];

  constructor(private readonly world: World) {}

  dump(): { incidents: StatuspageIncident[] } {
    return { incidents: this.incidents };
  }

  load(state: { incidents: StatuspageIncident[] }): void {
    this.incidents.splice(0, this.incidents.length, ...state.incidents);
  }

  /** Validates `{incident:{…}}`; returns the fields or a list of problems. */
  private validate(body: unknown, creating: boolean): Record<string, unknown> | string[] {
    if (!isRecord(body) || !isRecord(body.incident)) return ['incident is missing'];
    const i = body.incident;
    const errors: string[] = [];
    if (creating && (typeof i.name !== 'string' || !i.name.trim())) errors.push("Name can't be blank");
    if (!creating && i.name !== undefined && (typeof i.name !== 'string' || !i.name.trim())) errors.push("Name can't be blank");
    if (i.status !== undefined && !STATUSES.includes(i.status as string)) errors.push(`Status must be one of ${STATUSES.join(', ')}`);
    if (i.impact_override !== undefined && !IMPACTS.includes(i.impact_override as string))
      errors.push(`Impact override must be one of ${IMPACTS.join(', ')}`);
    if (i.body !== undefined && typeof i.body !== 'string') errors.push('Body must be a string');
    if (i.component_ids !== undefined && !(Array.isArray(i.component_ids) && i.component_ids.every((c) => typeof c === 'string'))) {
      errors.push('Component ids must be a list of component ids');
    }
    if (i.components !== undefined) {
      if (!isRecord(i.components)) errors.push('Components must map component ids to statuses');
      else
        for (const [id, s] of Object.entries(i.components))
          if (!COMPONENT_STATUSES.includes(s as string))
            errors.push(`Component ${id} status must be one of ${COMPONENT_STATUSES.join(', ')}`);
    }
    if (i.deliver_notifications !== undefined && typeof i.deliver_notifications !== 'boolean')
      errors.push('Deliver notifications must be true or false');
    return errors.length ? errors : i;
  }

  private apply(inc: StatuspageIncident, f: Record<string, unknown>): void {
    const now = new Date().toISOString();
    if (typeof f.name === 'string') inc.name = f.name;
    if (typeof f.impact_override === 'string') inc.impact = f.impact_override;
    if (isRecord(f.components)) {
      for (const [id, status] of Object.entries(f.components)) {
        const c = inc.components.find((x) => x.id === id);
        if (c) c.status = status as string;
        else inc.components.push({ id, status: status as string });
      }
    }
    if (Array.isArray(f.component_ids)) {
      for (const id of f.component_ids as string[])
        if (!inc.components.some((c) => c.id === id)) inc.components.push({ id, status: 'operational' });
    }
    const statusChanged = typeof f.status === 'string' && f.status !== inc.status;
    if (typeof f.status === 'string') inc.status = f.status;
    if (statusChanged && inc.status === 'monitoring') inc.monitoring_at = now;
    if (statusChanged && inc.status === 'resolved') inc.resolved_at = now;
    if (statusChanged || typeof f.body === 'string') {
      inc.incident_updates.unshift({
        id: randomId(12, 'abcdefghijklmnopqrstuvwxyz0123456789'),
        incident_id: inc.id,
        status: inc.status,
        body: typeof f.body === 'string' ? f.body : '',
        created_at: now,
        display_at: now,
        deliver_notifications: f.deliver_notifications !== false,
      });
    }
    inc.updated_at = now;
  }

  plugin = async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', requireAuth('statuspage', 'OAuth'));
    const invalid = (reply: FastifyReply, errors: string[]) => reply.code(422).send({ error: errors });

    app.post('/pages/:page_id/incidents', (req, reply) => {
      const f = this.validate(req.body, true);
      if (Array.isArray(f)) return f[0] === 'incident is missing' ? sendError(reply, 'statuspage', 400, f[0]) : invalid(reply, f);
      const now = new Date().toISOString();
      const id = randomId(12, 'abcdefghijklmnopqrstuvwxyz0123456789');
      const inc: StatuspageIncident = {
        id,
        page_id: params(req).page_id,
        name: '',
        status: 'investigating',
        impact: 'none',
        shortlink: `${this.world.origin()}/_statuspage/${id.slice(0, 6)}`,
        created_at: now,
        updated_at: now,
        monitoring_at: null,
        resolved_at: null,
        components: [],
        incident_updates: [],
      };
      this.apply(inc, { status: 'investigating', ...f, body: typeof f.body === 'string' ? f.body : '' });
      this.incidents.push(inc);
      return reply.code(201).send(inc);
    });

    app.patch('/pages/:page_id/incidents/:id', (req, reply) => {
      const inc = this.incidents.find((i) => i.page_id === params(req).page_id && i.id === params(req).id);
      if (!inc) return sendError(reply, 'statuspage', 404, 'Incident not found');
      const f = this.validate(req.body, false);
      if (Array.isArray(f)) return f[0] === 'incident is missing' ? sendError(reply, 'statuspage', 400, f[0]) : invalid(reply, f);
      this.apply(inc, f);
      return reply.send(inc);
    });

    app.get('/pages/:page_id/incidents/unresolved', (req, reply) =>
      reply.send(
        this.incidents
          .filter((i) => i.page_id === params(req).page_id && i.status !== 'resolved')
          .slice()
          .reverse(),
      ),
    );

    app.get('/pages/:page_id/incidents/:id', (req, reply) => {
      const inc = this.incidents.find((i) => i.page_id === params(req).page_id && i.id === params(req).id);
      return inc ? reply.send(inc) : sendError(reply, 'statuspage', 404, 'Incident not found');
    });
  };
}

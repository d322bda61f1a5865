import type { FastifyInstance } from 'fastify';
import { randomId, isRecord } from './world';

/** PagerDuty Events API v2 (contracts/platforms.md): validated like the real endpoint, every accepted event kept. */

const SEVERITIES = ['critical', 'error', 'warning', 'info'];
const ACTIONS = ['trigger', 'acknowledge', 'resolve'];

export interface PagerdutyEvent {
  dedup_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  routing_key: string;
  payload?: Record<string, unknown>;
  body: Record<string, unknown>;
  time: number;
}

export class PagerdutySandbox {
  readonly events: PagerdutyEvent[] = [];

  dump(): { events: PagerdutyEvent[] } {
    return { events: this.events };
  }

  load(state: { events: PagerdutyEvent[] }): void {
    this.events.splice(0, this.events.length, ...state.events);
  }

  /** Where each dedup_key's alert stands after the events received. */
  alerts(): Record<string, 'triggered' | 'acknowledged' | 'resolved'> {
    const out: Record<string, 'triggered' | 'acknowledged' | 'resolved'> = {};
    for (const e of this.events) {
      const cur = out[e.dedup_key];
      if (e.event_action === 'trigger') out[e.dedup_key] = cur === undefined || cur === 'resolved' ? 'triggered' : cur;
      else if (cur && cur !== 'resolved') out[e.dedup_key] = e.event_action === 'acknowledge' ? 'acknowledged' : 'resolved';
    }
    return out;
  }

  private problems(b: Record<string, unknown>): string[] {
    const errors: string[] = [];
    const blank = (v: unknown) => typeof v !== 'string' || v.trim() === '';
    if (blank(b.routing_key)) errors.push("'routing_key' is missing or blank");
    if (!ACTIONS.includes(b.event_action as string)) errors.push(`'event_action' is invalid (must be one of ${ACTIONS.join(', ')})`);
    if (b.dedup_key !== undefined && (typeof b.dedup_key !== 'string' || b.dedup_key.length > 255))
      errors.push("'dedup_key' must be a string of at most 255 characters");
    if (b.event_action === 'trigger') {
      const p = b.payload;
      if (!isRecord(p)) errors.push("'payload' is missing or not an object");
      else {
        if (blank(p.summary)) errors.push("'payload.summary' is missing or blank");
        else if ((p.summary as string).length > 1024) errors.push("'payload.summary' is longer than 1024 characters");
        if (blank(p.source)) errors.push("'payload.source' is missing or blank");
        if (!SEVERITIES.includes(p.severity as string))
          errors.push(`'payload.severity' is invalid (must be one of ${SEVERITIES.join(', ')})`);
        if (p.custom_details !== undefined && !isRecord(p.custom_details)) errors.push("'payload.custom_details' must be an object");
      }
    } else if (ACTIONS.includes(b.event_action as string) && blank(b.dedup_key)) {
      errors.push("'dedup_key' is missing or blank");
    }
    if (b.links !== undefined && !Array.isArray(b.links)) errors.push("'links' must be an array");
    return errors;
  }

  plugin = async (app: FastifyInstance): Promise<void> => {
    app.post('/v2/enqueue', (req, reply) => {
      const size = Number(req.headers['content-length'] ?? 0);
      if (size > 512 * 1024)
        return reply
          .code(400)
          .send({ status: 'invalid event', message: 'Event object is invalid', errors: ['Event object is larger than 512 KB'] });
      const b = req.body;
      if (!isRecord(b))
        return reply
          .code(400)
          .send({ status: 'invalid event', message: 'Event object is invalid', errors: ['Body must be a JSON object'] });
      const errors = this.problems(b);
      if (errors.length) return reply.code(400).send({ status: 'invalid event', message: 'Event object is invalid', errors });
      const dedup = typeof b.dedup_key === 'string' && b.dedup_key ? b.dedup_key : randomId(32, '0123456789abcdef');
      this.events.push({
        dedup_key: dedup,
        event_action: b.event_action as PagerdutyEvent['event_action'],
        routing_key: b.routing_key as string,
        payload: isRecord(b.payload) ? b.payload : undefined,
        body: structuredClone(b),
        time: Date.now(),
      });
      return reply.code(202).send({ status: 'success', message: 'Event processed', dedup_key: dedup });
    });
  };
}

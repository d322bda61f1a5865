import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Sandbox } from './index';
import type { FaultSpec } from './faults';

/** `/_sandbox/…`: the in-process control API over HTTP, for a sandbox running as its own process. */
export function controlPlugin(sb: () => Sandbox) {
  const fail = (reply: FastifyReply, err: unknown) => reply.code(400).send({ error: err instanceof Error ? err.message : String(err) });
  const body = (b: unknown) => (typeof b === 'object' && b !== null ? (b as Record<string, unknown>) : {});

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/calls', (req) => sb().calls(req.query as Record<string, string>));
    app.delete('/calls', (_req, reply) => {
      sb().clearCalls();
      return reply.code(204).send();
    });

    app.get('/faults', () => sb().faults());
    app.post('/faults', (req, reply) => {
      const b = body(req.body);
      try {
        const spec = { ...b } as unknown as FaultSpec;
        // JSON has no Infinity and no RegExp: `times: null|-1` means every request, `pathRegex` a regex.
        if (b.times === null || b.times === -1) spec.times = Infinity;
        if (typeof b.pathRegex === 'string') spec.path = new RegExp(b.pathRegex);
        return reply.code(201).send(sb().inject(spec));
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.delete('/faults', (_req, reply) => {
      sb().clearFaults();
      return reply.code(204).send();
    });

    app.get('/state', () => sb().state.snapshot());

    app.post('/apps/degrade', (req, reply) => {
      const { target, ...change } = body(req.body);
      try {
        return { degraded: sb().apps.degrade(String(target), change) };
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.post('/apps/restore', (req, reply) => {
      try {
        return { restored: sb().apps.restore(String(body(req.body).target)) };
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.post('/apps/fail-next-build', (req, reply) => {
      const b = body(req.body);
      try {
        sb().apps.failNextBuild(String(b.project), b.outcome === 'CANCELED' ? 'CANCELED' : 'ERROR');
        return reply.code(204).send();
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.post('/providers/:name', (req, reply) => {
      const b = body(req.body);
      try {
        sb().providers.set((req.params as { name: string }).name, b as never);
        return reply.code(204).send();
      } catch (err) {
        return fail(reply, err);
      }
    });
  };
}

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Sandbox } from './api';
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
    app.delete('/faults/:id', (req, reply) => reply.code(sb().removeFault((req.params as { id: string }).id) ? 204 : 404).send());
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
    app.post('/supabase/:ref', (req, reply) => {
      const ref = (req.params as { ref: string }).ref;
      const b = body(req.body);
      const s = sb().supabase;
      try {
        s.seedProject(ref);
        if (typeof b.status === 'string') s.setStatus(ref, b.status);
        if (b.failNextRestore === true) s.failNextRestore(ref);
        if (typeof b.pitrEnabled === 'boolean') s.setPitrEnabled(ref, b.pitrEnabled);
        for (const [service, status] of Object.entries(body(b.services))) s.setServiceHealth(ref, service as never, status as never);
        for (const [slug, down] of Object.entries(body(b.functionsDown))) s.setFunctionDown(ref, slug, down === true);
        if (b.authUsers !== undefined && !Array.isArray(b.authUsers)) throw new Error('authUsers: must be an array of {id, email?}');
        for (const u of (b.authUsers as unknown[] | undefined) ?? []) {
          const user = body(u);
          if (typeof user.id !== 'string' || !user.id) throw new Error('authUsers[].id: required, the Supabase Auth user id');
          s.seedAuthUser(ref, { id: user.id, email: typeof user.email === 'string' ? user.email : null });
        }
        return reply.code(204).send();
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.post('/netlify/:site/deploys', (req, reply) => {
      const b = body(req.body);
      const str = (k: string) => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
      try {
        const d = sb().netlify.createDeploy((req.params as { site: string }).site, {
          branch: str('branch'),
          commitRef: str('commitRef'),
          title: str('title'),
          fail: b.fail === true,
        });
        return reply.code(201).send(d);
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.get('/pagerduty/events', (req) => sb().pagerduty.events((req.query as { dedup_key?: string }).dedup_key));
    app.get('/slack/messages', () => sb().slack.messages());
    app.get('/telegram/messages', (req) => sb().telegram.messages((req.query as { chat_id?: string }).chat_id));
    app.get('/statuspage/incidents', (req) => sb().statuspage.incidents((req.query as { page_id?: string }).page_id));

    /** The TLS endpoint: `{ daysLeft: 5 }` → a certificate expiring in 5 days, `{ untrusted: true }` → self-signed, `{}` → a fresh one. */
    app.get('/tls', () => ({ address: sb().tls.address, caFile: sb().tls.caFile, certificates: sb().tls.list() }));
    app.get('/tls/:host', async (req, reply) => {
      try {
        return await sb().tls.certificate((req.params as { host: string }).host);
      } catch (err) {
        return fail(reply, err);
      }
    });
    app.post('/tls/:host', async (req, reply) => {
      const b = body(req.body);
      try {
        if (b.daysLeft !== undefined && typeof b.daysLeft !== 'number') throw new Error('daysLeft: must be a number of days');
        return await sb().tls.set((req.params as { host: string }).host, {
          daysLeft: b.daysLeft as number | undefined,
          untrusted: b.untrusted as boolean | undefined,
        });
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

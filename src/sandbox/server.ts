import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Apps, type AppDegradation } from './apps';
import { CallLog, redactHeaders, type CallFilter, type CallRecord } from './calls';
import { FaultInjector, type ActiveFault, type FaultSpec } from './faults';
import { resolveTiming, Scheduler, type TimingInput } from './timing';
import { mountOf, sendError, sendRateLimited, unauthorizedMessage } from './vendors';
import { VercelSandbox } from './vercel';
import type { World } from './world';

export interface SandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Milliseconds per asynchronous step, or per kind of step. */
  timing?: TimingInput;
}

export interface SandboxBaseUrls {
  vercel: string;
  netlify: string;
  supabase: string;
  /** Prefix of project gateways: `${supabaseProject}/<ref>` stands for https://<ref>.supabase.co. */
  supabaseProject: string;
  statuspage: string;
  pagerduty: string;
  slack: string;
  telegram: string;
  providers: { openai: string; anthropic: string };
}

interface Tracked {
  record?: CallRecord;
  vendor: NonNullable<ReturnType<typeof mountOf>>['vendor'];
  path: string;
  time: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    sandbox?: Tracked;
  }
}

function jsonParser(_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void): void {
  if (body.trim() === '') return done(null, undefined);
  try {
    done(null, JSON.parse(body));
  } catch {
    done(Object.assign(new Error('Invalid JSON in request body'), { statusCode: 400 }));
  }
}

/** Builds the Fastify app and the model behind it; `startSandbox` (index.ts) wraps it with the public API. */
export async function buildSandbox(opts: SandboxOptions) {
  const host = opts.host ?? '127.0.0.1';
  const timing = resolveTiming(opts.timing);
  const scheduler = new Scheduler(timing);
  const log = new CallLog();
  const faults = new FaultInjector();
  const providerIndicators = new Map<string, 'none' | 'minor' | 'major' | 'critical'>();
  const apps = new Apps((name) => providerIndicators.get(name) ?? 'none');
  let port = 0;
  const world: World = {
    apps,
    scheduler,
    origin: () => `http://${host}:${port}`,
    hostPort: () => `${host}:${port}`,
  };
  const vercel = new VercelSandbox(world);
  const delays = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  const app: FastifyInstance = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 5 * 1024 * 1024 });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, jsonParser);
  app.addContentTypeParser(/^application\/[\w.+-]*\+json/, { parseAs: 'string' }, jsonParser);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.addContentTypeParser('multipart/form-data', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  const recordOf = (req: FastifyRequest, t: Tracked): CallRecord =>
    log.add({
      vendor: t.vendor,
      method: req.method,
      path: t.path,
      query: { ...(req.query as Record<string, string | string[]>) },
      body: Buffer.isBuffer(req.body) ? `<${req.body.length} bytes>` : structuredClone(req.body),
      headers: redactHeaders(req.headers),
      time: t.time,
    });

  app.addHook('onRequest', async (req) => {
    const urlPath = req.url.split('?')[0];
    const m = mountOf(decodeURI(urlPath));
    if (m) req.sandbox = { ...m, time: Date.now() };
  });

  app.addHook('preHandler', async (req, reply) => {
    const t = req.sandbox;
    if (!t) return;
    t.record = recordOf(req, t);
    const fault = faults.take(t.vendor, req.method, t.path);
    if (!fault) return;
    t.record.fault = fault.kind;
    return answerFault(fault, t, reply);
  });

  app.addHook('onResponse', async (req, reply) => {
    const t = req.sandbox;
    if (!t) return;
    // Requests rejected before preHandler (bad JSON, missing auth) are logged here.
    t.record ??= recordOf(req, t);
    t.record.status = reply.statusCode;
  });

  async function answerFault(fault: ActiveFault, t: Tracked, reply: FastifyReply): Promise<FastifyReply | undefined> {
    switch (fault.kind) {
      case '429':
        return sendRateLimited(reply, t.vendor, fault.retryAfterSeconds);
      case '5xx':
        return sendError(reply, t.vendor, fault.status, 'An unexpected internal error occurred', 'internal_server_error');
      case '401':
      case '403':
        return sendError(reply, t.vendor, fault.status, unauthorizedMessage(t.vendor), fault.status === 403 ? 'forbidden' : undefined);
      case 'malformed':
        return reply.code(200).type('application/json; charset=utf-8').send('{"id": "truncated", "state": ');
      case 'delay':
        // Held past the client's timeout, then answered normally: the side effect still happens.
        await new Promise<void>((resolve) => {
          const entry = { timer: setTimeout(() => (delays.delete(entry), resolve()), fault.delayMs), resolve };
          delays.add(entry);
        });
        return undefined;
    }
  }

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const vendor = req.sandbox?.vendor ?? 'app';
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return sendError(reply, vendor, status, status === 500 ? 'An unexpected internal error occurred' : err.message);
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, req.sandbox?.vendor ?? 'app', 404, `No route for ${req.method} ${req.sandbox?.path ?? req.url}`, 'not_found'));

  await app.register(vercel.plugin, { prefix: '/vercel' });
  await app.register(apps.routesPlugin, { prefix: '/_apps' });

  return {
    app,
    host,
    world,
    log,
    faults,
    scheduler,
    apps,
    vercel,
    providerIndicators,
    setPort(p: number) {
      port = p;
    },
    releaseDelays() {
      for (const d of delays) {
        clearTimeout(d.timer);
        d.resolve();
      }
      delays.clear();
    },
  };
}

export type BuiltSandbox = Awaited<ReturnType<typeof buildSandbox>>;
export type { CallFilter, CallRecord, FaultSpec, ActiveFault, AppDegradation };

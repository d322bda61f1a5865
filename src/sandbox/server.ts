import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AppRequestMetrics, metricsRpsFromEnv } from './app-metrics';
import { Apps, type AppDegradation } from './apps';
import { CallLog, redactHeaders, type CallFilter, type CallRecord } from './calls';
import { FaultInjector, type ActiveFault, type FaultSpec } from './faults';
import { resolveTiming, Scheduler, type TimingInput } from './timing';
import { mountOf, sendError, sendRateLimited, unauthorizedMessage } from './vendors';
import { SlackSandbox, TelegramSandbox } from './chat';
import { NetlifySandbox } from './netlify';
import { PagerdutySandbox } from './pagerduty';
import { ProvidersSandbox } from './providers';
import { StatuspageSandbox } from './statuspage';
import { SupabaseSandbox } from './supabase';
import { TlsSandbox } from './tls';
import { VercelSandbox } from './vercel';
import type { World } from './world';

export interface SandboxOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Milliseconds per asynchronous step, or per kind of step. */
  timing?: TimingInput;
  /**
   * Unknown Vercel project names, Netlify sites and Supabase refs are provisioned on first use
   * (with two earlier production deployments and the usual env keys). Default true; false → 404
   * like the real APIs. Unknown `prj_…` ids are always 404.
   */
  autoProvision?: boolean;
  /**
   * Where the sandbox keeps its world across restarts (store.ts); loaded on start. Without it
   * (`npm run sandbox`, tests) everything lives in memory only.
   */
  dataDir?: string;
  /** The TLS endpoint's port (see tls.ts); default: the one saved with the world when free, else any. */
  tlsPort?: number;
  /** Calls the call log keeps (default 20 000; the oldest are dropped). */
  callLogLimit?: number;
  /** Simulated requests per second of each project's production in the Prometheus metrics (app-metrics.ts). */
  metricsRps?: number;
  /** A save to dataDir failed (the sandbox goes on; the next change tries again). Default: a line on stderr. */
  onSaveError?: (err: Error) => void;
}

/** How startSandbox hears about requests, to save what they changed. */
export interface SandboxHooks {
  /** A call was answered with the record's status. */
  callDone?: (record: CallRecord) => void;
  /** Runs before each reply leaves (awaited). */
  beforeReply?: (req: FastifyRequest) => Promise<void>;
}

export type { SandboxBaseUrls } from '../platforms/sandbox-target';

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
  const log = new CallLog(opts.callLogLimit);
  const hooks: SandboxHooks = {};
  const faults = new FaultInjector();
  let port = 0;
  const providers = new ProvidersSandbox(() => `http://${host}:${port}`);
  const apps = new Apps((name) => providers.indicator(name));
  const world: World = {
    apps,
    scheduler,
    origin: () => `http://${host}:${port}`,
    hostPort: () => `${host}:${port}`,
  };
  const autoProvision = opts.autoProvision ?? true;
  const vercel = new VercelSandbox(world, autoProvision);
  const netlify = new NetlifySandbox(world, autoProvision);
  const supabase = new SupabaseSandbox(world, autoProvision);
  // A production URL nobody has mentioned yet is taken for a Vercel project's.
  if (autoProvision) apps.provision = (key) => void vercel.project(key);
  const statuspage = new StatuspageSandbox(world);
  const pagerduty = new PagerdutySandbox();
  const slack = new SlackSandbox();
  const telegram = new TelegramSandbox();
  const tls = new TlsSandbox(host);
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

  app.addHook('onSend', async (req, reply, payload) => {
    const t = req.sandbox;
    if (t) {
      t.record ??= recordOf(req, t);
      t.record.status = reply.statusCode;
      hooks.callDone?.(t.record);
    }
    await hooks.beforeReply?.(req);
    return payload;
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
    const message = status === 500 ? 'An unexpected internal error occurred' : err.message;
    return sendError(reply, vendor, status, message, vendor === 'slack' && status === 400 ? 'invalid_payload' : undefined);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, req.sandbox?.vendor ?? 'app', 404, `No route for ${req.method} ${req.sandbox?.path ?? req.url}`, 'not_found'),
  );

  await app.register(vercel.plugin, { prefix: '/vercel' });
  await app.register(netlify.plugin, { prefix: '/netlify/api/v1' });
  await app.register(supabase.plugin, { prefix: '/supabase' });
  await app.register(supabase.gatewayPlugin, { prefix: '/supabase-project' });
  await app.register(statuspage.plugin, { prefix: '/statuspage/v1' });
  await app.register(pagerduty.plugin, { prefix: '/pagerduty' });
  await app.register(slack.plugin, { prefix: '/slack' });
  await app.register(telegram.plugin, { prefix: '/telegram' });
  await app.register(providers.plugin, { prefix: '/status' });
  await app.register(providers.apiPlugin, { prefix: '/ai' });
  await app.register(apps.routesPlugin, { prefix: '/_apps' });
  // The sample app's Prometheus metrics, for every project and deployment; outside the vendor mounts, so scrapes stay out of the call log.
  const appMetrics = new AppRequestMetrics(apps, opts.metricsRps ?? metricsRpsFromEnv(process.env));
  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await appMetrics.exposition();
    return reply.type(contentType).send(body);
  });

  return {
    app,
    host,
    world,
    log,
    hooks,
    faults,
    scheduler,
    apps,
    vercel,
    netlify,
    supabase,
    statuspage,
    pagerduty,
    slack,
    telegram,
    providers,
    tls,
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

import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import secureJsonParse from 'secure-json-parse';
import { DeliveryMemory, sentryTimestampProblem } from './deliveries';
import { AlertIngestor, IngestUnavailable } from './ingest';
import { AlertJournal } from './journal';
import {
  normalizeAlertmanager,
  normalizeGeneric,
  normalizeGrafana,
  normalizeSentry,
  normalizeVercel,
  safely,
  type NormalizeContext,
  type Normalized,
} from './normalize';
import { verifyBearer, verifyHmac } from './signatures';
import { secretFromEnv } from '../config/load';
import type { RunbookConfig } from '../config/schema';
import type { Alert } from '../workflows/common/alerts';
import { receiverMetrics, type ReceiverMetrics } from './metrics';
import { temporalReadiness, type ReadinessOptions } from './readiness';

export interface ReceiverOptions {
  config: RunbookConfig;
  /** Temporal client the alerts are recorded through. */
  client: Client;
  /** Where the bearer token and webhook secrets are read from (process.env in production). */
  env?: NodeJS.ProcessEnv;
  /** Overrides `webhooks.coalesce`; `false` is the one-call-per-alert baseline of the alert-storm bench. */
  coalesce?: boolean;
  /**
   * Overrides `webhooks.alertJournal`: a file to acknowledge alerts once they are fsync'd there; `null` acknowledges
   * only once Temporal has them.
   */
  alertJournal?: string | null;
  /** Overrides `webhooks.deliveryJournal`; `null` keeps Vercel delivery ids in memory only. */
  deliveryJournal?: string | null;
  /** A pino logger for warnings (Temporal refusing alerts, unconfigured secrets); requests themselves are not logged. */
  logger?: FastifyBaseLogger;
  /** Also export the process's CPU, memory and event-loop metrics. */
  processMetrics?: boolean;
  /** GET /readyz: how Temporal's reachability is checked (address for the message, RPC timeout, cache). */
  readiness?: ReadinessOptions;
}

export interface Receiver {
  app: FastifyInstance;
  ingestor: AlertIngestor;
  metrics: ReceiverMetrics;
  close(): Promise<void>;
}

/** The request body as received: the raw bytes are what Sentry and Vercel sign. */
/** A request's raw bytes; its JSON is parsed on first use, so a repeat answered from its bytes is never parsed. */
class Delivery {
  private parsed?: { json?: unknown; problem?: string };
  constructor(readonly raw: Buffer) {}

  get json(): unknown {
    return this.parse().json;
  }

  get problem(): string | undefined {
    return this.parse().problem;
  }

  private parse(): { json?: unknown; problem?: string } {
    if (this.parsed) return this.parsed;
    if (this.raw.length === 0) return (this.parsed = { problem: '(body): the body is empty; send a JSON object' });
    try {
      // As fastify's own JSON parser: __proto__ and constructor.prototype keys are refused.
      return (this.parsed = { json: secureJsonParse(this.raw.toString('utf8'), { protoAction: 'error', constructorAction: 'error' }) });
    } catch {
      return (this.parsed = { problem: '(body): not valid JSON' });
    }
  }
}

type Answer = [status: number, body: Record<string, unknown>];

/** Alerts held by the cache of accepted bodies, over all bodies. */
const ACCEPTED_BODY_ALERTS = 20_000;

/**
 * The webhook receiver: one route per alert source. Every request is authenticated (bearer token, or the
 * source's HMAC), size-limited and validated; a bad one gets a 4xx naming what is wrong and records nothing.
 * 202 is sent only once Temporal has accepted the alerts; when it has not, 503 with Retry-After.
 */
export async function buildReceiver(opts: ReceiverOptions): Promise<Receiver> {
  const { config } = opts;
  const hooks = config.webhooks;
  const env = opts.env ?? process.env;
  const retryAfter = String(Math.max(1, Math.ceil(hooks.retryAfter / 1000)));
  const metrics = receiverMetrics({ processMetrics: opts.processMetrics });
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: hooks.bodyLimitBytes,
    return503OnClosing: true,
  });

  const journalFile = opts.alertJournal === undefined ? hooks.alertJournal || undefined : (opts.alertJournal ?? undefined);
  const alertJournal = journalFile ? new AlertJournal(journalFile) : undefined;
  const ingestor = new AlertIngestor({
    journal: alertJournal,
    client: opts.client,
    taskQueue: config.temporal.taskQueue,
    coalesce: opts.coalesce ?? hooks.coalesce,
    maxQueuedAlerts: hooks.maxQueuedAlerts,
    maxConcurrentCalls: hooks.maxConcurrentCalls,
    maxBatch: hooks.maxBatch,
    timeoutMs: hooks.temporalTimeout,
    lingerMs: hooks.linger,
    repeats: hooks.repeatMemory && {
      maxKeys: hooks.repeatMemory.keys,
      maxAlertsPerKey: hooks.repeatMemory.alertsPerKey,
      ttlMs: hooks.repeatMemory.ttl,
    },
    severityPolicy: config.incidents,
    observer: {
      ...metrics.observer,
      error: (err, workflowId) =>
        app.log.warn({ workflowId, reason: err instanceof Error ? err.message : String(err) }, 'Temporal did not accept alerts'),
    },
  });
  metrics.watch(ingestor);
  const journal = opts.deliveryJournal === undefined ? hooks.deliveryJournal : (opts.deliveryJournal ?? undefined);
  const deliveries = new DeliveryMemory({ max: hooks.vercelReplayMemory, ttlMs: hooks.vercelReplayWindow, journal });

  // The raw bytes; the JSON is parsed when a route first needs it, and a parse error is reported after authentication.
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: hooks.bodyLimitBytes }, (_req, body, done) =>
    done(null, new Delivery(body as Buffer)),
  );

  // Bodies whose alerts were accepted, by their bytes' digest: Alertmanager resends a group byte for byte (each HA
  // peer, every repeat_interval), and such a resend, while its incident has all of it, is answered without parsing
  // or validating it again. Only while the repeat memory agrees: anything else takes the full path.
  const acceptedBodies =
    hooks.repeatMemory &&
    new LRUCache<string, Alert[]>({
      max: hooks.repeatMemory.keys,
      ttl: hooks.repeatMemory.ttl,
      // Bounded by the alerts held too: a group can hold hundreds.
      maxSize: ACCEPTED_BODY_ALERTS,
      sizeCalculation: (alerts) => Math.max(1, alerts.length),
    });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.code(413).send({ error: `the body is larger than ${hooks.bodyLimitBytes} bytes` });
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send({ error: 'Content-Type must be application/json' });
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    req.log.error({ err }, 'webhook request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));

  app.addHook('onResponse', async (req, reply) => {
    metrics.requests.inc({ route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });

  const context = (): NormalizeContext => ({ config, now: new Date() });

  /** Records the alerts, or says why not; a delivery seen before (`deliveryId` remembered) records nothing. */
  async function record(source: string, normalized: Normalized, deliveryId?: string): Promise<Answer> {
    if (!normalized.ok) return [400, { error: `invalid ${source} payload`, problems: normalized.problems }];
    if (normalized.alerts.length === 0) return [200, { incidents: [], accepted: 0, ignored: normalized.ignored ?? 'no alerts' }];
    const alerts = normalized.alerts;
    let result;
    if (deliveryId !== undefined) {
      const outcome = await deliveries.once(deliveryId, () => ingestor.ingest(alerts));
      if (outcome.replayed) {
        metrics.replays.inc({ source });
        const which = deliveryId.startsWith('sentry:') ? 'this signed body' : deliveryId;
        return [200, { incidents: [], accepted: 0, ignored: `delivery ${which} was already recorded` }];
      }
      result = outcome.result;
    } else {
      result = await ingestor.ingest(alerts);
    }
    if (result.accepted > 0) metrics.accepted.inc({ source }, result.accepted);
    if (result.accepted < alerts.length && result.incidents.length === 0) {
      return [200, { ...result, ignored: 'only resolutions, and no open incident to resolve' }];
    }
    return [202, { ...result }];
  }

  async function send(reply: FastifyReply, work: () => Promise<Answer>): Promise<FastifyReply> {
    try {
      const [status, body] = await work();
      return reply.code(status).send(body);
    } catch (err) {
      if (err instanceof IngestUnavailable) return reply.code(503).header('retry-after', retryAfter).send({ error: err.message });
      throw err;
    }
  }

  function delivery(req: FastifyRequest): Delivery | Answer {
    const body = req.body;
    if (!(body instanceof Delivery)) return [400, { error: 'send a JSON body', problems: ['(body): missing'] }];
    if (body.problem) return [400, { error: 'the body is not valid JSON', problems: [body.problem] }];
    return body;
  }

  /** Unset secrets warned about, so a sender retrying every few seconds does not flood the log. */
  const warnedUnset = new Set<string>();
  function notConfigured(source: string, envName: string): Answer {
    if (!warnedUnset.has(envName)) {
      warnedUnset.add(envName);
      app.log.warn(`webhooks for ${source} are refused: environment variable ${envName} is not set`);
    }
    return [503, { error: `${source} webhooks are not configured on this receiver` }];
  }

  /** Sources that do not sign: the token from Alertmanager's `http_config`, Grafana's contact point, or any client. */
  async function bearer(req: FastifyRequest, reply: FastifyReply) {
    const token = secretFromEnv(hooks.bearerTokenEnv, env);
    if (token) warnedUnset.delete(hooks.bearerTokenEnv);
    else {
      const [status, body] = notConfigured('bearer-authenticated', hooks.bearerTokenEnv);
      return reply.code(status).header('retry-after', retryAfter).send(body);
    }
    if (!verifyBearer(token, req.headers.authorization)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });
    }
  }

  const bearerRoutes: [string, string, (body: unknown, ctx: NormalizeContext) => Normalized][] = [
    ['/webhooks/alertmanager', 'alertmanager', normalizeAlertmanager],
    ['/webhooks/grafana', 'grafana', normalizeGrafana],
    ['/webhooks/generic', 'generic', normalizeGeneric],
  ];
  for (const [url, source, normalize] of bearerRoutes) {
    // Grafana and Alertmanager bodies are alerts and nothing that changes by the time they arrive; a generic
    // body may leave its times to the receiver, so it is always read afresh.
    const resent = acceptedBodies && source !== 'generic' ? acceptedBodies : undefined;
    app.post(url, { onRequest: bearer }, (req, reply) =>
      send(reply, async () => {
        const raw = req.body instanceof Delivery ? req.body.raw : undefined;
        const digest = resent && raw && `${source}:${createHash('sha256').update(raw).digest('base64')}`;
        const known = digest ? resent!.get(digest) : undefined;
        const repeat = known && ingestor.answerRepeats(known);
        if (repeat) {
          metrics.accepted.inc({ source }, repeat.accepted);
          return [202, { ...repeat }];
        }
        const d = delivery(req);
        if (!(d instanceof Delivery)) return d;
        const normalized = safely(() => normalize(d.json, context()));
        const answer = await record(source, normalized);
        if (digest && answer[0] === 202 && normalized.ok) resent!.set(digest, normalized.alerts);
        return answer;
      }),
    );
  }

  /** Sources that sign the raw body: the signature is checked before the body is even looked at. */
  function signed(
    url: string,
    source: string,
    sig: { algorithm: 'sha256' | 'sha1'; header: string; secretEnv: string },
    handle: (req: FastifyRequest, delivery: Delivery) => Promise<Answer>,
  ): void {
    app.post(url, (req, reply) =>
      send(reply, async () => {
        const secret = secretFromEnv(sig.secretEnv, env);
        if (!secret) return notConfigured(source, sig.secretEnv);
        warnedUnset.delete(sig.secretEnv);
        const raw = req.body instanceof Delivery ? req.body.raw : undefined;
        if (!raw || !verifyHmac(sig.algorithm, secret, raw, header(req, sig.header)))
          return [401, { error: `missing or wrong ${sig.header}` }];
        const d = delivery(req);
        return d instanceof Delivery ? handle(req, d) : d;
      }),
    );
  }

  signed(
    '/webhooks/sentry',
    'sentry',
    { algorithm: 'sha256', header: 'Sentry-Hook-Signature', secretEnv: hooks.sentrySecretEnv },
    (req, d) => {
      const stale = sentryTimestampProblem(header(req, 'sentry-hook-timestamp'), Date.now(), hooks.timestampTolerance);
      if (stale) return Promise.resolve<Answer>([401, { error: `Sentry-Hook-Timestamp: ${stale}` }]);
      // Sentry signs the body only (not the timestamp, nor Request-ID): the body's digest is the delivery's id.
      const digest = createHash('sha256').update(d.raw).digest('hex');
      return record(
        'sentry',
        safely(() => normalizeSentry(header(req, 'sentry-hook-resource'), d.json, context())),
        `sentry:${digest}`,
      );
    },
  );
  signed('/webhooks/vercel', 'vercel', { algorithm: 'sha1', header: 'x-vercel-signature', secretEnv: hooks.vercelSecretEnv }, (_req, d) => {
    const normalized = safely(() => normalizeVercel(d.json, context()));
    return record('vercel', normalized, 'deliveryId' in normalized ? normalized.deliveryId : undefined);
  });

  // Liveness: the process answers. Readiness: Temporal takes alerts now (a load balancer or probe routes on it).
  app.get('/healthz', async () => ({ status: 'ok', ...ingestor.stats() }));
  const readiness = temporalReadiness(opts.client, opts.readiness);
  app.get('/readyz', async (_req, reply) => {
    const r = await readiness.check();
    if (r.ready) return reply.code(200).send({ status: 'ready', temporal: 'reachable' });
    return reply.code(503).header('retry-after', retryAfter).send({ status: 'unavailable', temporal: r.reason });
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  await app.ready();
  return {
    app,
    ingestor,
    metrics,
    async close() {
      await app.close(); // stops taking requests; in-flight ones finish
      await ingestor.close();
      await alertJournal?.close();
    },
  };
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export interface StartedReceiver {
  url: string;
  port: number;
  receiver: Receiver;
  stop(): Promise<void>;
}

/** Starts the receiver on `port` (default `webhooks.port`; 0 picks a free one) for `npm start` and tests. */
export async function startReceiver(opts: ReceiverOptions & { port?: number; host?: string }): Promise<StartedReceiver> {
  const receiver = await buildReceiver(opts);
  const host = opts.host ?? opts.config.webhooks.host;
  await receiver.app.listen({ port: opts.port ?? opts.config.webhooks.port, host });
  const { port } = receiver.app.server.address() as AddressInfo;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, receiver, stop: () => receiver.close() };
}

/**
 * The codec server: Temporal's remote codec protocol (POST /encode and /decode of `{"payloads": [...]}`, bytes in
 * base64) over the service's payload codec, so the Temporal UI and `temporal` CLI show decrypted payloads to
 * those holding the token. `npm run codec-server` runs it alone; `npm start` runs it when a payload key is set.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { ConfigError, secretFromEnv } from '../config/load';
import { describeIssues } from '../workflows/common/failures';
import { verifyBearer } from '../receiver/signatures';
import { PayloadKeyError, payloadCodecFromEnv, PAYLOAD_KEY_ENV } from './codec';

export const CODEC_TOKEN_ENV = 'RUNBOOK_CODEC_TOKEN';
export const CODEC_ORIGINS_ENV = 'RUNBOOK_CODEC_ORIGINS';
export const CODEC_PORT_ENV = 'RUNBOOK_CODEC_PORT';
export const DEFAULT_CODEC_PORT = 8788;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** The bearer token callers present; unset, every request is refused with 503. */
  token: string | undefined;
  /** Browser origins (the Temporal UI's) allowed to call it. */
  origins: string[];
  /** Largest request body (default 4 MiB, Temporal's payload size limit). */
  bodyLimitBytes?: number;
  logger?: FastifyBaseLogger;
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const payloadsBody = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), base64).nullish(), data: base64.nullish() }).strict()),
});
type JsonPayload = { metadata?: Record<string, string>; data?: string };

const fromJson = (p: z.infer<typeof payloadsBody>['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

export async function buildCodecServer(opts: CodecServerOptions): Promise<FastifyInstance> {
  const origins = new Set(opts.origins.map((o) => o.replace(/\/+$/, '')));
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: opts.bodyLimitBytes ?? 4 * 1024 * 1024,
  });
  let warned = false;

  // CORS for the UI's origin only. Preflights carry no credentials, so they are answered before authentication.
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin && origins.has(origin)) {
      reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      if (!origin || !origins.has(origin)) return reply.code(403).send({ error: `origin ${origin ?? '(none)'} is not allowed` });
      return reply
        .code(204)
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
        .header('access-control-max-age', '600')
        .send();
    }
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url}` }));
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    req.log.error({ err }, 'codec request failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  /** The bearer token from the header, or from the path for UIs that can only be given a URL. */
  function authorized(req: FastifyRequest<{ Params: { token?: string } }>, reply: FastifyReply): boolean {
    if (!opts.token) {
      if (!warned) app.log.warn(`codec requests are refused: ${CODEC_TOKEN_ENV} is not set`);
      warned = true;
      void reply.code(503).send({ error: 'the codec server has no token configured' });
      return false;
    }
    const given = req.params.token !== undefined ? `Bearer ${req.params.token}` : req.headers.authorization;
    if (!verifyBearer(opts.token, given)) {
      void reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong bearer token' });
      return false;
    }
    return true;
  }

  for (const op of ['encode', 'decode'] as const) {
    const handler = async (req: FastifyRequest<{ Params: { token?: string } }>, reply: FastifyReply) => {
      if (!authorized(req, reply)) return reply;
      const parsed = payloadsBody.safeParse(req.body);
      if (!parsed.success) return reply.code(400).send({ error: `invalid ${op} request`, problems: describeIssues(parsed.error.issues) });
      try {
        const out = await opts.codec[op](parsed.data.payloads.map(fromJson));
        return reply.send({ payloads: out.map(toJson) });
      } catch (err) {
        if (err instanceof PayloadKeyError) return reply.code(400).send({ error: err.message });
        throw err;
      }
    };
    app.post(`/${op}`, handler);
    app.post(`/:token/${op}`, handler);
  }
  await app.ready();
  return app;
}

/** Allowed UI origins from RUNBOOK_CODEC_ORIGINS (comma-separated), else `fallback`. */
export function codecOrigins(env: NodeJS.ProcessEnv, fallback: string[]): string[] {
  const list = (env[CODEC_ORIGINS_ENV] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const o of list) {
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.pathname === '/' && !u.search && u.origin === o.replace(/\/+$/, '');
    } catch {
      ok = false;
    }
    if (!ok) throw new ConfigError('environment', [`${CODEC_ORIGINS_ENV}: "${o}" is not an origin (scheme://host[:port])`]);
  }
  return list.length ? list : fallback;
}

export async function startCodecServer(
  opts: CodecServerOptions & { port: number; host: string },
): Promise<{ url: string; app: FastifyInstance; stop(): Promise<void> }> {
  const app = await buildCodecServer(opts);
  await app.listen({ port: opts.port, host: opts.host });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`, app, stop: () => app.close() };
}

/** `npm run codec-server`: RUNBOOK_PAYLOAD_KEY (+ old keys), RUNBOOK_CODEC_TOKEN, RUNBOOK_CODEC_ORIGINS, RUNBOOK_CODEC_PORT/HOST. */
async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const codec = payloadCodecFromEnv(env);
  if (!codec) throw new ConfigError('environment', [`${PAYLOAD_KEY_ENV}: not set; the codec server decodes with the worker's keys`]);
  const token = secretFromEnv(CODEC_TOKEN_ENV, env);
  if (!token) throw new ConfigError('environment', [`${CODEC_TOKEN_ENV}: not set; callers must present it as a bearer token`]);
  const port = Number(env[CODEC_PORT_ENV] || DEFAULT_CODEC_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('environment', [`${CODEC_PORT_ENV}: must be a port number, got "${env[CODEC_PORT_ENV]}"`]);
  const origins = codecOrigins(env, ['http://localhost:8233', 'http://127.0.0.1:8233']);
  const server = await startCodecServer({ codec, token, origins, port, host: env.RUNBOOK_CODEC_HOST || '127.0.0.1' });
  console.log(`codec server on ${server.url} (/encode, /decode); UI origins allowed: ${origins.join(', ')}`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err) => {
    if (err instanceof ConfigError) for (const line of err.lines()) console.error(line);
    else console.error(err instanceof Error ? err.message : err);
    process.exit(err instanceof ConfigError ? 2 : 1);
  });
}

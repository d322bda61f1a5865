import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Apps } from './apps';
import type { Vendor } from './calls';
import { sendError, unauthorizedMessage } from './vendors';
import type { Scheduler } from './timing';

/** What every imitated vendor shares: the sample apps, the transition scheduler and the server's address. */
export interface World {
  apps: Apps;
  scheduler: Scheduler;
  /** `http://127.0.0.1:<port>` once listening. */
  origin(): string;
  /** `127.0.0.1:<port>`. */
  hostPort(): string;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function randomId(length: number, alphabet = ALPHABET): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i] % alphabet.length];
  return out;
}

export const params = (req: FastifyRequest) => req.params as Record<string, string>;
export const query = (req: FastifyRequest) => req.query as Record<string, string | string[] | undefined>;
export const firstQuery = (req: FastifyRequest, key: string): string | undefined => {
  const v = query(req)[key];
  return Array.isArray(v) ? v[0] : v;
};

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** onRequest hook: the vendor's answer to a request without `Authorization: <scheme> <token>`. */
export function requireAuth(vendor: Vendor, scheme: 'Bearer' | 'OAuth') {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization ?? '';
    const [s, token] = header.split(/\s+/, 2);
    if (s?.toLowerCase() !== scheme.toLowerCase() || !token) {
      // Vercel answers a missing token with 403 forbidden, the others with 401.
      const status = vendor === 'vercel' ? 403 : 401;
      return sendError(reply, vendor, status, unauthorizedMessage(vendor), vendor === 'vercel' ? 'forbidden' : undefined);
    }
  };
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './vendors';
import { isRecord, params, query, randomId, requireAuth, type World } from './world';

/** Supabase Management API and a project's API gateway (contracts/platforms.md). */

export const SUPABASE_SERVICES = ['auth', 'db', 'db_postgres_user', 'pooler', 'realtime', 'rest', 'storage', 'pg_bouncer'] as const;
export type SupabaseService = (typeof SUPABASE_SERVICES)[number];
export type ServiceStatus = 'COMING_UP' | 'ACTIVE_HEALTHY' | 'UNHEALTHY';

export interface SupabaseFunction {
  id: string;
  slug: string;
  name: string;
  status: 'ACTIVE' | 'REMOVED' | 'THROTTLED';
  version: number;
  created_at: number;
  updated_at: number;
  verify_jwt: boolean;
  entrypoint_path: string;
  /** Sandbox control: the function fails to boot (503) instead of answering. */
  down: boolean;
  /** The files of the last deploy by name, so tests can see what was uploaded; not part of the API's answer. */
  source: Record<string, string>;
}

export interface PitrRestore {
  recovery_time_target_unix: number;
  requestedAt: number;
  outcome: 'pending' | 'ACTIVE_HEALTHY' | 'RESTORE_FAILED';
}

/** A Supabase Auth (GoTrue) user of the project, as the admin API shows it. */
export interface SupabaseAuthUser {
  id: string;
  email: string | null;
  created_at: string;
  updated_at: string;
  /** Set by PUT /auth/v1/admin/users/{id} with a ban_duration; null once lifted with "none". */
  banned_until: string | null;
}

export interface SupabaseProject {
  ref: string;
  name: string;
  region: string;
  organization_id: string;
  created_at: string;
  status: string;
  services: Record<SupabaseService, ServiceStatus>;
  pitrEnabled: boolean;
  backups: Array<{ id: number; is_physical_backup: boolean; status: string; inserted_at: string }>;
  restores: PitrRestore[];
  failNextRestore: boolean;
  functions: Map<string, SupabaseFunction>;
  /** Supabase Auth's users, seeded by tests or the control API (the sandbox signs no one up). */
  authUsers: SupabaseAuthUser[];
}

export interface SupabaseState {
  projects: Array<Omit<SupabaseProject, 'functions'> & { functions: SupabaseFunction[] }>;
}

export type QueryHandler = (
  ref: string,
  body: { query: string; parameters?: unknown[]; read_only?: boolean },
) => unknown[] | Promise<unknown[]>;

const DAY = 86_400_000;

export class SupabaseSandbox {
  readonly projects = new Map<string, SupabaseProject>();
  /** Answers POST …/database/query; by default `select 1` style probes get one row, anything else none. */
  queryHandler: QueryHandler = (_ref, body) => (/^\s*select\s+1\s*;?\s*$/i.test(body.query) ? [{ '?column?': 1 }] : []);

  constructor(
    private readonly world: World,
    private readonly autoProvision: boolean,
  ) {
    world.scheduler.define<{ ref: string; restore: number; fail: boolean }>('supabase.restore', (a) => {
      const p = this.projects.get(a.ref);
      const restore = p?.restores[a.restore];
      if (p && restore?.outcome === 'pending') p.status = restore.outcome = a.fail ? 'RESTORE_FAILED' : 'ACTIVE_HEALTHY';
    });
  }

  dump(): SupabaseState {
    return { projects: [...this.projects.values()].map((p) => ({ ...p, functions: [...p.functions.values()] })) };
  }

  load(state: SupabaseState): void {
    this.projects.clear();
    for (const p of state.projects)
      this.projects.set(p.ref, { ...p, authUsers: p.authUsers ?? [], functions: new Map(p.functions.map((f) => [f.slug, f])) });
  }

  project(ref: string): SupabaseProject | undefined {
    const p = this.projects.get(ref);
    if (p) return p;
    return this.autoProvision && /^[a-z]{20}$/.test(ref) ? this.seedProject(ref) : undefined;
  }

  seedProject(ref: string, opts: { functions?: string[] } = {}): SupabaseProject {
    if (!/^[a-z]{20}$/.test(ref)) throw new Error(`ref: "${ref}" is not a 20-letter Supabase project ref`);
    let p = this.projects.get(ref);
    if (!p) {
      const now = Date.now();
      const services = Object.fromEntries(SUPABASE_SERVICES.map((s) => [s, 'ACTIVE_HEALTHY'])) as Record<SupabaseService, ServiceStatus>;
      p = {
        ref,
        name: ref,
        region: 'us-east-1',
        organization_id: randomId(20, 'abcdefghijklmnopqrstuvwxyz'),
        created_at: new Date(now - 90 * DAY).toISOString(),
        status: 'ACTIVE_HEALTHY',
        services,
        pitrEnabled: true,
        backups: Array.from({ length: 7 }, (_, i) => {
          const d = new Date(now - (i + 1) * DAY);
          d.setUTCHours(3, 0, 0, 0);
          return { id: 1000 + 7 - i, is_physical_backup: true, status: 'COMPLETED', inserted_at: d.toISOString() };
        }),
        restores: [],
        failNextRestore: false,
        functions: new Map(),
        authUsers: [],
      };
      this.projects.set(ref, p);
    }
    for (const slug of opts.functions ?? []) if (!p.functions.has(slug)) this.deployFunction(p, slug, `index.ts`);
    return p;
  }

  private deployFunction(
    p: SupabaseProject,
    slug: string,
    entrypoint: string,
    name?: string,
    verifyJwt = true,
    source: Record<string, string> = {},
  ): SupabaseFunction {
    const now = Date.now();
    const existing = p.functions.get(slug);
    const fn: SupabaseFunction = existing
      ? {
          ...existing,
          version: existing.version + 1,
          updated_at: now,
          entrypoint_path: entrypoint,
          name: name ?? existing.name,
          verify_jwt: verifyJwt,
          source,
        }
      : {
          id: crypto.randomUUID(),
          slug,
          name: name ?? slug,
          status: 'ACTIVE',
          version: 1,
          created_at: now,
          updated_at: now,
          verify_jwt: verifyJwt,
          entrypoint_path: entrypoint,
          down: false,
          source,
        };
    p.functions.set(slug, fn);
    return fn;
  }

  /** Adds (or leaves as it is) a Supabase Auth user of the project. */
  seedAuthUser(p: SupabaseProject, user: { id: string; email?: string | null }): SupabaseAuthUser {
    const existing = p.authUsers.find((u) => u.id === user.id);
    if (existing) return existing;
    const at = new Date().toISOString();
    const created: SupabaseAuthUser = { id: user.id, email: user.email ?? null, created_at: at, updated_at: at, banned_until: null };
    p.authUsers.push(created);
    return created;
  }

  /** Time span PITR can restore to, unix seconds. */
  pitrWindow(_p: SupabaseProject): { earliest: number; latest: number } {
    const now = Math.floor(Date.now() / 1000);
    return { earliest: now - 7 * 86_400, latest: now };
  }

  projectView(p: SupabaseProject) {
    return {
      id: p.ref,
      ref: p.ref,
      organization_id: p.organization_id,
      name: p.name,
      region: p.region,
      created_at: p.created_at,
      status: p.status,
      database: { host: `db.${p.ref}.supabase.co`, version: '15.8.1.085', postgres_engine: '15', release_channel: 'ga' },
    };
  }

  private serviceStatus(p: SupabaseProject, s: SupabaseService): ServiceStatus {
    if (p.status === 'RESTORING' || p.status === 'COMING_UP') return 'COMING_UP';
    if (p.status === 'RESTORE_FAILED' && s.startsWith('db')) return 'UNHEALTHY';
    return p.services[s];
  }

  private functionView(f: SupabaseFunction) {
    const { down: _down, source: _source, ...rest } = f;
    return rest;
  }

  plugin = async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', requireAuth('supabase', 'Bearer'));
    const withProject = (req: FastifyRequest, reply: FastifyReply) => {
      const p = this.project(params(req).ref);
      if (!p) sendError(reply, 'supabase', 404, `Project ${params(req).ref} not found`);
      return p;
    };

    app.get('/v1/projects/:ref', (req, reply) => {
      const p = withProject(req, reply);
      return p ? reply.send(this.projectView(p)) : reply;
    });

    app.get('/v1/projects/:ref/health', (req, reply) => {
      const p = withProject(req, reply);
      if (!p) return reply;
      const raw = query(req).services;
      const names = (Array.isArray(raw) ? raw : raw ? [raw] : [])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter(Boolean);
      if (!names.length) return sendError(reply, 'supabase', 400, `services: required; one or more of ${SUPABASE_SERVICES.join(', ')}`);
      const bad = names.find((n) => !(SUPABASE_SERVICES as readonly string[]).includes(n));
      if (bad) return sendError(reply, 'supabase', 400, `services: "${bad}" is not one of ${SUPABASE_SERVICES.join(', ')}`);
      const timeout = query(req).timeout_ms;
      if (timeout !== undefined) {
        const t = Number(Array.isArray(timeout) ? timeout[0] : timeout);
        if (!Number.isInteger(t) || t < 0 || t > 10_000)
          return sendError(reply, 'supabase', 400, 'timeout_ms: must be an integer from 0 to 10000');
      }
      return reply.send(
        [...new Set(names)].map((name) => {
          const status = this.serviceStatus(p, name as SupabaseService);
          const info =
            name === 'auth'
              ? { name: 'GoTrue', version: 'v2.170.0', description: 'GoTrue is a user registration and authentication API' }
              : name === 'db'
                ? {
                    healthy: status === 'ACTIVE_HEALTHY',
                    db_connected: status === 'ACTIVE_HEALTHY',
                    connected_cluster: status === 'ACTIVE_HEALTHY' ? 1 : 0,
                  }
                : undefined;
          return {
            name,
            status,
            healthy: status === 'ACTIVE_HEALTHY',
            ...(info ? { info } : {}),
            ...(status === 'UNHEALTHY' ? { error: `${name} is not responding` } : {}),
          };
        }),
      );
    });

    app.get('/v1/projects/:ref/database/backups', (req, reply) => {
      const p = withProject(req, reply);
      if (!p) return reply;
      const w = this.pitrWindow(p);
      return reply.send({
        region: p.region,
        walg_enabled: true,
        pitr_enabled: p.pitrEnabled,
        backups: p.backups,
        physical_backup_data: p.pitrEnabled
          ? { earliest_physical_backup_date_unix: w.earliest, latest_physical_backup_date_unix: w.latest }
          : {},
      });
    });

    app.post('/v1/projects/:ref/database/backups/restore-pitr', (req, reply) => {
      const p = withProject(req, reply);
      if (!p) return reply;
      const t = isRecord(req.body) ? req.body.recovery_time_target_unix : undefined;
      if (typeof t !== 'number' || !Number.isInteger(t))
        return sendError(reply, 'supabase', 400, 'recovery_time_target_unix: must be an integer (unix seconds)');
      if (!p.pitrEnabled) return sendError(reply, 'supabase', 400, 'Point-in-time recovery is not enabled for this project');
      const w = this.pitrWindow(p);
      if (t < w.earliest || t > w.latest) {
        return sendError(reply, 'supabase', 400, `recovery_time_target_unix: must be between ${w.earliest} and ${w.latest}`);
      }
      if (p.status !== 'ACTIVE_HEALTHY' && p.status !== 'RESTORE_FAILED') {
        return sendError(reply, 'supabase', 400, `Project is ${p.status}; a restore needs an ACTIVE_HEALTHY project`);
      }
      const restore: PitrRestore = { recovery_time_target_unix: t, requestedAt: Date.now(), outcome: 'pending' };
      p.restores.push(restore);
      p.status = 'RESTORING';
      const fail = p.failNextRestore;
      p.failNextRestore = false;
      this.world.scheduler.schedule(
        'supabase.restore',
        { ref: p.ref, restore: p.restores.length - 1, fail },
        this.world.scheduler.timing.restoreStepMs,
      );
      return reply.code(201).send();
    });

    app.post('/v1/projects/:ref/database/query', async (req, reply) => {
      const p = withProject(req, reply);
      if (!p) return reply;
      const b = req.body;
      if (!isRecord(b) || typeof b.query !== 'string' || !b.query.trim())
        return sendError(reply, 'supabase', 400, 'query: required, a SQL string');
      if (b.parameters !== undefined && !Array.isArray(b.parameters))
        return sendError(reply, 'supabase', 400, 'parameters: must be an array');
      if (b.read_only !== undefined && typeof b.read_only !== 'boolean')
        return sendError(reply, 'supabase', 400, 'read_only: must be a boolean');
      try {
        const rows = await this.queryHandler(p.ref, {
          query: b.query,
          parameters: b.parameters as unknown[] | undefined,
          read_only: b.read_only as boolean | undefined,
        });
        return reply.code(201).send(rows);
      } catch (err) {
        return sendError(reply, 'supabase', 400, `Failed to run sql query: ${err instanceof Error ? err.message : String(err)}`);
      }
    });

    app.get('/v1/projects/:ref/functions', (req, reply) => {
      const p = withProject(req, reply);
      return p ? reply.send([...p.functions.values()].map((f) => this.functionView(f))) : reply;
    });

    app.post('/v1/projects/:ref/functions/deploy', async (req, reply) => {
      const p = withProject(req, reply);
      if (!p) return reply;
      const slug = query(req).slug;
      if (typeof slug !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(slug))
        return sendError(reply, 'supabase', 400, 'slug: required query parameter (letters, digits, - and _)');
      const ct = req.headers['content-type'] ?? '';
      if (!Buffer.isBuffer(req.body) || !ct.startsWith('multipart/form-data')) {
        return sendError(reply, 'supabase', 400, 'body: must be multipart/form-data with a metadata part and file parts');
      }
      let form: FormData;
      try {
        form = await new Response(req.body, { headers: { 'content-type': ct } }).formData();
      } catch {
        return sendError(reply, 'supabase', 400, 'body: malformed multipart/form-data');
      }
      const rawMeta = form.get('metadata');
      let meta: unknown;
      try {
        meta = typeof rawMeta === 'string' ? JSON.parse(rawMeta) : rawMeta ? JSON.parse(await rawMeta.text()) : undefined;
      } catch {
        meta = undefined;
      }
      if (!isRecord(meta) || typeof meta.entrypoint_path !== 'string')
        return sendError(reply, 'supabase', 400, 'metadata: required JSON with entrypoint_path');
      const files = form.getAll('file').filter((f): f is File => typeof f !== 'string');
      if (files.length === 0) return sendError(reply, 'supabase', 400, 'file: at least one file part is required');
      const source = Object.fromEntries(await Promise.all(files.map(async (f) => [f.name, await f.text()] as const)));
      if (!(meta.entrypoint_path in source))
        return sendError(reply, 'supabase', 400, `metadata.entrypoint_path: ${meta.entrypoint_path} is not among the uploaded files`);
      const fn = this.deployFunction(
        p,
        slug,
        meta.entrypoint_path,
        typeof meta.name === 'string' ? meta.name : undefined,
        meta.verify_jwt !== false,
        source,
      );
      return reply.code(201).send(this.functionView(fn));
    });
  };

  /** https://<ref>.supabase.co, mounted at /supabase-project/<ref>. */
  gatewayPlugin = async (app: FastifyInstance): Promise<void> => {
    const unavailable = (reply: FastifyReply) => sendError(reply, 'supabase-project', 503, 'Service Unavailable');
    app.get('/:ref/auth/v1/health', (req, reply) => {
      const p = this.project(params(req).ref);
      if (!p) return sendError(reply, 'supabase-project', 404, 'Not Found');
      if (!req.headers.apikey)
        return reply.code(401).send({ message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' });
      if (this.serviceStatus(p, 'auth') !== 'ACTIVE_HEALTHY') return unavailable(reply);
      return reply.send({ version: 'v2.170.0', name: 'GoTrue', description: 'GoTrue is a user registration and authentication API' });
    });
    // GoTrue's admin API: the service_role key as apikey and bearer token; ban_duration is a Go duration or "none".
    /** The admin API's checks, in GoTrue's order: project, apikey, bearer token, Auth up, the user; undefined once answered. */
    const adminUser = (req: FastifyRequest, reply: FastifyReply): SupabaseAuthUser | undefined => {
      const p = this.project(params(req).ref);
      if (!p) return void sendError(reply, 'supabase-project', 404, 'Not Found');
      if (!req.headers.apikey)
        return void reply
          .code(401)
          .send({ message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' });
      const [scheme, token] = (req.headers.authorization ?? '').split(/\s+/, 2);
      if (scheme?.toLowerCase() !== 'bearer' || !token)
        return void reply.code(401).send({ code: 401, error_code: 'no_authorization', msg: 'This endpoint requires a Bearer token' });
      if (this.serviceStatus(p, 'auth') !== 'ACTIVE_HEALTHY') return void unavailable(reply);
      const user = p.authUsers.find((u) => u.id === params(req).id);
      if (!user) return void reply.code(404).send({ code: 404, error_code: 'user_not_found', msg: 'User not found' });
      return user;
    };
    const userView = (user: SupabaseAuthUser) => ({
      ...user,
      aud: 'authenticated',
      role: 'authenticated',
      app_metadata: {},
      user_metadata: {},
    });
    app.get('/:ref/auth/v1/admin/users/:id', (req, reply) => {
      const user = adminUser(req, reply);
      return user ? reply.send(userView(user)) : reply;
    });
    app.put('/:ref/auth/v1/admin/users/:id', (req, reply) => {
      const user = adminUser(req, reply);
      if (!user) return reply;
      const body = isRecord(req.body) ? req.body : {};
      if (body.ban_duration !== undefined) {
        const ms = typeof body.ban_duration === 'string' ? banDurationMs(body.ban_duration) : undefined;
        if (ms === undefined)
          return reply.code(400).send({
            code: 400,
            error_code: 'validation_failed',
            msg: `invalid format for ban duration: ${JSON.stringify(body.ban_duration)} (a duration such as "24h" or "none")`,
          });
        user.banned_until = ms === null ? null : new Date(Date.now() + ms).toISOString();
      }
      user.updated_at = new Date().toISOString();
      return reply.send(userView(user));
    });
    app.all('/:ref/functions/v1/:name', (req, reply) => {
      const p = this.project(params(req).ref);
      if (!p) return sendError(reply, 'supabase-project', 404, 'Not Found');
      if (p.status !== 'ACTIVE_HEALTHY') return unavailable(reply);
      const fn = p.functions.get(params(req).name);
      if (!fn || fn.status === 'REMOVED') return reply.code(404).send({ code: 'NOT_FOUND', message: 'Requested function was not found' });
      if (fn.down) return reply.code(503).send({ code: 'BOOT_ERROR', message: 'Function failed to start (please check logs)' });
      if (!req.headers.authorization) return reply.code(401).send({ code: 401, message: 'Missing authorization header' });
      // The sandbox holds no signing key, so every JWT is invalid: the 401 the second runbook reads as "backend up".
      return reply.code(401).send({ code: 401, message: 'Invalid JWT' });
    });
  };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("876000h", "2h45m") in ms; null for "none" (lift the ban); undefined when malformed. */
function banDurationMs(text: string): number | null | undefined {
  if (text === 'none') return null;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((m) => m[0]).join('') !== text) return undefined;
  return parts.reduce((sum, m) => sum + Number(m[1]) * DURATION_UNITS[m[2]], 0);
}

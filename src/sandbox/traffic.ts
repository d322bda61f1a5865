import type { Pool } from 'pg';
import { createPool } from '../db/connect';
import type { AppInstance, ProductionRoute } from './apps';
import type { Sandbox } from './index';
import { hasTables, writeBatch } from './history';
import { Batch, mulberry32, type AppUser, type AppWorld, type Rng, type SampleApp, type Serving } from './sample-apps';

/**
 * The sample app's live traffic: while the sandbox runs, the app behind `production/<project>` writes
 * what its users do into its database (requests with status and latency, messages with tokens and
 * cost, sign-ins, tasks, its 5-minute health check). Each request is served by the deployment the
 * sandbox routes it to (the canary's share during a rolling release), and takes that deployment's
 * error rate and latency: degrade it (a drill, /_sandbox/apps/degrade) and the rows show it.
 */

/** RUNBOOK_TRAFFIC_RPS: requests per second (each writes one to five rows); 0 turns traffic off. */
export const DEFAULT_TRAFFIC_RPS = 1;
export const TRAFFIC_RPS_ENV = 'RUNBOOK_TRAFFIC_RPS';

export function trafficRateFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env[TRAFFIC_RPS_ENV];
  if (raw === undefined || raw === '') return DEFAULT_TRAFFIC_RPS;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > 1000)
    throw new Error(`${TRAFFIC_RPS_ENV}: must be a number of requests per second from 0 to 1000, got "${raw}"`);
  return n;
}

/** What traffic reads of the sandbox: which deployment serves the project, and its profile. */
export interface ServingSource {
  production(project: string): ProductionRoute | undefined;
  instance(deploymentId: string): AppInstance | undefined;
}

/** The AI providers' status and the project's FORCE_PROVIDER, as the app would see them. */
export interface PlatformState {
  providers: Record<string, string>;
  forceProvider?: string;
}

/** Reads the sandbox's provider status pages and the Vercel project's production FORCE_PROVIDER. */
export function platformStateOf(sandbox: Pick<Sandbox, 'state'>, projectId: string): PlatformState {
  const snap = sandbox.state.snapshot();
  const providers = Object.fromEntries(Object.entries(snap.providers).map(([name, p]) => [name, p.indicator]));
  const project = snap.vercel.projects.find((p) => p.id === projectId || p.name === projectId);
  const force = project?.envs.find((e) => e.key === 'FORCE_PROVIDER' && e.target.includes('production'))?.value;
  return { providers, ...(force ? { forceProvider: force } : {}) };
}

export interface TrafficOptions {
  /** The sample app's database. */
  url: string;
  app: SampleApp;
  /** Sandbox project (Vercel project or Netlify site) whose production serves the app. */
  projectId: string;
  sandbox: ServingSource;
  /** Requests per second. */
  rps: number;
  seed?: number;
  tickMs?: number;
  /** The app's own health check interval (the runbook: every 5 minutes). */
  healthEveryMs?: number;
  log?: (level: 'info' | 'warn', msg: string) => void;
  /** Provider status and FORCE_PROVIDER (see platformStateOf), read at most every `platformEveryMs` (default 10 s). */
  platform?: () => PlatformState;
  platformEveryMs?: number;
}

export interface Traffic {
  /** Writes `count` requests now (spread over the last tick); returns rows written. Used by the timer and by tests. */
  write(count: number, at?: Date): Promise<number>;
  /** Rows written so far, per table. */
  written(): Record<string, number>;
  stop(): Promise<void>;
}

/** The deployment a request to `projectId` reaches now, or undefined when nothing serves it. */
export function servingNow(rng: Rng, sandbox: ServingSource, projectId: string): Serving | undefined {
  const route = sandbox.production(projectId);
  if (!route?.current) return undefined;
  const id = route.canary && rng() * 100 < route.canaryPercent ? route.canary : route.current;
  const inst = sandbox.instance(id);
  if (!inst || inst.phase !== 'ready') return undefined;
  const p = inst.profile;
  // In maintenance mode nobody's requests reach the app's database.
  if (p.maintenance) return undefined;
  return {
    deploymentId: id,
    errorRate: p.errorRate,
    p50Ms: p.p50Ms,
    p99Ms: p.p99Ms,
    delayMs: p.delayMs,
    healthy: p.healthy,
    status500: p.status500,
    version: inst.version,
  };
}

export function startTraffic(opts: TrafficOptions, { timer = true } = {}): Traffic {
  const rng = mulberry32(opts.seed ?? Date.now() % 2 ** 31);
  const tickMs = opts.tickMs ?? 1_000;
  const healthEvery = opts.healthEveryMs ?? 300_000;
  const pool: Pool = createPool(opts.url, { max: 1, application_name: `sample-app-traffic:${opts.app.name}` });
  const totals: Record<string, number> = {};
  const world: AppWorld = { users: [], conversations: new Map() };
  let usersLoadedAt = 0;
  let platform: PlatformState | undefined;
  let platformAt = -Infinity;
  const serving = (): Serving | undefined => {
    const s = servingNow(rng, opts.sandbox, opts.projectId);
    return s && platform ? { ...s, ...platform } : s;
  };
  let lastHealth = 0;
  let lastWarn = 0;
  let due = 0;
  let stopped = false;
  let inFlight: Promise<unknown> = Promise.resolve();
  let handle: NodeJS.Timeout | undefined;

  const warn = (msg: string) => {
    // A restore, a restart or a dropped table: say so once a minute, keep trying.
    if (Date.now() - lastWarn < 60_000) return;
    lastWarn = Date.now();
    opts.log?.('warn', `sample app ${opts.app.name}: ${msg}`);
  };

  async function loadUsers(): Promise<void> {
    const { rows } = await pool.query<{ id: string; email: string; created_at: Date; blocked: boolean }>(opts.app.usersQuery);
    world.users = rows.map((r): AppUser => ({ id: r.id, email: r.email, createdAt: r.created_at, blocked: r.blocked }));
    usersLoadedAt = Date.now();
  }

  async function write(count: number, at: Date = new Date()): Promise<number> {
    // Blocked users (the runbook's UPDATE users SET blocked = true) show within a minute.
    if (!world.users.length || Date.now() - usersLoadedAt > 60_000) {
      if (!(await hasTables(pool, opts.app))) throw new Error('its tables are missing (migrations not applied, or a restore is running)');
      await loadUsers();
    }
    if (opts.platform && Date.now() - platformAt >= (opts.platformEveryMs ?? 10_000)) {
      platform = opts.platform();
      platformAt = Date.now();
    }
    const batch = new Batch(opts.app.tables);
    const end = at.getTime();
    const times = Array.from({ length: count }, () => end - Math.floor(rng() * tickMs)).sort((a, b) => a - b);
    for (const t of times) {
      const s = serving();
      if (s) opts.app.request(rng, new Date(t), s, world, batch);
    }
    if (opts.app.healthCheck && end - lastHealth >= healthEvery) {
      const s = serving();
      if (s) {
        opts.app.healthCheck(rng, at, s, batch);
        lastHealth = end;
      }
    }
    if (!batch.count() && !batch.updates.length) return 0;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const counts = await writeBatch(client, batch);
      await client.query('COMMIT');
      for (const [t, n] of Object.entries(counts)) totals[t] = (totals[t] ?? 0) + n;
      return batch.count();
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  let last = Date.now();
  const loop = () => {
    if (stopped) return;
    const now = Date.now();
    due += (opts.rps * (now - last)) / 1000;
    last = now;
    const n = Math.floor(due);
    due -= n;
    inFlight = write(n, new Date(now))
      .catch((err: Error) => warn(`traffic not written: ${err.message}`))
      .finally(() => {
        if (!stopped) handle = setTimeout(loop, tickMs);
      });
  };
  if (timer && opts.rps > 0) handle = setTimeout(loop, tickMs);

  return {
    write,
    written: () => ({ ...totals }),
    async stop() {
      stopped = true;
      if (handle) clearTimeout(handle);
      await inFlight;
      await pool.end();
    },
  };
}

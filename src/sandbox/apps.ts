import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The sample app behind every sandbox deployment. Each deployment serves `/api/health` in the first
 * runbook's shape, `/api/metrics`, and 200 HTML elsewhere; `production/<project>` serves whichever
 * deployment is live, split by percentage during a rolling release.
 */

export interface AppProfile {
  /** Percent of requests failing, as reported by /api/metrics. */
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** false → /api/health reports "degraded" (503) like the runbook's unhealthy example. */
  healthy: boolean;
  /** true → every path answers 500. */
  status500: boolean;
  /** Bounded relative jitter (0–0.5) on metrics, for healthy-but-noisy apps; true = 0.2. */
  noise: number;
  /** Real delay before each response, e.g. past a health-check timeout. */
  delayMs: number;
  /** true → maintenance mode: every path answers 503 and the app writes nothing (stopped writes during a restore). */
  maintenance?: boolean;
}

export type AppDegradation = Partial<Omit<AppProfile, 'noise'>> & { noise?: number | boolean };

export const HEALTHY_PROFILE: AppProfile = Object.freeze({
  errorRate: 0.02,
  p50Ms: 90,
  p95Ms: 240,
  p99Ms: 480,
  healthy: true,
  status500: false,
  noise: 0,
  delayMs: 0,
});

export interface RuntimeLogLine {
  level: 'info' | 'warning' | 'error';
  message: string;
  source: 'serverless' | 'edge-function' | 'static';
  timestampInMs: number;
  requestMethod: string;
  requestPath: string;
  responseStatusCode: number;
}

export interface AppInstance {
  deploymentId: string;
  platform: 'vercel' | 'netlify';
  projectId: string;
  version: string;
  /** building → 503, failed → 404, ready → the app. */
  phase: 'building' | 'ready' | 'failed';
  profile: AppProfile;
  requests: number;
  logs: RuntimeLogLine[];
}

export interface ProductionRoute {
  current?: string;
  canary?: string;
  canaryPercent: number;
}

type Indicator = 'none' | 'minor' | 'major' | 'critical';
type BuildOutcome = 'ERROR' | 'CANCELED';

/** What a restart must not forget: each deployment's app (phase, health profile, logs) and what production serves. */
export interface AppsState {
  instances: AppInstance[];
  routes: Array<ProductionRoute & { served: number; projectId: string }>;
  projectKeys: Record<string, string>;
  buildFailures: Record<string, BuildOutcome[]>;
}

export class Apps {
  private instances = new Map<string, AppInstance>();
  private routes = new Map<string, ProductionRoute & { served: number; projectId: string }>();
  private projectKeys = new Map<string, string>();
  private buildFailures = new Map<string, BuildOutcome[]>();

  /** Called for an unknown project key on the production route (auto-provisioning). */
  provision?: (projectKey: string) => void;

  constructor(private readonly providerIndicator: (name: string) => Indicator) {}

  /** Runtime logs are saved up to this many lines per deployment (the newest), so the saved world stays small. */
  static readonly SAVED_LOG_LINES = 200;

  dump(): AppsState {
    return {
      instances: [...this.instances.values()].map((i) =>
        i.logs.length > Apps.SAVED_LOG_LINES ? { ...i, logs: i.logs.slice(-Apps.SAVED_LOG_LINES) } : i,
      ),
      routes: [...this.routes.values()],
      projectKeys: Object.fromEntries(this.projectKeys),
      buildFailures: Object.fromEntries(this.buildFailures),
    };
  }

  load(state: AppsState): void {
    this.instances = new Map(state.instances.map((i) => [i.deploymentId, i]));
    this.routes = new Map(state.routes.map((r) => [r.projectId, r]));
    this.projectKeys = new Map(Object.entries(state.projectKeys));
    this.buildFailures = new Map(Object.entries(state.buildFailures));
  }

  register(instance: Omit<AppInstance, 'profile' | 'requests' | 'logs'>): AppInstance {
    const full: AppInstance = { ...instance, profile: { ...HEALTHY_PROFILE }, requests: 0, logs: [] };
    this.instances.set(instance.deploymentId, full);
    return full;
  }

  instance(deploymentId: string): AppInstance | undefined {
    return this.instances.get(deploymentId);
  }

  /** Makes a project reachable under every key (id and name) at `/_apps/production/<key>`. */
  registerProject(projectId: string, keys: string[]): void {
    for (const k of [projectId, ...keys]) this.projectKeys.set(k, projectId);
    if (!this.routes.has(projectId)) this.routes.set(projectId, { projectId, canaryPercent: 0, served: 0 });
  }

  projectIdOf(key: string): string | undefined {
    return this.projectKeys.get(key);
  }

  setProduction(projectId: string, route: ProductionRoute): void {
    const r = this.routes.get(projectId);
    if (!r) throw new Error(`unknown project ${projectId}`);
    Object.assign(r, { current: route.current, canary: route.canary, canaryPercent: route.canary ? route.canaryPercent : 0 });
  }

  /** Every project's production route (what serves it now). */
  routeList(): Array<ProductionRoute & { projectId: string }> {
    return [...this.routes.values()].map((r) => ({
      projectId: r.projectId,
      current: r.current,
      canary: r.canary,
      canaryPercent: r.canaryPercent,
    }));
  }

  production(projectKey: string): ProductionRoute | undefined {
    const id = this.projectKeys.get(projectKey);
    const r = id ? this.routes.get(id) : undefined;
    return r ? { current: r.current, canary: r.canary, canaryPercent: r.canaryPercent } : undefined;
  }

  /** The next build of this project (Vercel project or Netlify site) ends in ERROR (or CANCELED). */
  failNextBuild(projectKey: string, outcome: BuildOutcome = 'ERROR'): void {
    const id = this.projectKeys.get(projectKey);
    if (!id) throw new Error(`project: no sandbox project or site "${projectKey}"`);
    this.buildFailures.set(id, [...(this.buildFailures.get(id) ?? []), outcome]);
  }

  takeBuildFailure(projectId: string): BuildOutcome | undefined {
    const queue = this.buildFailures.get(projectId);
    return queue?.shift();
  }

  /**
   * Deployments a degrade/restore target names: a deployment id, `production/<project>` (whatever is
   * live there now, canary included), or `production` when the sandbox has one project.
   */
  resolveTarget(target: string): string[] {
    if (this.instances.has(target)) return [target];
    let projectId: string | undefined;
    if (target === 'production') {
      const ids = [...this.routes.keys()];
      if (ids.length !== 1) throw new Error(`target: "production" is ambiguous with ${ids.length} projects; use production/<projectId>`);
      projectId = ids[0];
    } else if (target.startsWith('production/')) {
      projectId = this.projectKeys.get(target.slice('production/'.length));
    }
    const route = projectId ? this.routes.get(projectId) : undefined;
    if (!route) throw new Error(`target: no deployment or production/<project> named "${target}"`);
    return [route.current, route.canary].filter((x): x is string => !!x);
  }

  degrade(target: string, change: AppDegradation): string[] {
    const ids = this.resolveTarget(target);
    const { noise, ...rest } = change;
    for (const id of ids) {
      const inst = this.instances.get(id)!;
      Object.assign(inst.profile, rest);
      if (noise !== undefined) inst.profile.noise = noise === true ? 0.2 : noise === false ? 0 : Math.min(Math.max(noise, 0), 0.5);
    }
    return ids;
  }

  restore(target: string): string[] {
    const ids = this.resolveTarget(target);
    for (const id of ids) this.instances.get(id)!.profile = { ...HEALTHY_PROFILE };
    return ids;
  }

  snapshot(): { instances: AppInstance[]; production: Record<string, ProductionRoute> } {
    const production: Record<string, ProductionRoute> = {};
    for (const [id, r] of this.routes) production[id] = { current: r.current, canary: r.canary, canaryPercent: r.canaryPercent };
    return { instances: [...this.instances.values()].map((i) => structuredClone(i)), production };
  }

  routesPlugin = async (app: FastifyInstance): Promise<void> => {
    app.all('/production/:project', (req, reply) => this.serveProduction(req, reply));
    app.all('/production/:project/*', (req, reply) => this.serveProduction(req, reply));
    app.all('/:deploymentId', (req, reply) => this.serveDeployment(req, reply));
    app.all('/:deploymentId/*', (req, reply) => this.serveDeployment(req, reply));
  };

  private async serveProduction(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { project, '*': rest } = req.params as { project: string; '*'?: string };
    if (!this.projectKeys.has(project)) this.provision?.(project);
    const id = this.projectKeys.get(project);
    const route = id ? this.routes.get(id) : undefined;
    if (!route?.current) return reply.code(404).type('text/plain').send('DEPLOYMENT_NOT_FOUND');
    const path = '/' + (rest ?? '');
    if (path === '/api/metrics') return reply.send(this.mixedMetrics(route));
    // Deterministic split: the canary answers exactly its share of requests.
    const n = route.served++;
    const useCanary = !!route.canary && Math.floor(((n + 1) * route.canaryPercent) / 100) > Math.floor((n * route.canaryPercent) / 100);
    return this.serve(this.instances.get(useCanary ? route.canary! : route.current)!, req, reply, path);
  }

  private async serveDeployment(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const { deploymentId, '*': rest } = req.params as { deploymentId: string; '*'?: string };
    const inst = this.instances.get(deploymentId);
    if (!inst) return reply.code(404).type('text/plain').send('DEPLOYMENT_NOT_FOUND');
    const path = '/' + (rest ?? '');
    if (path === '/api/metrics' && inst.phase === 'ready') return reply.send(metricsOf(inst));
    return this.serve(inst, req, reply, path);
  }

  private async serve(inst: AppInstance, req: FastifyRequest, reply: FastifyReply, path: string): Promise<FastifyReply> {
    reply.header('x-sandbox-deployment', inst.deploymentId);
    if (inst.phase === 'building') return reply.code(503).type('text/plain').send('DEPLOYMENT_NOT_READY');
    if (inst.phase === 'failed') return reply.code(404).type('text/plain').send('DEPLOYMENT_NOT_FOUND');
    inst.requests += 1;
    if (inst.profile.delayMs > 0) await new Promise((r) => setTimeout(r, inst.profile.delayMs));
    let status = 200;
    if (inst.profile.maintenance) {
      status = 503;
      reply.code(503).header('retry-after', '60');
      if (path === '/api/health') reply.send({ status: 'maintenance' });
      else reply.type('text/html').send('<!doctype html><title>Maintenance</title><h1>Down for maintenance</h1>');
    } else if (inst.profile.status500) {
      status = 500;
      reply.code(500);
      if (path === '/api/health') reply.send({ error: 'Internal Server Error' });
      else reply.type('text/html').send('<!doctype html><title>500</title><h1>500: Internal Server Error</h1>');
    } else if (path === '/api/health') {
      const body = this.healthOf(inst);
      status = body.status === 'healthy' ? 200 : 503;
      reply.code(status).send(body);
    } else {
      reply
        .type('text/html; charset=utf-8')
        .send(
          `<!doctype html><html><head><title>${inst.projectId}</title></head><body><h1>${inst.projectId}</h1><p>version ${inst.version}</p></body></html>`,
        );
    }
    inst.logs.push({
      level: status >= 500 ? 'error' : 'info',
      message: status >= 500 ? `Error handling ${req.method} ${path}` : `${req.method} ${path} ${status}`,
      source: 'serverless',
      timestampInMs: Date.now(),
      requestMethod: req.method,
      requestPath: path,
      responseStatusCode: status,
    });
    if (inst.logs.length > 1000) inst.logs.shift();
    return reply;
  }

  private healthOf(inst: AppInstance) {
    const word = (i: Indicator) => (i === 'none' ? 'operational' : i === 'minor' ? 'degraded' : 'error');
    const openai = word(this.providerIndicator('openai'));
    let anthropic = word(this.providerIndicator('anthropic'));
    let error: string | undefined;
    if (!inst.profile.healthy) {
      anthropic = 'error';
      error = 'Connection timeout';
    } else if (openai !== 'operational' || anthropic !== 'operational') {
      error = `${openai !== 'operational' ? 'openai' : 'anthropic'} is ${openai !== 'operational' ? openai : anthropic}`;
    }
    const aiHealthy = openai === 'operational' && anthropic === 'operational';
    return {
      status: aiHealthy ? ('healthy' as const) : ('degraded' as const),
      timestamp: new Date().toISOString(),
      checks: {
        database: { status: 'healthy', latency: 45 },
        ai_providers: { status: aiHealthy ? 'healthy' : 'degraded', openai, anthropic, ...(error ? { error } : {}) },
        storage: { status: 'healthy', latency: 120 },
      },
      version: inst.version,
    };
  }

  private mixedMetrics(route: ProductionRoute & { served: number }): AppMetrics {
    const current = metricsOf(this.instances.get(route.current!)!);
    if (!route.canary) return current;
    const canary = metricsOf(this.instances.get(route.canary)!);
    const w = route.canaryPercent / 100;
    // Weighted by traffic share: an approximation for percentiles, exact for the error rate.
    const mix = (a: number, b: number) => round(a * (1 - w) + b * w);
    return {
      errorRate: mix(current.errorRate, canary.errorRate),
      p50Ms: mix(current.p50Ms, canary.p50Ms),
      p95Ms: mix(current.p95Ms, canary.p95Ms),
      p99Ms: mix(current.p99Ms, canary.p99Ms),
      requests: current.requests + canary.requests,
    };
  }
}

export interface AppMetrics {
  /** Percent. */
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  requests: number;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

function metricsOf(inst: AppInstance): AppMetrics {
  const p = inst.profile;
  const jitter = (v: number) => (p.noise > 0 ? v * (1 + (Math.random() * 2 - 1) * p.noise) : v);
  const [p50, p95, p99] = [jitter(p.p50Ms), jitter(p.p95Ms), jitter(p.p99Ms)].sort((a, b) => a - b);
  return {
    errorRate: round(Math.min(100, Math.max(0, jitter(p.errorRate)))),
    p50Ms: Math.round(p50),
    p95Ms: Math.round(p95),
    p99Ms: Math.round(p99),
    requests: inst.requests,
  };
}

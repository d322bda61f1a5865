import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './vendors';
import { firstQuery, isRecord, params, query, randomId, requireAuth, type World } from './world';

/** Vercel REST API as described in the platforms contract: deployments, promote/rollback jobs, rolling releases, env, runtime logs. */

export type ReadyState = 'QUEUED' | 'INITIALIZING' | 'BUILDING' | 'READY' | 'ERROR' | 'CANCELED' | 'BLOCKED';
export type ReadySubstate = 'STAGED' | 'ROLLING' | 'PROMOTED';

export interface VercelDeployment {
  id: string;
  name: string;
  projectId: string;
  url: string;
  createdAt: number;
  buildingAt?: number;
  ready?: number;
  target: string | null;
  readyState: ReadyState;
  readySubstate?: ReadySubstate;
  meta: Record<string, string>;
  gitSource?: Record<string, unknown>;
  errorCode?: string;
  errorMessage?: string;
  aliasAssigned: boolean;
  /** Has served production at some point (a rollback candidate). */
  wasProduction: boolean;
}

export interface AliasRequest {
  fromDeploymentId: string | null;
  toDeploymentId: string;
  jobStatus: 'pending' | 'in-progress' | 'succeeded' | 'failed' | 'skipped';
  requestedAt: number;
  type: 'promote' | 'rollback';
}

export interface RollingStage {
  index: number;
  isFinalStage: boolean;
  targetPercentage: number;
  requireApproval: boolean;
  duration: number | null;
}

export interface RollingRelease {
  state: 'ACTIVE' | 'COMPLETE' | 'ABORTED';
  substate: 'RUNNING' | 'PENDING_MANUAL_APPROVAL' | 'COMPLETED' | 'ABORTED';
  currentDeploymentId: string;
  canaryDeploymentId: string;
  stages: RollingStage[];
  activeStageIndex: number;
  startedAt: number;
  updatedAt: number;
  advancementType: 'automatic' | 'manual-approval';
}

export interface RollingConfig {
  enabled: boolean;
  advancementType: 'automatic' | 'manual-approval';
  stages: Array<{ targetPercentage: number; requireApproval?: boolean; duration?: number }>;
}

export interface VercelEnv {
  id: string;
  key: string;
  value: string;
  type: 'system' | 'encrypted' | 'plain' | 'sensitive' | 'secret';
  target: string[];
  gitBranch?: string;
  createdAt: number;
  updatedAt: number;
}

/** An IP blocking rule of the Vercel Firewall. */
export interface FirewallIpRule {
  id: string;
  hostname: string;
  ip: string;
  action: string;
  notes?: string;
}

export interface VercelProject {
  id: string;
  name: string;
  accountId: string;
  createdAt: number;
  updatedAt: number;
  /** false (the runbook's setting): production deployments wait, STAGED, for a promote. */
  autoAssignCustomDomains: boolean;
  productionDeploymentId: string | null;
  lastAliasRequest: AliasRequest | null;
  rollingConfig: RollingConfig | null;
  rollingReleases: RollingRelease[];
  envs: VercelEnv[];
}

/** Env keys a provisioned project starts with: the first runbook's critical variables. */
export const DEFAULT_ENV_KEYS = [
  'NEXT_PUBLIC_SUPABASE_URL',
  'NEXT_PUBLIC_SUPABASE_ANON_KEY',
  'SUPABASE_SERVICE_ROLE_KEY',
  'OPENAI_API_KEY',
  'CREDENTIAL_ENCRYPTION_KEY',
];

type BuildOutcome = 'READY' | 'ERROR' | 'CANCELED';

export interface VercelState {
  projects: VercelProject[];
  deployments: VercelDeployment[];
  lastCreatedAt: number;
}

/** Vercel's answers to a project id or name, or an environment variable id, it does not know. */
const projectNotFound = (reply: FastifyReply) => sendError(reply, 'vercel', 404, 'Project not found', 'not_found');
const envNotFound = (reply: FastifyReply) => sendError(reply, 'vercel', 404, 'Environment Variable was not found', 'not_found');

const ENV_TYPES = ['system', 'encrypted', 'plain', 'sensitive', 'secret'] as const;
const ENV_TARGETS = ['production', 'preview', 'development'];

export class VercelSandbox {
  readonly projects = new Map<string, VercelProject>();
  readonly deployments = new Map<string, VercelDeployment>();
  private lastCreatedAt = 0;

  constructor(
    private readonly world: World,
    private readonly autoProvision: boolean,
  ) {
    const { scheduler } = world;
    scheduler.define<{ deploymentId: string; outcome: BuildOutcome }>('vercel.build', (a) => this.buildStep(a.deploymentId, a.outcome));
    scheduler.define<{ projectId: string; requestedAt: number }>('vercel.alias', (a) => this.aliasStep(a.projectId, a.requestedAt));
    scheduler.define<{ projectId: string; release: number; stage: number }>('vercel.stage', (a) => {
      const project = this.projects.get(a.projectId);
      const rr = project?.rollingReleases[a.release];
      if (project && rr?.state === 'ACTIVE' && rr.activeStageIndex === a.stage) this.enterStage(project, rr, a.stage + 1);
    });
  }

  // ---- saved state -------------------------------------------------------------------------------

  dump(): VercelState {
    return { projects: [...this.projects.values()], deployments: [...this.deployments.values()], lastCreatedAt: this.lastCreatedAt };
  }

  load(state: VercelState): void {
    this.projects.clear();
    this.deployments.clear();
    this.firewalls.clear();
    for (const p of state.projects) this.projects.set(p.id, p);
    for (const d of state.deployments) this.deployments.set(d.id, d);
    this.lastCreatedAt = state.lastCreatedAt;
  }

  // ---- model -------------------------------------------------------------------------------------

  private firewalls = new Map<string, { version: number; updatedAt: number; ips: FirewallIpRule[] }>();

  private firewallOf(projectId: string) {
    let fw = this.firewalls.get(projectId);
    if (!fw) this.firewalls.set(projectId, (fw = { version: 1, updatedAt: Date.now(), ips: [] }));
    return fw;
  }

  /** Looks a project up by id or name; unknown names are provisioned (seeded) when autoProvision is on. */
  project(idOrName: string): VercelProject | undefined {
    const found = this.projects.get(idOrName) ?? [...this.projects.values()].find((p) => p.name === idOrName);
    if (found || !this.autoProvision || idOrName.startsWith('prj_')) return found;
    return this.seedProject(idOrName);
  }

  /** A project with two earlier production deployments (the older one a rollback candidate) and the given env keys. */
  seedProject(idOrName: string, opts: { envKeys?: string[]; autoAssignCustomDomains?: boolean } = {}): VercelProject {
    const existing = this.projects.get(idOrName) ?? [...this.projects.values()].find((p) => p.name === idOrName);
    if (existing) {
      for (const key of opts.envKeys ?? []) if (!existing.envs.some((e) => e.key === key)) existing.envs.push(this.seedEnv(key));
      return existing;
    }
    const now = Date.now();
    const id = idOrName.startsWith('prj_') ? idOrName : `prj_${randomId(24)}`;
    const project = this.createProject(id, idOrName, opts.autoAssignCustomDomains ?? false);
    project.envs = (opts.envKeys ?? DEFAULT_ENV_KEYS).map((key) => this.seedEnv(key));
    for (const [age, sha] of [
      [2, 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678'],
      [1, 'b2c3d4e5f60718293a4b5c6d7e8f901234567890'],
    ] as const) {
      const d = this.newDeployment(
        project,
        { target: 'production', meta: { githubCommitSha: sha }, gitSource: { type: 'github', ref: 'main', sha } },
        now - age * 86_400_000,
      );
      this.finishBuild(d, 'READY');
      this.setProduction(project, d.id);
    }
    return project;
  }

  private seedEnv(key: string): VercelEnv {
    const at = Date.now() - 3 * 86_400_000;
    return {
      id: randomId(16),
      key,
      value: `sandbox-${key.toLowerCase()}`,
      type: 'encrypted',
      target: ['production', 'preview'],
      createdAt: at,
      updatedAt: at,
    };
  }

  private createProject(id: string, name: string, autoAssignCustomDomains: boolean): VercelProject {
    const now = Date.now();
    const project: VercelProject = {
      id,
      name,
      accountId: `team_${randomId(24)}`,
      createdAt: now,
      updatedAt: now,
      autoAssignCustomDomains,
      productionDeploymentId: null,
      lastAliasRequest: null,
      rollingConfig: null,
      rollingReleases: [],
      envs: [],
    };
    this.projects.set(id, project);
    this.world.apps.registerProject(id, [name]);
    return project;
  }

  private newDeployment(
    project: VercelProject,
    body: { target?: string | null; meta?: Record<string, string>; gitSource?: Record<string, unknown> },
    createdAt?: number,
  ): VercelDeployment {
    const id = `dpl_${randomId(24)}`;
    // Strictly increasing creation times keep `until`-pagination exact.
    const at = createdAt ?? Math.max(Date.now(), this.lastCreatedAt + 1);
    if (createdAt === undefined) this.lastCreatedAt = at;
    const d: VercelDeployment = {
      id,
      name: project.name,
      projectId: project.id,
      url: `${this.world.hostPort()}/_apps/${id}`,
      createdAt: at,
      target: body.target ?? null,
      readyState: 'QUEUED',
      meta: body.meta ?? {},
      gitSource: body.gitSource,
      aliasAssigned: false,
      wasProduction: false,
    };
    this.deployments.set(id, d);
    const sha = typeof body.gitSource?.sha === 'string' ? body.gitSource.sha : body.meta?.githubCommitSha;
    this.world.apps.register({
      deploymentId: id,
      platform: 'vercel',
      projectId: project.id,
      version: body.meta?.version ?? (sha ? sha.slice(0, 7) : id),
      phase: 'building',
    });
    return d;
  }

  private finishBuild(d: VercelDeployment, outcome: BuildOutcome): void {
    const project = this.projects.get(d.projectId)!;
    d.readyState = outcome;
    d.ready = Date.now();
    const app = this.world.apps.instance(d.id)!;
    if (outcome !== 'READY') {
      app.phase = 'failed';
      if (outcome === 'ERROR') {
        d.errorCode = 'BUILD_UTILS_SPAWN_1';
        d.errorMessage = 'Command "npm run build" exited with 1';
      }
      return;
    }
    app.phase = 'ready';
    d.aliasAssigned = true;
    if (d.target === 'production') {
      d.readySubstate = 'STAGED';
      if (project.autoAssignCustomDomains && !project.rollingConfig?.enabled) this.setProduction(project, d.id);
    }
  }

  private setProduction(project: VercelProject, deploymentId: string): void {
    const previous = project.productionDeploymentId ? this.deployments.get(project.productionDeploymentId) : undefined;
    if (previous && previous.id !== deploymentId) previous.readySubstate = 'STAGED';
    const d = this.deployments.get(deploymentId)!;
    d.readySubstate = 'PROMOTED';
    d.wasProduction = true;
    project.productionDeploymentId = deploymentId;
    project.updatedAt = Date.now();
    this.world.apps.setProduction(project.id, { current: deploymentId, canaryPercent: 0 });
  }

  private activeRelease(project: VercelProject): RollingRelease | undefined {
    const last = project.rollingReleases[project.rollingReleases.length - 1];
    return last?.state === 'ACTIVE' ? last : undefined;
  }

  private routeRelease(project: VercelProject, rr: RollingRelease): void {
    this.world.apps.setProduction(project.id, {
      current: rr.currentDeploymentId,
      canary: rr.canaryDeploymentId,
      canaryPercent: rr.stages[rr.activeStageIndex].targetPercentage,
    });
  }

  private enterStage(project: VercelProject, rr: RollingRelease, index: number): void {
    rr.activeStageIndex = index;
    rr.updatedAt = Date.now();
    const stage = rr.stages[index];
    if (stage.isFinalStage) return this.completeRelease(project, rr);
    this.routeRelease(project, rr);
    if (rr.advancementType === 'manual-approval' || stage.requireApproval) {
      rr.substate = 'PENDING_MANUAL_APPROVAL';
      return;
    }
    rr.substate = 'RUNNING';
    const minutes = stage.duration ?? 1;
    const release = project.rollingReleases.indexOf(rr);
    this.world.scheduler.schedule(
      'vercel.stage',
      { projectId: project.id, release, stage: index },
      minutes * this.world.scheduler.timing.stageMinuteMs,
    );
  }

  private completeRelease(project: VercelProject, rr: RollingRelease): void {
    rr.state = 'COMPLETE';
    rr.substate = 'COMPLETED';
    rr.activeStageIndex = rr.stages.length - 1;
    rr.updatedAt = Date.now();
    this.setProduction(project, rr.canaryDeploymentId);
  }

  /** pending → in-progress → succeeded, production switching to the job's deployment on success. */
  private runAliasJob(project: VercelProject, toDeploymentId: string, type: 'promote' | 'rollback'): void {
    const job: AliasRequest = {
      fromDeploymentId: project.productionDeploymentId,
      toDeploymentId,
      jobStatus: 'pending',
      requestedAt: Date.now(),
      type,
    };
    project.lastAliasRequest = job;
    this.world.scheduler.schedule(
      'vercel.alias',
      { projectId: project.id, requestedAt: job.requestedAt },
      this.world.scheduler.timing.aliasStepMs,
    );
  }

  private aliasStep(projectId: string, requestedAt: number): void {
    const project = this.projects.get(projectId);
    const job = project?.lastAliasRequest;
    if (!project || !job || job.requestedAt !== requestedAt) return;
    if (job.jobStatus === 'pending') {
      job.jobStatus = 'in-progress';
      this.world.scheduler.schedule('vercel.alias', { projectId, requestedAt }, this.world.scheduler.timing.aliasStepMs);
    } else if (job.jobStatus === 'in-progress') {
      this.setProduction(project, job.toDeploymentId);
      job.jobStatus = 'succeeded';
    }
  }

  /** QUEUED → BUILDING → the outcome, one build step apart. */
  private buildStep(deploymentId: string, outcome: BuildOutcome): void {
    const d = this.deployments.get(deploymentId);
    if (d?.readyState === 'QUEUED') {
      d.readyState = 'BUILDING';
      d.buildingAt = Date.now();
      this.world.scheduler.schedule('vercel.build', { deploymentId, outcome }, this.world.scheduler.timing.buildStepMs);
    } else if (d?.readyState === 'BUILDING') {
      this.finishBuild(d, outcome);
    }
  }

  // ---- views -------------------------------------------------------------------------------------

  deploymentView(d: VercelDeployment) {
    return {
      id: d.id,
      uid: d.id,
      name: d.name,
      url: d.url,
      projectId: d.projectId,
      createdAt: d.createdAt,
      buildingAt: d.buildingAt ?? null,
      ready: d.ready ?? null,
      target: d.target,
      readyState: d.readyState,
      status: d.readyState,
      ...(d.readyState === 'READY' && d.readySubstate ? { readySubstate: d.readySubstate } : {}),
      meta: d.meta,
      gitSource: d.gitSource ?? null,
      inspectorUrl: `${this.world.origin()}/vercel-inspector/${d.projectId}/${d.id}`,
      errorCode: d.errorCode ?? null,
      errorMessage: d.errorMessage ?? null,
      aliasAssigned: d.aliasAssigned,
      alias: d.readySubstate === 'PROMOTED' ? [`${this.world.hostPort()}/_apps/production/${d.projectId}`] : [],
      type: 'LAMBDAS',
      version: 2,
      public: false,
      creator: { uid: 'sandbox-user' },
    };
  }

  listItem(d: VercelDeployment) {
    return {
      uid: d.id,
      name: d.name,
      url: d.url,
      projectId: d.projectId,
      state: d.readyState,
      readyState: d.readyState,
      ...(d.readyState === 'READY' && d.readySubstate ? { readySubstate: d.readySubstate } : {}),
      target: d.target,
      created: d.createdAt,
      createdAt: d.createdAt,
      buildingAt: d.buildingAt ?? null,
      ready: d.ready ?? null,
      meta: d.meta,
      isRollbackCandidate: d.wasProduction && d.readyState === 'READY',
      inspectorUrl: `${this.world.origin()}/vercel-inspector/${d.projectId}/${d.id}`,
      creator: { uid: 'sandbox-user' },
      type: 'LAMBDAS',
    };
  }

  private summary(id: string) {
    const d = this.deployments.get(id)!;
    return { id: d.id, name: d.name, url: d.url, target: d.target, readyState: d.readyState, createdAt: d.createdAt };
  }

  releaseView(rr: RollingRelease | undefined) {
    if (!rr) return null;
    const stage = rr.stages[rr.activeStageIndex];
    return {
      state: rr.state,
      substate: rr.substate,
      currentDeployment: this.summary(rr.currentDeploymentId),
      canaryDeployment: this.summary(rr.canaryDeploymentId),
      queuedDeploymentId: null,
      advancementType: rr.advancementType,
      stages: rr.stages,
      activeStage: stage,
      nextStage: rr.state === 'ACTIVE' ? (rr.stages[rr.activeStageIndex + 1] ?? null) : null,
      startedAt: rr.startedAt,
      updatedAt: rr.updatedAt,
    };
  }

  projectView(p: VercelProject) {
    const prod = p.productionDeploymentId ? this.deployments.get(p.productionDeploymentId) : undefined;
    const latest = [...this.deployments.values()].filter((d) => d.projectId === p.id).sort((a, b) => b.createdAt - a.createdAt);
    return {
      id: p.id,
      name: p.name,
      accountId: p.accountId,
      createdAt: p.createdAt,
      updatedAt: p.updatedAt,
      framework: 'nextjs',
      live: !!prod,
      autoAssignCustomDomains: p.autoAssignCustomDomains,
      lastAliasRequest: p.lastAliasRequest,
      targets: prod ? { production: this.listItem(prod) } : {},
      latestDeployments: latest.slice(0, 5).map((d) => this.listItem(d)),
    };
  }

  private envView(e: VercelEnv, decrypt: boolean) {
    const visible = e.type === 'plain' || e.type === 'system' || (decrypt && e.type !== 'sensitive');
    return {
      id: e.id,
      key: e.key,
      value: visible ? e.value : e.type === 'sensitive' ? '' : Buffer.from(`enc:${e.id}`).toString('base64'),
      type: e.type,
      target: e.target,
      ...(e.gitBranch ? { gitBranch: e.gitBranch } : {}),
      configurationId: null,
      decrypted: visible && e.type !== 'plain',
      createdAt: e.createdAt,
      updatedAt: e.updatedAt,
    };
  }

  // ---- routes ------------------------------------------------------------------------------------

  plugin = async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', requireAuth('vercel', 'Bearer'));

    app.post('/v13/deployments', (req, reply) => this.createDeployment(req, reply));
    app.get('/v13/deployments/:idOrUrl', (req, reply) => {
      const key = decodeURIComponent(params(req).idOrUrl).replace(/^https?:\/\//, '');
      const d = this.deployments.get(key) ?? [...this.deployments.values()].find((x) => x.url === key);
      if (!d) return sendError(reply, 'vercel', 404, 'The deployment could not be found.', 'not_found');
      return reply.send(this.deploymentView(d));
    });
    app.get('/v6/deployments', (req, reply) => this.listDeployments(req, reply));
    app.get('/v7/deployments', (req, reply) => this.listDeployments(req, reply));
    app.get('/v9/projects/:idOrName', (req, reply) => {
      const p = this.project(params(req).idOrName);
      if (!p) return projectNotFound(reply);
      return reply.send(this.projectView(p));
    });
    app.post('/v10/projects/:projectId/promote/:deploymentId', (req, reply) => this.promote(req, reply));
    app.post('/v1/projects/:projectId/rollback/:deploymentId', (req, reply) => this.rollback(req, reply));
    app.post('/v9/projects/:projectId/rollback/:deploymentId', (req, reply) => this.rollback(req, reply));

    app.get('/v1/projects/:idOrName/rolling-release', (req, reply) => {
      const p = this.project(params(req).idOrName);
      if (!p) return projectNotFound(reply);
      const state = firstQuery(req, 'state');
      if (state && !['ACTIVE', 'COMPLETE', 'ABORTED'].includes(state)) {
        return sendError(reply, 'vercel', 400, 'Invalid query parameter `state`: must be one of ACTIVE, COMPLETE, ABORTED');
      }
      const last = p.rollingReleases[p.rollingReleases.length - 1];
      const rr = state ? [...p.rollingReleases].reverse().find((r) => r.state === state) : last;
      return reply.send({ rollingRelease: this.releaseView(rr) });
    });
    app.patch('/v1/projects/:idOrName/rolling-release/config', (req, reply) => this.configureRelease(req, reply));
    app.delete('/v1/projects/:idOrName/rolling-release/config', (req, reply) => {
      const p = this.project(params(req).idOrName);
      if (!p) return projectNotFound(reply);
      p.rollingConfig = null;
      return reply.send({ rollingRelease: null });
    });
    app.post('/v1/projects/:idOrName/rolling-release/start', (req, reply) => this.startRelease(req, reply));
    app.post('/v1/projects/:idOrName/rolling-release/approve-stage', (req, reply) => this.approveStage(req, reply));
    app.post('/v1/projects/:idOrName/rolling-release/complete', (req, reply) => this.completeReleaseRoute(req, reply));

    app.get('/v10/projects/:idOrName/env', (req, reply) => {
      const p = this.project(params(req).idOrName);
      if (!p) return projectNotFound(reply);
      const decrypt = firstQuery(req, 'decrypt') === 'true' || firstQuery(req, 'decrypt') === '1';
      return reply.send({ envs: p.envs.map((e) => this.envView(e, decrypt)) });
    });
    // Vercel's "retrieve the decrypted value of an environment variable" (sensitive ones stay unreadable).
    app.get('/v1/projects/:idOrName/env/:id', (req, reply) => {
      const p = this.project(params(req).idOrName);
      const e = p?.envs.find((x) => x.id === params(req).id);
      if (!p || !e) return envNotFound(reply);
      return reply.send(this.envView(e, true));
    });
    app.post('/v10/projects/:idOrName/env', (req, reply) => this.createEnv(req, reply));
    app.patch('/v9/projects/:idOrName/env/:id', (req, reply) => this.patchEnv(req, reply));
    app.delete('/v9/projects/:idOrName/env/:id', (req, reply) => {
      const p = this.project(params(req).idOrName);
      const e = p?.envs.find((x) => x.id === params(req).id);
      if (!p || !e) return envNotFound(reply);
      p.envs = p.envs.filter((x) => x !== e);
      return reply.send(this.envView(e, false));
    });
    // Vercel Firewall (REST API, security): IP blocking rules of a project, read and changed one action at a time.
    app.get('/v1/security/firewall/config/:configVersion', (req, reply) => {
      const p = this.project(firstQuery(req, 'projectId') ?? '');
      if (!p) return projectNotFound(reply);
      const fw = this.firewallOf(p.id);
      return reply.send({
        ownerId: p.accountId,
        projectKey: p.id,
        id: `waf_${p.id}`,
        version: fw.version,
        updatedAt: new Date(fw.updatedAt).toISOString(),
        firewallEnabled: true,
        crs: {},
        rules: [],
        ips: fw.ips,
        changes: [],
      });
    });
    app.patch('/v1/security/firewall/config', (req, reply) => {
      const p = this.project(firstQuery(req, 'projectId') ?? '');
      if (!p) return projectNotFound(reply);
      const body = isRecord(req.body) ? req.body : {};
      const fw = this.firewallOf(p.id);
      if (body.action === 'ip.insert') {
        const v = isRecord(body.value) ? body.value : {};
        if (typeof v.ip !== 'string' || !v.ip || typeof v.hostname !== 'string' || !v.hostname)
          return sendError(
            reply,
            'vercel',
            400,
            'Invalid request: `value` should have required properties `hostname` and `ip`',
            'bad_request',
          );
        if (!['deny', 'challenge', 'log', 'bypass'].includes(String(v.action)))
          return sendError(
            reply,
            'vercel',
            400,
            'Invalid request: `value.action` should be one of deny, challenge, log, bypass',
            'bad_request',
          );
        fw.ips.push({
          id: `ip_${randomId(12)}`,
          hostname: v.hostname,
          ip: v.ip,
          action: String(v.action),
          ...(typeof v.notes === 'string' ? { notes: v.notes } : {}),
        });
      } else if (body.action === 'ip.remove') {
        const before = fw.ips.length;
        fw.ips = fw.ips.filter((x) => x.id !== body.id);
        if (fw.ips.length === before) return sendError(reply, 'vercel', 404, `IP rule ${String(body.id)} not found`, 'not_found');
      } else {
        // The sandbox models IP blocking only; other firewall actions are refused rather than pretended.
        return sendError(
          reply,
          'vercel',
          400,
          `Invalid request: action ${String(body.action)} is not supported by this sandbox`,
          'bad_request',
        );
      }
      fw.version++;
      fw.updatedAt = Date.now();
      return reply.send({});
    });
    app.get('/v1/projects/:projectId/deployments/:deploymentId/runtime-logs', (req, reply) => {
      const p = this.project(params(req).projectId);
      const d = this.deployments.get(params(req).deploymentId);
      if (!p || !d || d.projectId !== p.id) return sendError(reply, 'vercel', 404, 'The deployment could not be found.', 'not_found');
      const lines = this.world.apps.instance(d.id)?.logs ?? [];
      return reply
        .type('application/stream+json')
        .send(lines.map((l) => JSON.stringify({ ...l, deploymentId: d.id, rowId: randomId(12) })).join('\n') + (lines.length ? '\n' : ''));
    });
  };

  private createDeployment(req: FastifyRequest, reply: FastifyReply) {
    const body = req.body;
    if (!isRecord(body)) return sendError(reply, 'vercel', 400, 'Invalid request: the body must be a JSON object.');
    const bad = (m: string) => sendError(reply, 'vercel', 400, `Invalid request: ${m}`);
    if (typeof body.name !== 'string' || !body.name) return bad('missing required property `name`.');
    if (body.target !== undefined && body.target !== null && (typeof body.target !== 'string' || !body.target)) {
      return bad('`target` must be "production", "staging" or a custom environment; omit it for a preview.');
    }
    if (body.meta !== undefined) {
      if (!isRecord(body.meta)) return bad('`meta` must be an object of strings.');
      const nonString = Object.entries(body.meta).find(([, v]) => typeof v !== 'string');
      if (nonString) return bad(`\`meta.${nonString[0]}\` should be string.`);
    }
    let gitSource: Record<string, unknown> | undefined;
    if (body.gitSource !== undefined) {
      const g = body.gitSource;
      if (!isRecord(g) || g.type !== 'github') return bad('`gitSource.type` must be "github".');
      if (typeof g.ref !== 'string' || !g.ref) return bad('missing required property `gitSource.ref`.');
      if (g.repoId === undefined && (typeof g.org !== 'string' || typeof g.repo !== 'string')) {
        return bad('`gitSource` needs `repoId`, or `org` and `repo`.');
      }
      if (g.sha !== undefined && typeof g.sha !== 'string') return bad('`gitSource.sha` should be string.');
      gitSource = g;
    }
    let meta = (body.meta as Record<string, string> | undefined) ?? {};
    // An explicit "preview" means the same as no target.
    let target = body.target === 'preview' ? null : ((body.target as string | null | undefined) ?? null);
    if (body.deploymentId !== undefined) {
      const original = typeof body.deploymentId === 'string' ? this.deployments.get(body.deploymentId) : undefined;
      if (!original) return sendError(reply, 'vercel', 404, 'The deployment to redeploy could not be found.', 'not_found');
      gitSource = gitSource ?? original.gitSource;
      meta = { ...original.meta, ...meta };
      if (body.target === undefined) target = original.target;
    }
    const projectKey = typeof body.project === 'string' && body.project ? body.project : body.name;
    let project = this.project(projectKey);
    if (!project) {
      if (typeof body.project === 'string' && body.project.startsWith('prj_')) {
        return projectNotFound(reply);
      }
      // Vercel creates a project on the first deployment to a new name.
      project = this.createProject(`prj_${randomId(24)}`, projectKey, false);
    }
    const d = this.newDeployment(project, { target, meta, gitSource });

    const ref = typeof gitSource?.ref === 'string' ? gitSource.ref : '';
    const outcome =
      (meta.sandboxOutcome === 'ERROR' || meta.sandboxOutcome === 'CANCELED' ? meta.sandboxOutcome : undefined) ??
      (ref.startsWith('sandbox-fail') ? 'ERROR' : ref.startsWith('sandbox-cancel') ? 'CANCELED' : undefined) ??
      this.world.apps.takeBuildFailure(project.id) ??
      'READY';
    this.world.scheduler.schedule('vercel.build', { deploymentId: d.id, outcome }, this.world.scheduler.timing.buildStepMs);
    return reply.code(200).send(this.deploymentView(d));
  }

  private listDeployments(req: FastifyRequest, reply: FastifyReply) {
    const q = query(req);
    const one = (k: string) => firstQuery(req, k);
    const bad = (m: string) => sendError(reply, 'vercel', 400, `Invalid query parameter ${m}`);
    const limit = one('limit') === undefined ? 20 : Number(one('limit'));
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return bad('`limit`: must be an integer from 1 to 100');
    const num = (k: string) => (one(k) === undefined ? undefined : Number(one(k)));
    const since = num('since');
    const until = num('until');
    if (since !== undefined && !Number.isFinite(since)) return bad('`since`: must be a timestamp in ms');
    if (until !== undefined && !Number.isFinite(until)) return bad('`until`: must be a timestamp in ms');
    let projectId: string | undefined;
    if (one('projectId')) {
      const p = this.project(one('projectId')!);
      if (!p) return reply.send({ deployments: [], pagination: { count: 0, next: null, prev: null } });
      projectId = p.id;
    }
    const states = one('state')
      ?.split(',')
      .map((s) => s.trim().toUpperCase());
    const target = one('target');
    const sha = one('sha');
    const branch = one('branch');
    const metaFilters = Object.entries(q)
      .filter(([k]) => k.startsWith('meta-'))
      .map(([k, v]) => [k.slice(5), Array.isArray(v) ? v[0] : v] as const);
    const matching = [...this.deployments.values()]
      .filter(
        (d) =>
          (!projectId || d.projectId === projectId) &&
          (!states || states.includes(d.readyState)) &&
          (!target || (target === 'preview' ? d.target === null : d.target === target)) &&
          (!sha || d.gitSource?.sha === sha || d.meta.githubCommitSha === sha) &&
          (!branch || d.gitSource?.ref === branch) &&
          metaFilters.every(([k, v]) => d.meta[k] === v) &&
          (since === undefined || d.createdAt > since) &&
          (until === undefined || d.createdAt < until),
      )
      .sort((a, b) => b.createdAt - a.createdAt);
    const page = matching.slice(0, limit);
    return reply.send({
      deployments: page.map((d) => this.listItem(d)),
      pagination: {
        count: page.length,
        next: matching.length > limit ? page[page.length - 1].createdAt : null,
        prev: page.length ? page[0].createdAt : null,
      },
    });
  }

  private projectAndDeployment(req: FastifyRequest, reply: FastifyReply) {
    const { projectId, deploymentId } = params(req);
    const p = this.project(projectId);
    if (!p) return { error: projectNotFound(reply) };
    const d = this.deployments.get(deploymentId);
    if (!d || d.projectId !== p.id) return { error: sendError(reply, 'vercel', 404, 'The deployment could not be found.', 'not_found') };
    return { p, d };
  }

  private promote(req: FastifyRequest, reply: FastifyReply) {
    const { p, d, error } = this.projectAndDeployment(req, reply);
    if (error) return error;
    if (d.readyState !== 'READY')
      return sendError(reply, 'vercel', 400, `Deployment ${d.id} is ${d.readyState}; only READY deployments can be promoted.`);
    if (d.target !== 'production') {
      return sendError(
        reply,
        'vercel',
        400,
        `Deployment ${d.id} is a preview deployment; create a production deployment instead of promoting it.`,
      );
    }
    if (p.lastAliasRequest && ['pending', 'in-progress'].includes(p.lastAliasRequest.jobStatus)) {
      return sendError(reply, 'vercel', 409, 'Another promote or rollback is in progress for this project.', 'conflict');
    }
    this.runAliasJob(p, d.id, 'promote');
    return reply.code(202).send();
  }

  private rollback(req: FastifyRequest, reply: FastifyReply) {
    const { p, d, error } = this.projectAndDeployment(req, reply);
    if (error) return error;
    const rr = this.activeRelease(p);
    if (rr && rr.currentDeploymentId === d.id) {
      // No abort endpoint: rolling back to the current deployment aborts the rolling release.
      rr.state = 'ABORTED';
      rr.substate = 'ABORTED';
      rr.updatedAt = Date.now();
      const canary = this.deployments.get(rr.canaryDeploymentId)!;
      canary.readySubstate = 'STAGED';
      this.runAliasJob(p, d.id, 'rollback');
      return reply.code(201).send();
    }
    if (d.readyState !== 'READY' || d.target !== 'production' || !d.wasProduction) {
      return sendError(reply, 'vercel', 400, `Deployment ${d.id} is not eligible for rollback: it has never served production.`);
    }
    if (p.lastAliasRequest && ['pending', 'in-progress'].includes(p.lastAliasRequest.jobStatus)) {
      return sendError(reply, 'vercel', 409, 'Another promote or rollback is in progress for this project.', 'conflict');
    }
    if (rr) {
      rr.state = 'ABORTED';
      rr.substate = 'ABORTED';
      rr.updatedAt = Date.now();
    }
    this.runAliasJob(p, d.id, 'rollback');
    return reply.code(201).send();
  }

  private configureRelease(req: FastifyRequest, reply: FastifyReply) {
    const p = this.project(params(req).idOrName);
    if (!p) return projectNotFound(reply);
    const body = req.body;
    const bad = (m: string) => sendError(reply, 'vercel', 400, `Invalid request: ${m}`);
    if (!isRecord(body)) return bad('the body must be a JSON object.');
    if (typeof body.enabled !== 'boolean') return bad('`enabled` should be boolean.');
    if (!body.enabled) {
      p.rollingConfig = null;
      return reply.send({ rollingRelease: null });
    }
    const advancementType = body.advancementType ?? 'automatic';
    if (advancementType !== 'automatic' && advancementType !== 'manual-approval') {
      return bad('`advancementType` must be "automatic" or "manual-approval".');
    }
    if (!Array.isArray(body.stages) || body.stages.length < 2) return bad('`stages` must list at least two stages, the last at 100.');
    let prev = 0;
    for (const [i, s] of body.stages.entries()) {
      if (!isRecord(s) || typeof s.targetPercentage !== 'number' || s.targetPercentage <= prev || s.targetPercentage > 100) {
        return bad(`\`stages[${i}].targetPercentage\` must rise, from 1 to 100.`);
      }
      const last = i === body.stages.length - 1;
      if (!last && advancementType === 'automatic' && (typeof s.duration !== 'number' || s.duration < 1)) {
        return bad(`\`stages[${i}].duration\` (minutes) is required for automatic advancement.`);
      }
      if (s.requireApproval !== undefined && typeof s.requireApproval !== 'boolean')
        return bad(`\`stages[${i}].requireApproval\` should be boolean.`);
      prev = s.targetPercentage;
    }
    if (prev !== 100) return bad('the last stage must have `targetPercentage` 100.');
    p.rollingConfig = { enabled: true, advancementType, stages: body.stages as RollingConfig['stages'] };
    return reply.send({ rollingRelease: { target: 'production', ...p.rollingConfig } });
  }

  private releaseRequest(req: FastifyRequest, reply: FastifyReply) {
    const p = this.project(params(req).idOrName);
    if (!p) return { error: projectNotFound(reply) };
    const body = isRecord(req.body) ? req.body : {};
    if (typeof body.canaryDeploymentId !== 'string')
      return { error: sendError(reply, 'vercel', 400, 'Invalid request: missing required property `canaryDeploymentId`.') };
    return { p, body, canaryId: body.canaryDeploymentId };
  }

  private startRelease(req: FastifyRequest, reply: FastifyReply) {
    const { p, canaryId, error } = this.releaseRequest(req, reply);
    if (error) return error;
    if (!p.rollingConfig?.enabled)
      return sendError(reply, 'vercel', 400, 'Rolling releases are not enabled for this project; configure them first.');
    if (this.activeRelease(p)) return sendError(reply, 'vercel', 409, 'A rolling release is already active for this project.', 'conflict');
    const canary = this.deployments.get(canaryId);
    if (!canary || canary.projectId !== p.id) return sendError(reply, 'vercel', 404, 'The deployment could not be found.', 'not_found');
    if (canary.readyState !== 'READY' || canary.target !== 'production') {
      return sendError(reply, 'vercel', 400, `Deployment ${canary.id} must be a READY production deployment to start a rolling release.`);
    }
    if (!p.productionDeploymentId || p.productionDeploymentId === canary.id) {
      return sendError(reply, 'vercel', 400, 'The canary must differ from the current production deployment.');
    }
    const cfg = p.rollingConfig;
    const now = Date.now();
    const rr: RollingRelease = {
      state: 'ACTIVE',
      substate: 'RUNNING',
      currentDeploymentId: p.productionDeploymentId,
      canaryDeploymentId: canary.id,
      advancementType: cfg.advancementType,
      stages: cfg.stages.map((s, index) => ({
        index,
        isFinalStage: index === cfg.stages.length - 1,
        targetPercentage: s.targetPercentage,
        requireApproval: index < cfg.stages.length - 1 && (cfg.advancementType === 'manual-approval' || !!s.requireApproval),
        duration: s.duration ?? null,
      })),
      activeStageIndex: 0,
      startedAt: now,
      updatedAt: now,
    };
    p.rollingReleases.push(rr);
    canary.readySubstate = 'ROLLING';
    this.enterStage(p, rr, 0);
    return reply.send({ rollingRelease: this.releaseView(rr) });
  }

  private approveStage(req: FastifyRequest, reply: FastifyReply) {
    const { p, body, canaryId, error } = this.releaseRequest(req, reply);
    if (error) return error;
    const rr = this.activeRelease(p);
    if (!rr) return sendError(reply, 'vercel', 400, 'No active rolling release for this project.');
    if (rr.canaryDeploymentId !== canaryId)
      return sendError(reply, 'vercel', 400, `\`canaryDeploymentId\` ${canaryId} is not the active canary (${rr.canaryDeploymentId}).`);
    if (body.nextStageIndex !== rr.activeStageIndex + 1) {
      return sendError(reply, 'vercel', 400, `\`nextStageIndex\` must be ${rr.activeStageIndex + 1} (the stage after the active one).`);
    }
    this.enterStage(p, rr, rr.activeStageIndex + 1);
    return reply.send({ rollingRelease: this.releaseView(rr) });
  }

  private completeReleaseRoute(req: FastifyRequest, reply: FastifyReply) {
    const { p, canaryId, error } = this.releaseRequest(req, reply);
    if (error) return error;
    const rr = this.activeRelease(p);
    if (!rr) return sendError(reply, 'vercel', 400, 'No active rolling release for this project.');
    if (rr.canaryDeploymentId !== canaryId)
      return sendError(reply, 'vercel', 400, `\`canaryDeploymentId\` ${canaryId} is not the active canary (${rr.canaryDeploymentId}).`);
    this.completeRelease(p, rr);
    return reply.send({ rollingRelease: this.releaseView(rr) });
  }

  private validateEnv(raw: unknown, where: string, partial: boolean): string | Partial<VercelEnv> {
    if (!isRecord(raw)) return `${where} must be an object`;
    const out: Partial<VercelEnv> = {};
    if (raw.key !== undefined || !partial) {
      if (typeof raw.key !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(raw.key)) return `${where}.key must be a variable name`;
      out.key = raw.key;
    }
    if (raw.value !== undefined || !partial) {
      if (typeof raw.value !== 'string') return `${where}.value should be string`;
      out.value = raw.value;
    }
    if (raw.type !== undefined || !partial) {
      if (!ENV_TYPES.includes(raw.type as VercelEnv['type'])) return `${where}.type must be one of ${ENV_TYPES.join(', ')}`;
      out.type = raw.type as VercelEnv['type'];
    }
    if (raw.target !== undefined || !partial) {
      const t = raw.target;
      if (!Array.isArray(t) || !t.length || !t.every((x) => ENV_TARGETS.includes(x as string))) {
        return `${where}.target must list production, preview and/or development`;
      }
      out.target = t as string[];
    }
    if (raw.gitBranch !== undefined) {
      if (typeof raw.gitBranch !== 'string') return `${where}.gitBranch should be string`;
      out.gitBranch = raw.gitBranch;
    }
    return out;
  }

  private createEnv(req: FastifyRequest, reply: FastifyReply) {
    const p = this.project(params(req).idOrName);
    if (!p) return projectNotFound(reply);
    const upsert = firstQuery(req, 'upsert') === 'true';
    const many = Array.isArray(req.body);
    const items = many ? (req.body as unknown[]) : [req.body];
    const parsed: Array<Partial<VercelEnv>> = [];
    for (const [i, item] of items.entries()) {
      const v = this.validateEnv(item, many ? `body[${i}]` : 'body', false);
      if (typeof v === 'string') return sendError(reply, 'vercel', 400, `Invalid request: ${v}.`);
      parsed.push(v);
    }
    const created: VercelEnv[] = [];
    const failed: Array<{ error: { code: string; message: string; key: string; envVarId?: string } }> = [];
    const now = Date.now();
    for (const v of parsed) {
      const clash = p.envs.find((e) => e.key === v.key && e.gitBranch === v.gitBranch && e.target.some((t) => v.target!.includes(t)));
      if (clash && !upsert) {
        const error = {
          code: 'ENV_ALREADY_EXISTS',
          message: `A variable with the name \`${v.key}\` already exists for the target ${clash.target.join(', ')}.`,
          key: v.key!,
          envVarId: clash.id,
        };
        if (!many) return reply.code(409).send({ error });
        failed.push({ error });
        continue;
      }
      if (clash) {
        Object.assign(clash, v, { updatedAt: now });
        created.push(clash);
      } else {
        const env: VercelEnv = {
          id: randomId(16),
          createdAt: now,
          updatedAt: now,
          ...(v as Omit<VercelEnv, 'id' | 'createdAt' | 'updatedAt'>),
        };
        p.envs.push(env);
        created.push(env);
      }
    }
    const views = created.map((e) => this.envView(e, false));
    return reply.code(201).send({ created: many ? views : views[0], failed });
  }

  private patchEnv(req: FastifyRequest, reply: FastifyReply) {
    const p = this.project(params(req).idOrName);
    if (!p) return projectNotFound(reply);
    const e = p.envs.find((x) => x.id === params(req).id);
    if (!e) return envNotFound(reply);
    const v = this.validateEnv(req.body, 'body', true);
    if (typeof v === 'string') return sendError(reply, 'vercel', 400, `Invalid request: ${v}.`);
    Object.assign(e, v, { updatedAt: Date.now() });
    return reply.send(this.envView(e, false));
  }
}

import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { discoverMigrations, type MigrationFile } from '../app-migrations/discover';
import { applyMigrations, pendingMigrations } from '../app-migrations/runner';
import type { RunbookConfig, ServiceConfig } from '../config/schema';
import { callPlatform, deploymentUrl, joinUrl, type HealthProbeResult, type PlatformClients } from '../platforms';
import { pollUntil } from '../platforms/poll';
import type { NetlifyDeploy, VercelDeploymentListItem } from '../platforms/schemas';
import type { DeploymentRef, DeployVerdict, GateResult, MigrationOutcome, SmokeCheck, SmokeResult, WatchSample } from '../shared/deploy';
import { invalidInput as invalid, requirePlatforms, type ActivityDeps } from './deps';
import { checkCommitStatus } from '../ci/github-status';

/**
 * The deploy and rollback workflows' side effects. Every call that changes a platform looks before it
 * acts (a deployment tagged with the caller's identity, the project's last alias request, the
 * production deployment now), so a retried activity or a restarted worker never does it twice.
 */


/** What the workflow needs from the worker's configuration, resolved once and kept in history. */
export interface DeployPlan {
  service: string;
  platform: 'vercel' | 'netlify';
  productionUrl: string;
  /** Staged promotion percentages (last 100), or [] for a plain promote. */
  rollingStages: number[];
  requireApproval: boolean;
  ciConfigured: boolean;
  migrationsConfigured: boolean;
  /** Second runbook: Edge Functions are listed, and their source folder is (`deploy`) or is not (`no-source`) configured. */
  edgeFunctions?: 'deploy' | 'no-source';
  unhealthySamplesForRollback: number;
  thresholds: { errorRate: { warning: number; critical: number }; p99Ms: { warning: number; critical: number } };
  durations: {
    watch: number;
    stageWatch: number;
    sampleInterval: number;
    pollInterval: number;
    approvalTimeout: number;
    ciTimeout: number;
    buildTimeout: number;
    activityTimeout: number;
    /** Timeout of one health or metrics request (platforms.requestTimeout). */
    probeTimeout: number;
  };
}

export interface PlanOverrides {
  durations?: Partial<DeployPlan['durations']>;
  requireApproval?: boolean;
  unhealthySamplesForRollback?: number;
}

export interface BuildOutcome {
  ready: boolean;
  id: string;
  url: string;
  state: string;
  /** The platform's own message when the build failed. */
  message?: string;
}

export interface CreatedDeployment extends DeploymentRef {
  state: string;
  created: boolean;
  sha?: string;
}

export interface AliasOutcome {
  /** False when production already was (or was already being switched to) the deployment. */
  requested: boolean;
  ok: boolean;
  status: string;
  message?: string;
}

export interface HealthSample {
  healthy: boolean;
  status: number | null;
  errorRate: number | null;
  p99Ms: number | null;
  detail: string;
}

export interface CiCheck {
  state: 'success' | 'pending' | 'failure' | 'none';
  reason: string;
}

export interface PendingMigrations {
  pending: { name: string; checksum: string }[];
  problems: string[];
  notes: string[];
}

export interface DeploymentRecord {
  workflowId: string;
  kind: 'deploy' | 'rollback';
  service: string;
  platform: string;
  ref?: string;
  sha?: string;
  requestedBy: string;
  hotfixReason?: string;
  reason?: string;
  incidentId?: string;
  previewDeploymentId?: string;
  productionDeploymentId?: string;
  previousDeploymentId?: string;
  gates: GateResult[];
  migrations?: MigrationOutcome;
  watch?: unknown;
  rollback?: unknown;
  verdict: DeployVerdict | 'rolled-back-manually' | 'failed';
  verdictReason: string;
  startedAt: string;
  finishedAt: string;
}

const SETTLED_NETLIFY = new Set(['ready', 'error']);

function serviceOf(config: RunbookConfig, name: string): ServiceConfig {
  const found = config.services.find((s) => s.name === name);
  if (!found) throw invalid(`service: no service "${name}" in the configuration (known: ${config.services.map((s) => s.name).join(', ')})`);
  return found;
}

/** Heartbeats while `work` runs, for activities whose steps have no natural progress points. */
async function withHeartbeat<T>(work: () => Promise<T>, everyMs = 1_000): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * A health document in the first runbook's shape decides by its `status`; any other answer (the second
 * runbook checks its frontend with a plain GET) counts as up when it is a 2xx.
 */
function isHealthy(h: HealthProbeResult): boolean {
  if (h.status === null) return false;
  if (h.health) return h.status === 200 && h.health.status === 'healthy';
  return h.status >= 200 && h.status < 300;
}

const vercelRef = (d: { id?: string; uid?: string; url: string }): DeploymentRef => ({ id: (d.id ?? d.uid)!, url: deploymentUrl(d.url) });
const netlifyRef = (d: NetlifyDeploy): DeploymentRef => ({ id: d.id, url: deploymentUrl(d.deploy_ssl_url ?? d.ssl_url ?? d.url ?? '') });

export function createDeployActivities(deps: Pick<ActivityDeps, 'config' | 'ops' | 'databaseUrl' | 'env' | 'platforms'>) {
  const { config } = deps;
  const clients = (): PlatformClients => requirePlatforms(deps);

  function migrationsDir(): string | undefined {
    const dir = config.deploy.migrationsDir;
    return dir ? path.resolve(dir) : undefined;
  }

  function migrationFiles(service: ServiceConfig): { files: MigrationFile[]; problems: string[] } | undefined {
    const dir = migrationsDir();
    if (!dir || !service.database) return undefined;
    const found = discoverMigrations(dir);
    return { files: found.migrations, problems: found.problems };
  }

  /** Vercel: the READY production deployment serving production now (PROMOTED), else the last alias job's target. */
  async function vercelProduction(service: ServiceConfig): Promise<VercelDeploymentListItem | undefined> {
    const list = await clients().vercel.listAllDeployments({ projectId: service.projectId, target: 'production', state: ['READY'], limit: 50 }, 200);
    const promoted = list.find((d) => d.readySubstate === 'PROMOTED');
    if (promoted) return promoted;
    const project = await clients().vercel.getProject(service.projectId);
    const last = project.lastAliasRequest;
    const id = last ? (last.jobStatus === 'succeeded' ? last.toDeploymentId : last.fromDeploymentId) : undefined;
    return (id && list.find((d) => d.uid === id)) || list[0];
  }

  /** Netlify: the most recently published deploy of the site. */
  async function netlifyProduction(service: ServiceConfig): Promise<NetlifyDeploy | undefined> {
    const deploys = await clients().netlify.listDeploys(service.projectId, { production: true, state: 'ready', perPage: 100 });
    return deploys.filter((d) => d.published_at).sort((a, b) => Date.parse(b.published_at!) - Date.parse(a.published_at!))[0];
  }

  async function currentProductionOf(service: ServiceConfig): Promise<DeploymentRef | null> {
    if (service.platform === 'vercel') {
      const d = await vercelProduction(service);
      return d ? vercelRef(d) : null;
    }
    const d = await netlifyProduction(service);
    return d ? netlifyRef(d) : null;
  }

  /** Waits out a promote/rollback job still running on the project, so ours is not refused with 409. */
  async function settleAliasJob(service: ServiceConfig, pollIntervalMs: number) {
    const project = await clients().vercel.getProject(service.projectId);
    const last = project.lastAliasRequest;
    if (last && (last.jobStatus === 'pending' || last.jobStatus === 'in-progress')) {
      return (await clients().vercel.waitForAliasJob(service.projectId, last.toDeploymentId, { intervalMs: pollIntervalMs })).lastAliasRequest ?? null;
    }
    return last ?? null;
  }

  async function aliasJobTo(service: ServiceConfig, id: string, type: 'promote' | 'rollback', pollIntervalMs: number, request: () => Promise<void>): Promise<AliasOutcome> {
    const last = await settleAliasJob(service, pollIntervalMs);
    let requested = false;
    if (last && last.toDeploymentId === id && last.type === type && last.jobStatus !== 'failed') {
      // Asked before (a retry after a crash): do not ask again.
    } else if ((await currentProductionOf(service))?.id === id && !(await activeRelease(service))) {
      return { requested: false, ok: true, status: 'already-current' };
    } else {
      await request();
      requested = true;
    }
    const project = await clients().vercel.waitForAliasJob(service.projectId, id, { intervalMs: pollIntervalMs });
    const status = project.lastAliasRequest?.jobStatus ?? 'unknown';
    return { requested, ok: status === 'succeeded' || status === 'skipped', status, ...(status === 'failed' ? { message: `the ${type} job to ${id} failed on Vercel` } : {}) };
  }

  async function activeRelease(service: ServiceConfig) {
    if (service.platform !== 'vercel' || !service.rollingRelease) return null;
    return (await clients().vercel.getRollingRelease(service.projectId, 'ACTIVE')).rollingRelease;
  }

  /**
   * The production deployment now and the one before it: the last promote's `from`, else the newest
   * earlier production deployment that served production.
   */
  async function productionPair(service: ServiceConfig): Promise<{ current: DeploymentRef | null; previous: DeploymentRef | null }> {
    if (service.platform === 'vercel') {
      const current = await vercelProduction(service);
      const last = (await clients().vercel.getProject(service.projectId)).lastAliasRequest;
      const list = await clients().vercel.listAllDeployments({ projectId: service.projectId, target: 'production', state: ['READY'], limit: 50 }, 200);
      const fromLast =
        last?.type === 'promote' && last.jobStatus === 'succeeded' && last.toDeploymentId === current?.uid ? list.find((d) => d.uid === last.fromDeploymentId) : undefined;
      const older = list.find((d) => d.uid !== current?.uid && (current ? d.created < current.created : true) && d.isRollbackCandidate !== false);
      const previous = fromLast ?? older;
      return { current: current ? vercelRef(current) : null, previous: previous ? vercelRef(previous) : null };
    }
    const deploys = (await clients().netlify.listDeploys(service.projectId, { production: true, state: 'ready', perPage: 100 }))
      .filter((d) => d.published_at)
      .sort((a, b) => Date.parse(b.published_at!) - Date.parse(a.published_at!));
    return { current: deploys[0] ? netlifyRef(deploys[0]) : null, previous: deploys[1] ? netlifyRef(deploys[1]) : null };
  }

  async function sample(baseUrl: string, healthPath: string): Promise<HealthSample> {
    const [health, metrics] = await Promise.all([clients().probe.health(baseUrl, healthPath), clients().probe.metrics(baseUrl).then((m) => m, (err: unknown) => err as Error)]);
    const healthy = isHealthy(health);
    const detail = [
      health.status === null
        ? `health: no answer (${health.error})`
        : `health: ${health.status}${health.health ? ` ${health.health.status}` : ''}${health.problem ? ` (${health.problem})` : ''}`,
      metrics instanceof Error ? `metrics unavailable: ${metrics.message}` : `error rate ${metrics.errorRate}%, p99 ${metrics.p99Ms} ms`,
    ].join('; ');
    return {
      healthy,
      status: health.status,
      errorRate: metrics instanceof Error ? null : metrics.errorRate,
      p99Ms: metrics instanceof Error ? null : metrics.p99Ms,
      detail,
    };
  }

  return {
    /** The service's deployment settings from config, with the workflow input's overrides. */
    async deployPlan(input: { service: string; overrides?: PlanOverrides }): Promise<DeployPlan> {
      const service = serviceOf(config, input.service);
      if (service.platform === 'vercel' && !service.git) {
        throw invalid(`services.${service.name}.git: needed to build a deployment from a git ref (org and repo)`);
      }
      const d = config.deploy;
      const o = input.overrides ?? {};
      const stages = service.rollingRelease?.stages ?? [];
      return {
        service: service.name,
        platform: service.platform,
        productionUrl: service.productionUrl,
        // Netlify has no rolling releases; a single 100 % stage is a plain promote.
        rollingStages: service.platform === 'vercel' && stages.length > 1 ? stages : [],
        requireApproval: o.requireApproval ?? d.requireApproval,
        ciConfigured: Boolean(d.ci),
        migrationsConfigured: Boolean(d.migrationsDir && service.database),
        edgeFunctions: config.platforms.supabase.edgeFunctions.length ? (d.functionsDir ? 'deploy' : 'no-source') : undefined,
        unhealthySamplesForRollback: o.unhealthySamplesForRollback ?? d.unhealthySamplesForRollback,
        thresholds: {
          errorRate: { warning: config.thresholds.errorRate.warning, critical: config.thresholds.errorRate.critical },
          p99Ms: { warning: config.thresholds.p99Ms.warning, critical: config.thresholds.p99Ms.critical },
        },
        durations: {
          watch: o.durations?.watch ?? d.watch,
          stageWatch: o.durations?.stageWatch ?? d.stageWatch,
          sampleInterval: o.durations?.sampleInterval ?? d.sampleInterval,
          pollInterval: o.durations?.pollInterval ?? d.pollInterval,
          approvalTimeout: o.durations?.approvalTimeout ?? d.approvalTimeout,
          ciTimeout: o.durations?.ciTimeout ?? d.ci?.timeout ?? 0,
          buildTimeout: o.durations?.buildTimeout ?? d.buildTimeout,
          activityTimeout: o.durations?.activityTimeout ?? d.activityTimeout,
          probeTimeout: config.platforms.requestTimeout,
        },
      };
    },

    /** Pre-deployment checklist: the critical environment variables exist for production (Vercel env API). */
    async checkCriticalEnv(input: { service: string }): Promise<Omit<GateResult, 'name' | 'at'>> {
      const service = serviceOf(config, input.service);
      if (service.platform !== 'vercel') {
        return { status: 'skipped', reason: 'Netlify environment variables are not readable through the configured API; verify them by hand' };
      }
      const envs = await callPlatform(() => clients().vercel.listEnv(service.projectId));
      const forProduction = new Set(envs.filter((e) => e.target.length === 0 || e.target.includes('production')).map((e) => e.key));
      const missing = service.criticalEnv.filter((k) => !forProduction.has(k));
      return missing.length
        ? { status: 'fail', reason: `missing for production: ${missing.join(', ')}` }
        : { status: 'pass', reason: `all ${service.criticalEnv.length} critical variables set for production` };
    },

    /** Pre-deployment checklist: the commit's combined CI status, when deploy.ci names a check source. */
    async checkCiStatus(input: { service: string; ref: string; sha?: string }): Promise<CiCheck> {
      const service = serviceOf(config, input.service);
      const ci = config.deploy.ci;
      if (!ci) return { state: 'none', reason: 'no CI check source configured (deploy.ci)' };
      if (!service.git) return { state: 'failure', reason: `services.${service.name}.git is needed to look up CI status` };
      return checkCommitStatus(ci, deps.env, { org: service.git.org, repo: service.git.repo, commit: input.sha ?? input.ref, timeoutMs: config.platforms.requestTimeout });
    },

    /** Pre-deployment checklist: which migrations will run, and any file breaking the conventions. */
    async listPendingMigrations(input: { service: string }): Promise<PendingMigrations> {
      const service = serviceOf(config, input.service);
      const found = migrationFiles(service);
      if (!found) return { pending: [], problems: [], notes: [] };
      const { pending, notes } = await pendingMigrations(deps.databaseUrl(service.database!), found.files);
      return { pending: pending.map((f) => ({ name: f.name, checksum: f.checksum })), problems: found.problems, notes };
    },

    /** Running Migrations: the pending ones the gate listed, in order; a failure runs its rollback file and stops. */
    async applyAppMigrations(input: { service: string; expected: { name: string; checksum: string }[]; deployId: string }): Promise<MigrationOutcome> {
      const service = serviceOf(config, input.service);
      const found = migrationFiles(service);
      if (!found) return { pending: [], applied: [] };
      const byName = new Map(found.files.map((f) => [f.name, f]));
      const files: MigrationFile[] = [];
      for (const e of input.expected) {
        const f = byName.get(e.name);
        if (!f) return { pending: input.expected.map((x) => x.name), applied: [], failed: { name: e.name, error: 'the migration file disappeared after the pre-deployment check', rollback: 'none' } };
        files.push({ ...f, checksum: e.checksum });
      }
      const result = await withHeartbeat(() =>
        applyMigrations(deps.databaseUrl(service.database!), files, {
          lockTimeoutMs: config.deploy.lockTimeout,
          statementTimeoutMs: config.deploy.statementTimeout,
          appliedBy: input.deployId,
        }),
      );
      return { pending: input.expected.map((x) => x.name), applied: [...result.skipped, ...result.applied], ...(result.failed ? { failed: result.failed } : {}) };
    },

    /**
     * A preview (Vercel: target omitted) or production-target deployment of the ref, tagged with
     * `identity`; an existing one with that tag is returned instead of creating another. Netlify builds
     * from git pushes, so there the deploy of the commit is looked up (and waited for) instead.
     */
    async createTaggedDeployment(input: { service: string; kind: 'preview' | 'production'; ref: string; sha?: string; identity: string; pollIntervalMs: number }): Promise<CreatedDeployment> {
      const service = serviceOf(config, input.service);
      if (service.platform === 'vercel') {
        const git = service.git!;
        const { deployment, created } = await callPlatform(() =>
          clients().vercel.findOrCreateDeployment({
            identity: input.identity,
            projectId: service.projectId,
            name: service.projectId,
            project: service.projectId,
            ...(input.kind === 'production' ? { target: 'production' } : {}),
            gitSource: { type: 'github', org: git.org, repo: git.repo, ref: input.ref, ...(input.sha ? { sha: input.sha } : {}) },
            meta: { githubCommitRef: input.ref, ...(input.sha ? { githubCommitSha: input.sha } : {}) },
          }),
        );
        return { ...vercelRef(deployment), state: deployment.readyState, created, sha: input.sha ?? deployment.meta.githubCommitSha };
      }
      const wantProduction = input.kind === 'production';
      const matches = (d: NetlifyDeploy) =>
        (input.sha ? (d.commit_ref ?? '').startsWith(input.sha) : d.branch === input.ref) && (wantProduction ? d.context === 'production' : true);
      const found = await callPlatform(() =>
        pollUntil(
          { platform: 'netlify', endpoint: 'GET /sites/{site_id}/deploys', description: `the Netlify deploy of ${input.sha ?? input.ref}` },
          async () => {
            const deploys = (await clients().netlify.listDeploys(service.projectId, { branch: input.ref, perPage: 100 })).filter(matches);
            // A deploy preview is preferred for smoke tests; the production-context deploy is what gets published.
            return deploys.find((d) => (wantProduction ? d.context === 'production' : d.context !== 'production')) ?? deploys[0];
          },
          (d) => d !== undefined,
          { intervalMs: input.pollIntervalMs },
        ),
      );
      return { ...netlifyRef(found!), state: found!.state, created: false, sha: found!.commit_ref ?? input.sha };
    },

    /** Waits for the build to settle, heartbeating; ERROR or CANCELED comes back with the platform's message. */
    async waitForBuild(input: { service: string; deploymentId: string; pollIntervalMs: number }): Promise<BuildOutcome> {
      const service = serviceOf(config, input.service);
      if (service.platform === 'vercel') {
        const d = await callPlatform(() => clients().vercel.waitForDeployment(input.deploymentId, { intervalMs: input.pollIntervalMs }));
        return {
          ready: d.readyState === 'READY',
          id: d.id,
          url: deploymentUrl(d.url),
          state: d.readyState,
          ...(d.readyState === 'READY' ? {} : { message: [d.errorCode, d.errorMessage].filter(Boolean).join(': ') || `the build ended ${d.readyState}` }),
        };
      }
      const d = await callPlatform(() =>
        pollUntil(
          { platform: 'netlify', endpoint: 'GET /deploys/{deploy_id}', description: `deploy ${input.deploymentId}` },
          () => clients().netlify.getDeploy(input.deploymentId, service.projectId),
          (x) => SETTLED_NETLIFY.has(x.state),
          { intervalMs: input.pollIntervalMs },
        ),
      );
      return { ready: d.state === 'ready', ...netlifyRef(d), state: d.state, ...(d.state === 'ready' ? {} : { message: d.error_message ?? 'the deploy failed' }) };
    },

    /** Smoke tests of a deployment URL: the health endpoint reports healthy and every critical path answers as configured. */
    async smokeTest(input: { service: string; baseUrl: string }): Promise<SmokeResult> {
      const service = serviceOf(config, input.service);
      const checks: SmokeCheck[] = [];
      const health = await clients().probe.health(input.baseUrl, service.healthPath);
      const healthy = isHealthy(health);
      checks.push({
        path: service.healthPath,
        ok: healthy,
        status: health.status,
        reason: healthy ? 'healthy' : health.status === null ? `no answer: ${health.error}` : `answered ${health.status}${health.health ? ` ${health.health.status}` : ''}${health.problem ? ` (${health.problem})` : ''}`,
      });
      for (const p of service.criticalPaths) {
        const r = await clients().probe.get(joinUrl(input.baseUrl, p.path));
        const statusOk = r.status === p.expectStatus;
        const bodyOk = p.expectBody === undefined || r.body.includes(p.expectBody);
        checks.push({
          path: p.path,
          ok: statusOk && bodyOk,
          status: r.status,
          reason:
            r.status === null
              ? `no answer: ${r.error}`
              : !statusOk
                ? `answered ${r.status}, expected ${p.expectStatus}`
                : !bodyOk
                  ? `body does not contain "${p.expectBody}"`
                  : `answered ${r.status}`,
        });
      }
      return { passed: checks.every((c) => c.ok), checks };
    },

    /**
     * The deployment serving production now: the rollback target, recorded before promoting. A
     * candidate that already went live on its own (Netlify auto-publishing, Vercel auto-assigned
     * domains) is `excluding`d: then the deployment before it is the target.
     */
    async currentProduction(input: { service: string; excluding?: string }): Promise<DeploymentRef | null> {
      const { current, previous } = await callPlatform(() => productionPair(serviceOf(config, input.service)));
      return current && current.id === input.excluding ? previous : current;
    },

    /** Rolling Back → Option 1: the production deployment now, and the one before it. */
    async previousProduction(input: { service: string }): Promise<{ current: DeploymentRef | null; previous: DeploymentRef | null }> {
      return callPlatform(() => productionPair(serviceOf(config, input.service)));
    },

    async describeDeployment(input: { service: string; deploymentId: string }): Promise<DeploymentRef> {
      const service = serviceOf(config, input.service);
      return callPlatform(async () =>
        service.platform === 'vercel' ? vercelRef(await clients().vercel.getDeployment(input.deploymentId)) : netlifyRef(await clients().netlify.getDeploy(input.deploymentId, service.projectId)),
      );
    },

    /** Standard Deployment step 5: promote (Vercel) or publish (Netlify restore), then wait for the alias job. */
    async promoteDeployment(input: { service: string; deploymentId: string; pollIntervalMs: number }): Promise<AliasOutcome> {
      const service = serviceOf(config, input.service);
      return callPlatform(async () => {
        if (service.platform === 'vercel') {
          return aliasJobTo(service, input.deploymentId, 'promote', input.pollIntervalMs, () => clients().vercel.promote(service.projectId, input.deploymentId));
        }
        if ((await netlifyProduction(service))?.id === input.deploymentId) return { requested: false, ok: true, status: 'already-current' };
        const d = await clients().netlify.restoreDeploy(service.projectId, input.deploymentId);
        return { requested: true, ok: d.state === 'ready', status: d.state };
      });
    },

    /** Rolling release: configure the stages (manual approval) and start with the canary, unless already started. */
    async startRollingRelease(input: { service: string; canaryId: string; stages: number[] }): Promise<{ percent: number; started: boolean }> {
      const service = serviceOf(config, input.service);
      return callPlatform(async () => {
        const active = (await clients().vercel.getRollingRelease(service.projectId, 'ACTIVE')).rollingRelease;
        if (active?.canaryDeployment?.id === input.canaryId) return { percent: active.activeStage?.targetPercentage ?? 0, started: false };
        if (active) throw ApplicationFailure.create({ type: 'RollingReleaseBusy', nonRetryable: true, message: `another rolling release is active on ${service.projectId} (canary ${active.canaryDeployment?.id})` });
        await clients().vercel.configureRollingRelease(service.projectId, {
          enabled: true,
          advancementType: 'manual-approval',
          stages: input.stages.map((targetPercentage) => ({ targetPercentage })),
        });
        const started = (await clients().vercel.startRollingRelease(service.projectId, input.canaryId)).rollingRelease;
        return { percent: started?.activeStage?.targetPercentage ?? input.stages[0], started: true };
      });
    },

    /** Rolling release: move to stage `nextStageIndex`; the final stage completes the release. Idempotent. */
    async advanceRollingRelease(input: { service: string; canaryId: string; nextStageIndex: number; final: boolean }): Promise<{ percent: number; complete: boolean }> {
      const service = serviceOf(config, input.service);
      return callPlatform(async () => {
        const last = (await clients().vercel.getRollingRelease(service.projectId)).rollingRelease;
        if (last?.canaryDeployment?.id === input.canaryId && last.state === 'COMPLETE') return { percent: 100, complete: true };
        if (last?.canaryDeployment?.id !== input.canaryId || last.state !== 'ACTIVE') {
          throw ApplicationFailure.create({ type: 'RollingReleaseGone', nonRetryable: true, message: `the rolling release of ${input.canaryId} is no longer active (${last?.state ?? 'none'})` });
        }
        if ((last.activeStage?.index ?? -1) >= input.nextStageIndex) return { percent: last.activeStage!.targetPercentage, complete: false };
        const next = input.final
          ? (await clients().vercel.completeRollingRelease(service.projectId, input.canaryId)).rollingRelease
          : (await clients().vercel.approveRollingStage(service.projectId, input.canaryId, input.nextStageIndex)).rollingRelease;
        return { percent: next?.state === 'COMPLETE' ? 100 : (next?.activeStage?.targetPercentage ?? 0), complete: next?.state === 'COMPLETE' };
      });
    },

    /**
     * Rolling Back → Option 1: production back to `toDeploymentId`. Asks once: a rollback already asked
     * for (or production already there) is not asked again. During a rolling release, rolling back to the
     * current deployment aborts the release.
     */
    async rollbackProduction(input: { service: string; toDeploymentId: string; reason: string; pollIntervalMs: number }): Promise<AliasOutcome> {
      const service = serviceOf(config, input.service);
      return callPlatform(async () => {
        if (service.platform === 'vercel') {
          return aliasJobTo(service, input.toDeploymentId, 'rollback', input.pollIntervalMs, () =>
            clients().vercel.rollback(service.projectId, input.toDeploymentId, input.reason.slice(0, 200)),
          );
        }
        if ((await netlifyProduction(service))?.id === input.toDeploymentId) return { requested: false, ok: true, status: 'already-current' };
        const d = await clients().netlify.restoreDeploy(service.projectId, input.toDeploymentId);
        return { requested: true, ok: d.state === 'ready', status: d.state };
      });
    },

    /** One watch sample: health endpoint plus request metrics of `baseUrl`. A down app is an observation, not an error. */
    async sampleHealth(input: { service: string; baseUrl: string }): Promise<HealthSample> {
      const service = serviceOf(config, input.service);
      return sample(input.baseUrl, service.healthPath);
    },

    /**
     * Standard Deployment step 6: production answers healthy (a few tries, while the alias settles) and,
     * when `deploymentId` is given, the platform reports that deployment as production.
     */
    async verifyProduction(input: { service: string; deploymentId?: string; tries?: number; pollIntervalMs: number }): Promise<{ healthy: boolean; detail: string }> {
      const service = serviceOf(config, input.service);
      const tries = input.tries ?? 3;
      let detail = '';
      for (let i = 0; i < tries; i++) {
        if (i > 0) await Context.current().sleep(input.pollIntervalMs);
        Context.current().heartbeat(i);
        if (input.deploymentId) {
          const current = await callPlatform(() => currentProductionOf(service));
          if (current?.id !== input.deploymentId) {
            detail = `production is ${current?.id ?? 'nothing'}, not ${input.deploymentId}`;
            continue;
          }
        }
        const s = await sample(service.productionUrl, service.healthPath);
        detail = s.detail;
        if (s.healthy) return { healthy: true, detail };
      }
      return { healthy: false, detail };
    },

    /** Posts to the configured chat channels (Slack, Telegram); a missing channel is skipped. */
    async notifyChat(input: { text: string }): Promise<{ channels: string[] }> {
      const channels: string[] = [];
      const { slack, telegram } = clients();
      if (slack.configured) {
        await callPlatform(() => slack.post({ text: input.text }));
        channels.push('slack');
      }
      if (telegram.configured) {
        await callPlatform(() => telegram.sendMessage(input.text));
        channels.push('telegram');
      }
      return { channels };
    },

    /** Post-Deployment: the deployment and its outcome in the ops database (one row per workflow). */
    async recordDeployment(record: DeploymentRecord): Promise<void> {
      await deps.ops.query(
        `INSERT INTO deployments (workflow_id, kind, service, platform, ref, sha, requested_by, hotfix_reason, reason, incident_id,
           preview_deployment_id, production_deployment_id, previous_deployment_id, gates, migrations, watch, rollback,
           verdict, verdict_reason, started_at, finished_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)
         ON CONFLICT (workflow_id) DO UPDATE SET
           production_deployment_id = EXCLUDED.production_deployment_id, gates = EXCLUDED.gates, migrations = EXCLUDED.migrations,
           watch = EXCLUDED.watch, rollback = EXCLUDED.rollback, verdict = EXCLUDED.verdict, verdict_reason = EXCLUDED.verdict_reason,
           finished_at = EXCLUDED.finished_at`,
        [
          record.workflowId,
          record.kind,
          record.service,
          record.platform,
          record.ref ?? null,
          record.sha ?? null,
          record.requestedBy,
          record.hotfixReason ?? null,
          record.reason ?? null,
          record.incidentId ?? null,
          record.previewDeploymentId ?? null,
          record.productionDeploymentId ?? null,
          record.previousDeploymentId ?? null,
          JSON.stringify(record.gates),
          record.migrations ? JSON.stringify(record.migrations) : null,
          record.watch ? JSON.stringify(record.watch) : null,
          record.rollback ? JSON.stringify(record.rollback) : null,
          record.verdict,
          record.verdictReason,
          record.startedAt,
          record.finishedAt,
        ],
      );
    },
  };
}

export type DeployActivities = ReturnType<typeof createDeployActivities>;
export type { WatchSample };

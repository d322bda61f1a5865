import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { RunbookConfig, ServiceConfig } from '../../config/schema';
import { callPlatform, joinUrl, type PlatformClients } from '../../platforms';
import {
  planFrom,
  type DeploymentRef,
  type DeployPlan,
  type DeployVerdict,
  type GateResult,
  type MigrationOutcome,
  type PlanOverrides,
  type SmokeCheck,
  type SmokeResult,
} from '../../workflows/deploy/contract';
import type { ChatChannel } from '../../workflows/deploy/contract';
import { invalidInput as invalid, requirePlatforms, type ActivityDeps } from '../deps';
import { createMetricReader } from '../metrics';
import { checkCommitStatus } from './ci-status';
import { createEdgeFunctionActivities } from './edge-functions';
import { discoverMigrations, type MigrationFile } from './migrations/discover';
import { applyMigrations, pendingMigrations } from './migrations/runner';
import { isHealthy, sampleApp, type HealthSample } from './probes';
import { netlifyTarget } from './targets/netlify';
import type { AliasOutcome, BuildOutcome, CreatedDeployment, DeployTarget, DeployTargetFactory } from './targets/target';
import { vercelTarget } from './targets/vercel';

export type { AliasOutcome, BuildOutcome, CreatedDeployment, DeployTarget } from './targets/target';
export type { HealthSample } from './probes';

/**
 * The deploy and rollback workflows' side effects. Every call that changes a platform looks before it
 * acts (a deployment tagged with the caller's identity, the project's last alias request, the
 * production deployment now), so a retried activity or a restarted worker never does it twice.
 */

/** One deploy target per platform (targets/), chosen by the service's `platform`. */
const TARGETS: Record<ServiceConfig['platform'], DeployTargetFactory> = { vercel: vercelTarget, netlify: netlifyTarget };

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

export function createDeployActivities(deps: Pick<ActivityDeps, 'config' | 'ops' | 'databaseUrl' | 'env' | 'platforms'>) {
  const { config } = deps;
  const clients = (): PlatformClients => requirePlatforms(deps);
  const metricReader = createMetricReader({ ...deps, probe: () => clients().probe });
  /** The named service and its platform's deploy target. */
  const serviceAndTarget = (name: string): { service: ServiceConfig; target: DeployTarget } => {
    const service = serviceOf(config, name);
    return { service, target: TARGETS[service.platform](service, clients) };
  };
  const targetOf = (name: string) => serviceAndTarget(name).target;
  const vercelOf = (name: string) => vercelTarget(serviceOf(config, name), clients);

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

  return {
    ...createEdgeFunctionActivities(deps),

    /** The service's deployment settings from config, with the workflow input's overrides. */
    async deployPlan(input: { service: string; overrides?: PlanOverrides }): Promise<DeployPlan> {
      const { service, target } = serviceAndTarget(input.service);
      const problem = target.configProblem();
      if (problem) throw invalid(problem);
      return planFrom(config, service, input.overrides);
    },

    /** Pre-deployment checklist: the critical environment variables exist for production. */
    async checkCriticalEnv(input: { service: string }): Promise<Omit<GateResult, 'name' | 'at'>> {
      return callPlatform(() => targetOf(input.service).checkCriticalEnv());
    },

    /** Pre-deployment checklist: the commit's combined CI status, when deploy.ci names a check source. */
    async checkCiStatus(input: { service: string; ref: string; sha?: string }): Promise<CiCheck> {
      const service = serviceOf(config, input.service);
      const ci = config.deploy.ci;
      if (!ci) return { state: 'none', reason: 'no CI check source configured (deploy.ci)' };
      if (!service.git) return { state: 'failure', reason: `services.${service.name}.git is needed to look up CI status` };
      return checkCommitStatus(ci, deps.env, {
        org: service.git.org,
        repo: service.git.repo,
        commit: input.sha ?? input.ref,
        timeoutMs: config.platforms.requestTimeout,
      });
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
    async applyAppMigrations(input: {
      service: string;
      expected: { name: string; checksum: string }[];
      deployId: string;
    }): Promise<MigrationOutcome> {
      const service = serviceOf(config, input.service);
      const found = migrationFiles(service);
      if (!found) return { pending: [], applied: [] };
      const byName = new Map(found.files.map((f) => [f.name, f]));
      const files: MigrationFile[] = [];
      for (const e of input.expected) {
        const f = byName.get(e.name);
        if (!f)
          return {
            pending: input.expected.map((x) => x.name),
            applied: [],
            failed: { name: e.name, error: 'the migration file disappeared after the pre-deployment check', rollback: 'none' },
          };
        files.push({ ...f, checksum: e.checksum });
      }
      const result = await withHeartbeat(() =>
        applyMigrations(deps.databaseUrl(service.database!), files, {
          lockTimeoutMs: config.deploy.lockTimeout,
          statementTimeoutMs: config.deploy.statementTimeout,
          appliedBy: input.deployId,
        }),
      );
      return {
        pending: input.expected.map((x) => x.name),
        applied: [...result.skipped, ...result.applied],
        ...(result.failed ? { failed: result.failed } : {}),
      };
    },

    /**
     * A preview (Vercel: target omitted) or production-target deployment of the ref, tagged with
     * `identity`; an existing one with that tag is returned instead of creating another. Netlify builds
     * from git pushes, so there the deploy of the commit is looked up (and waited for) instead.
     */
    async createTaggedDeployment(input: {
      service: string;
      kind: 'preview' | 'production';
      ref: string;
      sha?: string;
      identity: string;
      pollIntervalMs: number;
    }): Promise<CreatedDeployment> {
      const target = targetOf(input.service);
      return callPlatform(() => target.createTaggedDeployment(input));
    },

    /** Waits for the build to settle, heartbeating; ERROR or CANCELED comes back with the platform's message. */
    async waitForBuild(input: { service: string; deploymentId: string; pollIntervalMs: number }): Promise<BuildOutcome> {
      const target = targetOf(input.service);
      return callPlatform(() => target.waitForBuild(input.deploymentId, input.pollIntervalMs));
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
        reason: healthy
          ? 'healthy'
          : health.status === null
            ? `no answer: ${health.error}`
            : `answered ${health.status}${health.health ? ` ${health.health.status}` : ''}${health.problem ? ` (${health.problem})` : ''}`,
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
      const { current, previous } = await callPlatform(() => targetOf(input.service).productionPair());
      return current && current.id === input.excluding ? previous : current;
    },

    /** Rolling Back → Option 1: the production deployment now, and the one before it. */
    async previousProduction(input: { service: string }): Promise<{ current: DeploymentRef | null; previous: DeploymentRef | null }> {
      return callPlatform(() => targetOf(input.service).productionPair());
    },

    async describeDeployment(input: { service: string; deploymentId: string }): Promise<DeploymentRef> {
      const target = targetOf(input.service);
      return callPlatform(() => target.describeDeployment(input.deploymentId));
    },

    /** Standard Deployment step 5: promote (Vercel) or publish (Netlify restore), then wait for the alias job. */
    async promoteDeployment(input: { service: string; deploymentId: string; pollIntervalMs: number }): Promise<AliasOutcome> {
      const target = targetOf(input.service);
      return callPlatform(() => target.promote(input.deploymentId, input.pollIntervalMs));
    },

    /** Rolling release (Vercel only): configure the stages (manual approval) and start with the canary, unless already started. */
    async startRollingRelease(input: {
      service: string;
      canaryId: string;
      stages: number[];
    }): Promise<{ percent: number; started: boolean }> {
      return vercelOf(input.service).startRollingRelease(input.canaryId, input.stages);
    },

    /** Rolling release (Vercel only): move to stage `nextStageIndex`; the final stage completes the release. Idempotent. */
    async advanceRollingRelease(input: {
      service: string;
      canaryId: string;
      nextStageIndex: number;
      final: boolean;
    }): Promise<{ percent: number; complete: boolean }> {
      return vercelOf(input.service).advanceRollingRelease(input.canaryId, input.nextStageIndex, input.final);
    },

    /**
     * Rolling Back → Option 1: production back to `toDeploymentId`. Asks once: a rollback already asked
     * for (or production already there) is not asked again. During a rolling release, rolling back to the
     * current deployment aborts the release.
     */
    async rollbackProduction(input: {
      service: string;
      toDeploymentId: string;
      reason: string;
      pollIntervalMs: number;
    }): Promise<AliasOutcome> {
      const target = targetOf(input.service);
      return callPlatform(() => target.rollBack(input.toDeploymentId, input.reason, input.pollIntervalMs));
    },

    /**
     * One watch sample: the health endpoint of `baseUrl` plus the service's metrics (services[].metrics,
     * for `deployment` and, during a staged promotion, the stable one), or /api/metrics when it has none.
     * A down app is an observation, not an error.
     */
    async sampleHealth(input: { service: string; baseUrl: string; deployment?: string; stableDeployment?: string }): Promise<HealthSample> {
      const service = serviceOf(config, input.service);
      if (!service.metrics.length) return sampleApp(clients().probe, input.baseUrl, service.healthPath);
      const [health, metrics] = await Promise.all([
        sampleApp(clients().probe, input.baseUrl, service.healthPath, { endpointMetrics: false }),
        metricReader.readMetrics(service, {
          baseUrl: input.baseUrl,
          deployment: input.deployment,
          stableDeployment: input.stableDeployment,
          signal: Context.current().cancellationSignal,
        }),
      ]);
      return { ...health, metrics };
    },

    /**
     * Standard Deployment step 6: production answers healthy (a few tries, while the alias settles) and,
     * when `deploymentId` is given, the platform reports that deployment as production.
     */
    async verifyProduction(input: {
      service: string;
      deploymentId?: string;
      tries?: number;
      pollIntervalMs: number;
    }): Promise<{ healthy: boolean; detail: string }> {
      const { service, target } = serviceAndTarget(input.service);
      const tries = input.tries ?? 3;
      let detail = '';
      for (let i = 0; i < tries; i++) {
        if (i > 0) await Context.current().sleep(input.pollIntervalMs);
        Context.current().heartbeat(i);
        if (input.deploymentId) {
          const current = await callPlatform(() => target.currentProduction());
          if (current?.id !== input.deploymentId) {
            detail = `production is ${current?.id ?? 'nothing'}, not ${input.deploymentId}`;
            continue;
          }
        }
        const s = await sampleApp(clients().probe, service.productionUrl, service.healthPath, { endpointMetrics: !service.metrics.length });
        detail = s.detail;
        if (s.healthy) return { healthy: true, detail };
      }
      return { healthy: false, detail };
    },

    /**
     * Posts to one chat channel; `posted: false` when that channel is not configured. One activity per channel, so
     * a retry of a failed Telegram post never posts to Slack again.
     */
    async notifyChatChannel(input: { channel: ChatChannel; text: string }): Promise<{ posted: boolean }> {
      const { slack, telegram } = clients();
      if (input.channel === 'slack') {
        if (!slack.configured) return { posted: false };
        await callPlatform(() => slack.post({ text: input.text }));
      } else {
        if (!telegram.configured) return { posted: false };
        await callPlatform(() => telegram.sendMessage(input.text));
      }
      return { posted: true };
    },

    /**
     * Posts to the configured chat channels (Slack, Telegram) in one activity; kept for runs started before
     * notifyChatChannel (their histories replay it): a retry after a failed Telegram post re-posts to Slack.
     */
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

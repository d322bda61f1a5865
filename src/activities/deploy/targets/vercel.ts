import { ApplicationFailure } from '@temporalio/common';
import type { ServiceConfig } from '../../../config/schema';
import { callPlatform, deploymentUrl, type PlatformClients } from '../../../platforms';
import type { VercelDeploymentListItem } from '../../../platforms/schemas';
import type { DeploymentRef } from '../../../workflows/deploy/contract';
import type { AliasOutcome, DeployTarget } from './target';

const vercelRef = (d: { id?: string; uid?: string; url: string }): DeploymentRef => ({ id: (d.id ?? d.uid)!, url: deploymentUrl(d.url) });

/**
 * Vercel builds a deployment from a git ref on request, switches production with promote and rollback
 * alias jobs (one at a time per project), and can stage a promotion as a rolling release.
 */
export function vercelTarget(service: ServiceConfig, clients: () => PlatformClients) {
  const project = service.projectId;
  const vercel = () => clients().vercel;

  /** The READY production deployment serving production now (PROMOTED), else the last alias job's target. */
  async function production(): Promise<VercelDeploymentListItem | undefined> {
    const list = await vercel().listAllDeployments({ projectId: project, target: 'production', state: ['READY'], limit: 50 }, 200);
    const promoted = list.find((d) => d.readySubstate === 'PROMOTED');
    if (promoted) return promoted;
    const last = (await vercel().getProject(project)).lastAliasRequest;
    const id = last ? (last.jobStatus === 'succeeded' ? last.toDeploymentId : last.fromDeploymentId) : undefined;
    return (id && list.find((d) => d.uid === id)) || list[0];
  }

  async function currentProduction(): Promise<DeploymentRef | null> {
    const d = await production();
    return d ? vercelRef(d) : null;
  }

  /** Waits out a promote/rollback job still running on the project, so ours is not refused with 409. */
  async function settleAliasJob(pollIntervalMs: number) {
    const last = (await vercel().getProject(project)).lastAliasRequest;
    if (last && (last.jobStatus === 'pending' || last.jobStatus === 'in-progress')) {
      return (await vercel().waitForAliasJob(project, last.toDeploymentId, { intervalMs: pollIntervalMs })).lastAliasRequest ?? null;
    }
    return last ?? null;
  }

  async function activeRelease() {
    if (!service.rollingRelease) return null;
    return (await vercel().getRollingRelease(project, 'ACTIVE')).rollingRelease;
  }

  async function aliasJobTo(
    id: string,
    type: 'promote' | 'rollback',
    pollIntervalMs: number,
    request: () => Promise<void>,
  ): Promise<AliasOutcome> {
    const last = await settleAliasJob(pollIntervalMs);
    let requested = false;
    if (last && last.toDeploymentId === id && last.type === type && last.jobStatus !== 'failed') {
      // Asked before (a retry after a crash): do not ask again.
    } else if ((await currentProduction())?.id === id && !(await activeRelease())) {
      return { requested: false, ok: true, status: 'already-current' };
    } else {
      await request();
      requested = true;
    }
    const after = await vercel().waitForAliasJob(project, id, { intervalMs: pollIntervalMs });
    const status = after.lastAliasRequest?.jobStatus ?? 'unknown';
    return {
      requested,
      ok: status === 'succeeded' || status === 'skipped',
      status,
      ...(status === 'failed' ? { message: `the ${type} job to ${id} failed on Vercel` } : {}),
    };
  }

  const target: DeployTarget = {
    configProblem: () =>
      service.git ? undefined : `services.${service.name}.git: needed to build a deployment from a git ref (org and repo)`,

    /** From the Vercel env API. */
    async checkCriticalEnv() {
      const envs = await vercel().listEnv(project);
      const forProduction = new Set(envs.filter((e) => e.target.length === 0 || e.target.includes('production')).map((e) => e.key));
      const missing = service.criticalEnv.filter((k) => !forProduction.has(k));
      return missing.length
        ? { status: 'fail', reason: `missing for production: ${missing.join(', ')}` }
        : { status: 'pass', reason: `all ${service.criticalEnv.length} critical variables set for production` };
    },

    /** A preview (target omitted) or production-target deployment, tagged with `identity`. */
    async createTaggedDeployment(input) {
      const git = service.git!;
      const { deployment, created } = await vercel().findOrCreateDeployment({
        identity: input.identity,
        projectId: project,
        name: project,
        project,
        ...(input.kind === 'production' ? { target: 'production' } : {}),
        gitSource: { type: 'github', org: git.org, repo: git.repo, ref: input.ref, ...(input.sha ? { sha: input.sha } : {}) },
        meta: { githubCommitRef: input.ref, ...(input.sha ? { githubCommitSha: input.sha } : {}) },
      });
      return { ...vercelRef(deployment), state: deployment.readyState, created, sha: input.sha ?? deployment.meta.githubCommitSha };
    },

    async waitForBuild(deploymentId, pollIntervalMs) {
      const d = await vercel().waitForDeployment(deploymentId, { intervalMs: pollIntervalMs });
      return {
        ready: d.readyState === 'READY',
        id: d.id,
        url: deploymentUrl(d.url),
        state: d.readyState,
        ...(d.readyState === 'READY'
          ? {}
          : { message: [d.errorCode, d.errorMessage].filter(Boolean).join(': ') || `the build ended ${d.readyState}` }),
      };
    },

    currentProduction,

    /** The last promote's `from`, else the newest earlier production deployment that served production. */
    async productionPair() {
      const current = await production();
      const last = (await vercel().getProject(project)).lastAliasRequest;
      const list = await vercel().listAllDeployments({ projectId: project, target: 'production', state: ['READY'], limit: 50 }, 200);
      const fromLast =
        last?.type === 'promote' && last.jobStatus === 'succeeded' && last.toDeploymentId === current?.uid
          ? list.find((d) => d.uid === last.fromDeploymentId)
          : undefined;
      const older = list.find(
        (d) => d.uid !== current?.uid && (current ? d.created < current.created : true) && d.isRollbackCandidate !== false,
      );
      const previous = fromLast ?? older;
      return { current: current ? vercelRef(current) : null, previous: previous ? vercelRef(previous) : null };
    },

    async describeDeployment(deploymentId) {
      return vercelRef(await vercel().getDeployment(deploymentId));
    },

    promote: (deploymentId, pollIntervalMs) =>
      aliasJobTo(deploymentId, 'promote', pollIntervalMs, () => vercel().promote(project, deploymentId)),

    /** During a rolling release, rolling back to the current deployment aborts the release. */
    rollBack: (toDeploymentId, reason, pollIntervalMs) =>
      aliasJobTo(toDeploymentId, 'rollback', pollIntervalMs, () => vercel().rollback(project, toDeploymentId, reason.slice(0, 200))),
  };

  return {
    ...target,

    /** Rolling release: configure the stages (manual approval) and start with the canary, unless already started. */
    async startRollingRelease(canaryId: string, stages: number[]): Promise<{ percent: number; started: boolean }> {
      return callPlatform(async () => {
        const active = (await vercel().getRollingRelease(project, 'ACTIVE')).rollingRelease;
        if (active?.canaryDeployment?.id === canaryId) return { percent: active.activeStage?.targetPercentage ?? 0, started: false };
        if (active)
          throw ApplicationFailure.create({
            type: 'RollingReleaseBusy',
            nonRetryable: true,
            message: `another rolling release is active on ${project} (canary ${active.canaryDeployment?.id})`,
          });
        await vercel().configureRollingRelease(project, {
          enabled: true,
          advancementType: 'manual-approval',
          stages: stages.map((targetPercentage) => ({ targetPercentage })),
        });
        const started = (await vercel().startRollingRelease(project, canaryId)).rollingRelease;
        return { percent: started?.activeStage?.targetPercentage ?? stages[0], started: true };
      });
    },

    /** Rolling release: move to stage `nextStageIndex`; the final stage completes the release. Idempotent. */
    async advanceRollingRelease(canaryId: string, nextStageIndex: number, final: boolean): Promise<{ percent: number; complete: boolean }> {
      return callPlatform(async () => {
        const last = (await vercel().getRollingRelease(project)).rollingRelease;
        if (last?.canaryDeployment?.id === canaryId && last.state === 'COMPLETE') return { percent: 100, complete: true };
        if (last?.canaryDeployment?.id !== canaryId || last.state !== 'ACTIVE') {
          throw ApplicationFailure.create({
            type: 'RollingReleaseGone',
            nonRetryable: true,
            message: `the rolling release of ${canaryId} is no longer active (${last?.state ?? 'none'})`,
          });
        }
        if ((last.activeStage?.index ?? -1) >= nextStageIndex) return { percent: last.activeStage!.targetPercentage, complete: false };
        const next = final
          ? (await vercel().completeRollingRelease(project, canaryId)).rollingRelease
          : (await vercel().approveRollingStage(project, canaryId, nextStageIndex)).rollingRelease;
        return {
          percent: next?.state === 'COMPLETE' ? 100 : (next?.activeStage?.targetPercentage ?? 0),
          complete: next?.state === 'COMPLETE',
        };
      });
    },
  };
}

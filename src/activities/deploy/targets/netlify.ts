import { deploymentUrl } from '../../../platforms';
import { pollUntil } from '../../../platforms/poll';
import type { NetlifyDeploy } from '../../../platforms/schemas';
import type { DeploymentRef } from '../../../workflows/deploy/contract';
import type { AliasOutcome, DeployTargetFactory } from './target';

const SETTLED = new Set(['ready', 'error']);

const netlifyRef = (d: NetlifyDeploy): DeploymentRef => ({ id: d.id, url: deploymentUrl(d.deploy_ssl_url ?? d.ssl_url ?? d.url ?? '') });

/**
 * Netlify builds from git pushes and publishes a deploy by restoring it; it has no rolling releases
 * and its environment variables are not readable through the configured API.
 */
export const netlifyTarget: DeployTargetFactory = (service, clients) => {
  const site = service.projectId;

  /** Published production deploys, the one serving production first. */
  async function published(): Promise<NetlifyDeploy[]> {
    const deploys = await clients().netlify.listDeploys(site, { production: true, state: 'ready', perPage: 100 });
    return deploys.filter((d) => d.published_at).sort((a, b) => Date.parse(b.published_at!) - Date.parse(a.published_at!));
  }

  /** Promoting and rolling back are both a restore of the deploy, unless it already is published. */
  async function publish(deploymentId: string): Promise<AliasOutcome> {
    if ((await published())[0]?.id === deploymentId) return { requested: false, ok: true, status: 'already-current' };
    const d = await clients().netlify.restoreDeploy(site, deploymentId);
    return { requested: true, ok: d.state === 'ready', status: d.state };
  }

  return {
    configProblem: () => undefined,

    async checkCriticalEnv() {
      return {
        status: 'skipped',
        reason: 'Netlify environment variables are not readable through the configured API; verify them by hand',
      };
    },

    /** The deploy of the commit a git push started is looked up (and waited for) instead of created. */
    async createTaggedDeployment(input) {
      const wantProduction = input.kind === 'production';
      const matches = (d: NetlifyDeploy) =>
        (input.sha ? (d.commit_ref ?? '').startsWith(input.sha) : d.branch === input.ref) &&
        (wantProduction ? d.context === 'production' : true);
      const found = await pollUntil(
        { platform: 'netlify', endpoint: 'GET /sites/{site_id}/deploys', description: `the Netlify deploy of ${input.sha ?? input.ref}` },
        async () => {
          const deploys = (await clients().netlify.listDeploys(site, { branch: input.ref, perPage: 100 })).filter(matches);
          // A deploy preview is preferred for smoke tests; the production-context deploy is what gets published.
          return deploys.find((d) => (wantProduction ? d.context === 'production' : d.context !== 'production')) ?? deploys[0];
        },
        (d) => d !== undefined,
        { intervalMs: input.pollIntervalMs },
      );
      return { ...netlifyRef(found!), state: found!.state, created: false, sha: found!.commit_ref ?? input.sha };
    },

    async waitForBuild(deploymentId, pollIntervalMs) {
      const d = await pollUntil(
        { platform: 'netlify', endpoint: 'GET /deploys/{deploy_id}', description: `deploy ${deploymentId}` },
        () => clients().netlify.getDeploy(deploymentId, site),
        (x) => SETTLED.has(x.state),
        { intervalMs: pollIntervalMs },
      );
      return {
        ready: d.state === 'ready',
        ...netlifyRef(d),
        state: d.state,
        ...(d.state === 'ready' ? {} : { message: d.error_message ?? 'the deploy failed' }),
      };
    },

    /** The most recently published deploy of the site. */
    async currentProduction() {
      const d = (await published())[0];
      return d ? netlifyRef(d) : null;
    },

    async productionPair() {
      const deploys = await published();
      return { current: deploys[0] ? netlifyRef(deploys[0]) : null, previous: deploys[1] ? netlifyRef(deploys[1]) : null };
    },

    async describeDeployment(deploymentId) {
      return netlifyRef(await clients().netlify.getDeploy(deploymentId, site));
    },

    promote: (deploymentId) => publish(deploymentId),
    rollBack: (toDeploymentId) => publish(toDeploymentId),
  };
};

import { z } from 'zod';
import type { RunbookConfig } from '../config/schema';
import { PlatformHttp } from './http';
import { pollUntil } from './poll';
import {
  vercelDeployment,
  vercelDeploymentList,
  vercelEnvList,
  vercelEnvUpsertResult,
  vercelEnvVar,
  vercelFirewallConfig,
  vercelProject,
  vercelRollingReleaseResponse,
  vercelRuntimeLog,
  type VercelDeployment,
  type VercelDeploymentListItem,
} from './schemas';
import type { VercelClient, VercelListQuery } from './types';

/** Meta key a deployment carries the creating workflow's identity under. */
export const RUNBOOK_META_KEY = 'runbookId';

const SETTLED = new Set(['READY', 'ERROR', 'CANCELED', 'BLOCKED']);
const ALIAS_DONE = new Set(['succeeded', 'failed', 'skipped']);

export interface VercelClientOptions {
  /** Sent as `teamId` on every call; defaults to the first Vercel service's teamId. */
  teamId?: string;
}

export function createVercelClient(config: RunbookConfig, env: NodeJS.ProcessEnv, opts: VercelClientOptions = {}): VercelClient {
  const { tokenEnv, apiUrl } = config.platforms.vercel;
  const teamId = opts.teamId ?? config.services.find((s) => s.platform === 'vercel' && s.teamId)?.teamId;
  const http = new PlatformHttp({
    platform: 'vercel',
    baseUrl: apiUrl,
    timeoutMs: config.platforms.requestTimeout,
    env,
    credential: { env: tokenEnv, noun: 'token', header: (token) => ({ authorization: `Bearer ${token}` }) },
  });
  const team = { teamId };
  const project = (id: string) => `project ${id}`;

  const client: VercelClient = {
    createDeployment: (body, o = {}) =>
      http.request({
        method: 'POST',
        path: '/v13/deployments',
        query: { ...team, forceNew: o.forceNew ? 1 : undefined },
        body,
        resource: project(body.project ?? body.name),
        schema: vercelDeployment,
      }),

    getDeployment: (idOrUrl) =>
      http.request({
        method: 'GET',
        path: '/v13/deployments/{id}',
        params: { id: idOrUrl },
        query: team,
        resource: `deployment ${idOrUrl}`,
        schema: vercelDeployment,
      }),

    listDeployments: (q = {}) =>
      http.request({
        method: 'GET',
        path: '/v7/deployments',
        query: { ...team, ...listQuery(q) },
        resource: q.projectId && project(q.projectId),
        schema: vercelDeploymentList,
      }),

    async listAllDeployments(q = {}, max = 1000) {
      const items: VercelDeploymentListItem[] = [];
      let until = q.until;
      do {
        const page = await client.listDeployments({ ...q, until });
        items.push(...page.deployments);
        until = page.pagination.next ?? undefined;
      } while (until !== undefined && items.length < max);
      return items.slice(0, max);
    },

    async findOrCreateDeployment({ identity, projectId, meta, ...body }) {
      const existing = await client.listDeployments({ projectId, meta: { [RUNBOOK_META_KEY]: identity }, limit: 1 });
      const found = existing.deployments.find((d) => d.meta[RUNBOOK_META_KEY] === identity);
      if (found) return { deployment: await client.getDeployment(found.uid), created: false };
      const deployment = await client.createDeployment({
        ...body,
        project: body.project ?? projectId,
        meta: { ...meta, [RUNBOOK_META_KEY]: identity },
      });
      return { deployment, created: true };
    },

    waitForDeployment: (id, o) =>
      pollUntil<VercelDeployment>(
        { platform: 'vercel', endpoint: 'GET /v13/deployments/{id}', description: `deployment ${id}` },
        () => client.getDeployment(id),
        (d) => SETTLED.has(d.readyState),
        o,
        (d) => ({ id: d.id, readyState: d.readyState }),
      ),

    promote: (projectId, deploymentId) =>
      http.send({
        method: 'POST',
        path: '/v10/projects/{projectId}/promote/{deploymentId}',
        params: { projectId, deploymentId },
        query: team,
        resource: `${project(projectId)} / deployment ${deploymentId}`,
      }),

    rollback: (projectId, deploymentId, description) =>
      http.send({
        method: 'POST',
        path: '/v1/projects/{projectId}/rollback/{deploymentId}',
        params: { projectId, deploymentId },
        query: { ...team, description },
        resource: `${project(projectId)} / deployment ${deploymentId}`,
      }),

    getProject: (idOrName) =>
      http.request({
        method: 'GET',
        path: '/v9/projects/{idOrName}',
        params: { idOrName },
        query: team,
        resource: project(idOrName),
        schema: vercelProject,
      }),

    waitForAliasJob: (projectId, deploymentId, o) =>
      pollUntil(
        { platform: 'vercel', endpoint: 'GET /v9/projects/{idOrName}', description: `alias job to deployment ${deploymentId}` },
        () => client.getProject(projectId),
        (p) => p.lastAliasRequest?.toDeploymentId === deploymentId && ALIAS_DONE.has(p.lastAliasRequest.jobStatus),
        o,
        (p) => ({ lastAliasRequest: p.lastAliasRequest ?? null }),
      ),

    getRollingRelease: (idOrName, state) =>
      http.request({
        method: 'GET',
        path: '/v1/projects/{idOrName}/rolling-release',
        params: { idOrName },
        query: { ...team, state },
        resource: project(idOrName),
        schema: vercelRollingReleaseResponse,
      }),

    configureRollingRelease: (idOrName, config) =>
      http.send({
        method: 'PATCH',
        path: '/v1/projects/{idOrName}/rolling-release/config',
        params: { idOrName },
        query: team,
        body: config,
        resource: project(idOrName),
      }),

    startRollingRelease: (idOrName, canaryDeploymentId) => rolling(idOrName, 'start', { canaryDeploymentId }),
    approveRollingStage: (idOrName, canaryDeploymentId, nextStageIndex) =>
      rolling(idOrName, 'approve-stage', { nextStageIndex, canaryDeploymentId }),
    completeRollingRelease: (idOrName, canaryDeploymentId) => rolling(idOrName, 'complete', { canaryDeploymentId }),

    async listEnv(idOrName, o = {}) {
      const { envs } = await http.request({
        method: 'GET',
        path: '/v10/projects/{idOrName}/env',
        params: { idOrName },
        query: { ...team, decrypt: o.decrypt ? 'true' : undefined },
        resource: project(idOrName),
        schema: vercelEnvList,
      });
      return envs;
    },

    getEnv: (idOrName, envId) =>
      http.request({
        method: 'GET',
        path: '/v1/projects/{idOrName}/env/{envId}',
        params: { idOrName, envId },
        query: { ...team },
        resource: project(idOrName),
        schema: vercelEnvVar,
      }),

    upsertEnv: (idOrName, vars) =>
      http.request({
        method: 'POST',
        path: '/v10/projects/{idOrName}/env',
        params: { idOrName },
        query: { ...team, upsert: 'true' },
        body: vars,
        resource: project(idOrName),
        schema: vercelEnvUpsertResult,
      }),

    patchEnv: (idOrName, envId, patch) =>
      http.request({
        method: 'PATCH',
        path: '/v9/projects/{idOrName}/env/{envId}',
        params: { idOrName, envId },
        query: team,
        body: patch,
        resource: `environment variable ${envId} of ${project(idOrName)}`,
        schema: vercelEnvVar,
      }),

    firewallConfig: (projectId) =>
      http.request({
        method: 'GET',
        path: '/v1/security/firewall/config/{configVersion}',
        params: { configVersion: 'active' },
        query: { ...team, projectId },
        resource: `firewall of ${project(projectId)}`,
        schema: vercelFirewallConfig,
      }),

    async updateFirewall(projectId, change) {
      await http.request({
        method: 'PATCH',
        path: '/v1/security/firewall/config',
        query: { ...team, projectId },
        body: change,
        resource: `firewall of ${project(projectId)}`,
        schema: z.unknown(),
      });
    },

    runtimeLogs: (projectId, deploymentId, o = {}) =>
      http.request({
        method: 'GET',
        path: '/v1/projects/{projectId}/deployments/{deploymentId}/runtime-logs',
        params: { projectId, deploymentId },
        query: team,
        headers: { accept: 'application/stream+json' },
        resource: `logs of deployment ${deploymentId}`,
        read: 'ndjson',
        maxLines: o.maxLines ?? 1000,
        schema: z.array(vercelRuntimeLog),
      }),
  };

  function rolling(idOrName: string, action: 'start' | 'approve-stage' | 'complete', body: Record<string, unknown>) {
    return http.request({
      method: 'POST',
      path: `/v1/projects/{idOrName}/rolling-release/${action}`,
      params: { idOrName },
      query: team,
      body,
      resource: project(idOrName),
      schema: vercelRollingReleaseResponse,
    });
  }

  return client;
}

function listQuery(q: VercelListQuery): Record<string, string | number | undefined> {
  const out: Record<string, string | number | undefined> = {
    projectId: q.projectId,
    target: q.target,
    state: q.state?.join(','),
    limit: q.limit,
    since: q.since,
    until: q.until,
    sha: q.sha,
    branch: q.branch,
  };
  for (const [key, value] of Object.entries(q.meta ?? {})) out[`meta-${key}`] = value;
  return out;
}

import type { RunbookConfig } from '../config/schema';
import { PlatformHttp } from './http';
import { netlifyDeploy, netlifyDeployList } from './schemas';
import type { NetlifyClient } from './types';

export function createNetlifyClient(config: RunbookConfig, env: NodeJS.ProcessEnv): NetlifyClient {
  const { tokenEnv, apiUrl } = config.platforms.netlify;
  const http = new PlatformHttp({
    platform: 'netlify',
    baseUrl: apiUrl,
    timeoutMs: config.platforms.requestTimeout,
    env,
    credential: { env: tokenEnv, noun: 'token', header: (token) => ({ authorization: `Bearer ${token}` }) },
  });
  const site = (id: string) => `site ${id}`;
  return {
    listDeploys: (siteId, q = {}) =>
      http.request({
        method: 'GET',
        path: '/sites/{siteId}/deploys',
        params: { siteId },
        query: { state: q.state, production: q.production, branch: q.branch, page: q.page, per_page: q.perPage },
        resource: site(siteId),
        schema: netlifyDeployList,
      }),
    getDeploy: (deployId, siteId) =>
      siteId
        ? http.request({
            method: 'GET',
            path: '/sites/{siteId}/deploys/{deployId}',
            params: { siteId, deployId },
            resource: `deploy ${deployId} of ${site(siteId)}`,
            schema: netlifyDeploy,
          })
        : http.request({
            method: 'GET',
            path: '/deploys/{deployId}',
            params: { deployId },
            resource: `deploy ${deployId}`,
            schema: netlifyDeploy,
          }),
    restoreDeploy: (siteId, deployId) =>
      http.request({
        method: 'POST',
        path: '/sites/{siteId}/deploys/{deployId}/restore',
        params: { siteId, deployId },
        resource: `deploy ${deployId} of ${site(siteId)}`,
        schema: netlifyDeploy,
      }),
    rollback: (siteId) => http.send({ method: 'PUT', path: '/sites/{siteId}/rollback', params: { siteId }, resource: site(siteId) }),
    cancelDeploy: (deployId) =>
      http.request({
        method: 'POST',
        path: '/deploys/{deployId}/cancel',
        params: { deployId },
        resource: `deploy ${deployId}`,
        schema: netlifyDeploy,
      }),
  };
}

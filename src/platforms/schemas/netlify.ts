import { z } from 'zod';

/** Netlify API v1 (contracts/platforms.md). */

export const netlifyError = z.object({ code: z.number().optional(), message: z.string() });

/** `state` is open-ended (new, enqueued, building, …, ready, error, retrying, …). */
export const netlifyDeploy = z.object({
  id: z.string().min(1),
  site_id: z.string(),
  state: z.string(),
  url: z.string().nullish(),
  ssl_url: z.string().nullish(),
  deploy_ssl_url: z.string().nullish(),
  branch: z.string().nullish(),
  commit_ref: z.string().nullish(),
  context: z.string().nullish(),
  error_message: z.string().nullish(),
  created_at: z.string(),
  published_at: z.string().nullish(),
});
export type NetlifyDeploy = z.infer<typeof netlifyDeploy>;

/** GET /sites/{site_id}/deploys answers a bare array; pages via `page`/`per_page`. */
export const netlifyDeployList = z.array(netlifyDeploy);

import { z } from 'zod';

/** Vercel REST API (contracts/platforms.md). Unknown extra fields are tolerated and dropped. */

export const vercelReadyState = z.enum(['QUEUED', 'INITIALIZING', 'BUILDING', 'READY', 'ERROR', 'CANCELED', 'BLOCKED']);
export type VercelReadyState = z.infer<typeof vercelReadyState>;
export const vercelReadySubstate = z.enum(['STAGED', 'ROLLING', 'PROMOTED']);
/** `production`, `staging`, a custom environment, or null for a preview. */
export const vercelTarget = z.string().nullable();
const meta = z.record(z.string(), z.string());

export const vercelError = z.object({ error: z.object({ code: z.string(), message: z.string().optional() }) });

export const vercelGitSource = z.union([
  z.object({ type: z.literal('github'), ref: z.string(), repoId: z.union([z.string(), z.number()]), sha: z.string().optional() }),
  z.object({ type: z.literal('github'), org: z.string(), repo: z.string(), ref: z.string(), sha: z.string().optional() }),
]);

/** Body of POST /v13/deployments. Omit `target` for a preview. */
export const vercelCreateDeploymentBody = z.object({
  name: z.string().min(1),
  project: z.string().optional(),
  target: z.string().optional(),
  gitSource: vercelGitSource.optional(),
  deploymentId: z.string().optional(),
  meta: meta.optional(),
});
export type VercelCreateDeploymentBody = z.infer<typeof vercelCreateDeploymentBody>;

/** POST /v13/deployments and GET /v13/deployments/{idOrUrl}. `url` is a bare host. */
export const vercelDeployment = z.object({
  id: z.string().min(1),
  url: z.string().min(1),
  name: z.string(),
  projectId: z.string(),
  createdAt: z.number(),
  target: vercelTarget.optional().default(null),
  readyState: vercelReadyState,
  readySubstate: vercelReadySubstate.nullish(),
  meta: meta.optional().default({}),
  inspectorUrl: z.string().nullish(),
  errorCode: z.string().nullish(),
  errorMessage: z.string().nullish(),
  aliasAssigned: z.union([z.boolean(), z.number()]).nullish(),
});
export type VercelDeployment = z.infer<typeof vercelDeployment>;

/** One item of GET /v7/deployments: `uid`, not `id`. */
export const vercelDeploymentListItem = z.object({
  uid: z.string().min(1),
  name: z.string(),
  url: z.string(),
  state: vercelReadyState.optional(),
  readyState: vercelReadyState,
  readySubstate: vercelReadySubstate.nullish(),
  target: vercelTarget.optional().default(null),
  created: z.number(),
  createdAt: z.number().optional(),
  meta: meta.optional().default({}),
  isRollbackCandidate: z.boolean().nullish(),
});
export type VercelDeploymentListItem = z.infer<typeof vercelDeploymentListItem>;

export const vercelPagination = z.object({ count: z.number(), next: z.number().nullable(), prev: z.number().nullable() });

export const vercelDeploymentList = z.object({ deployments: z.array(vercelDeploymentListItem), pagination: vercelPagination });
export type VercelDeploymentList = z.infer<typeof vercelDeploymentList>;

export const vercelAliasJobStatus = z.enum(['pending', 'in-progress', 'succeeded', 'failed', 'skipped']);
export const vercelLastAliasRequest = z.object({
  fromDeploymentId: z.string().nullable(),
  toDeploymentId: z.string(),
  jobStatus: vercelAliasJobStatus,
  requestedAt: z.number(),
  type: z.enum(['promote', 'rollback']),
});
export type VercelLastAliasRequest = z.infer<typeof vercelLastAliasRequest>;

/** GET /v9/projects/{idOrName}: poll `lastAliasRequest` to learn when a promote/rollback finished. */
export const vercelProject = z.object({
  id: z.string(),
  name: z.string(),
  lastAliasRequest: vercelLastAliasRequest.nullish(),
});
export type VercelProject = z.infer<typeof vercelProject>;

export const vercelRollingStage = z.object({
  index: z.number().int(),
  isFinalStage: z.boolean(),
  targetPercentage: z.number(),
  requireApproval: z.boolean().optional(),
  /** Minutes. */
  duration: z.number().nullish(),
});

/** The deployments a rolling release moves between; the API returns deployment summaries. */
const rollingDeployment = z.object({ id: z.string(), url: z.string().optional(), name: z.string().optional() }).nullable();

export const vercelRollingReleaseState = z.enum(['ACTIVE', 'COMPLETE', 'ABORTED']);
export const vercelRollingRelease = z.object({
  state: vercelRollingReleaseState,
  substate: z.string().nullish(),
  currentDeployment: rollingDeployment,
  canaryDeployment: rollingDeployment,
  stages: z.array(vercelRollingStage),
  activeStage: vercelRollingStage.nullable(),
  nextStage: vercelRollingStage.nullable(),
  startedAt: z.number().nullish(),
  updatedAt: z.number().nullish(),
});
export type VercelRollingRelease = z.infer<typeof vercelRollingRelease>;

/** GET …/rolling-release, and the answer of start / approve-stage / complete. */
export const vercelRollingReleaseResponse = z.object({ rollingRelease: vercelRollingRelease.nullable() });
export type VercelRollingReleaseResponse = z.infer<typeof vercelRollingReleaseResponse>;

/** Body of PATCH …/rolling-release/config (its answer is not relied on). */
export const vercelRollingReleaseConfigBody = z.object({
  enabled: z.boolean(),
  advancementType: z.enum(['automatic', 'manual-approval']),
  stages: z.array(z.object({ targetPercentage: z.number(), requireApproval: z.boolean().optional(), duration: z.number().optional() })),
});
export type VercelRollingReleaseConfig = z.infer<typeof vercelRollingReleaseConfigBody>;

export const vercelEnvType = z.enum(['system', 'encrypted', 'plain', 'sensitive', 'secret']);
export const vercelEnvTarget = z.enum(['production', 'preview', 'development']);

export const vercelEnvVar = z.object({
  id: z.string(),
  key: z.string(),
  /** Absent or empty for sensitive values and without `decrypt`. */
  value: z.string().optional(),
  type: vercelEnvType,
  target: z.array(z.string()).optional().default([]),
  gitBranch: z.string().nullish(),
  createdAt: z.number().optional(),
  updatedAt: z.number().optional(),
});
export type VercelEnvVar = z.infer<typeof vercelEnvVar>;

export const vercelEnvList = z.object({ envs: z.array(vercelEnvVar) });

export const vercelEnvInput = z.object({
  key: z.string().min(1),
  value: z.string(),
  type: vercelEnvType.exclude(['secret']),
  target: z.array(vercelEnvTarget).min(1),
});
export type VercelEnvInput = z.infer<typeof vercelEnvInput>;

/** 201 of POST /v10/projects/{idOrName}/env?upsert=true. */
export const vercelEnvUpsertResult = z.object({
  created: z.union([vercelEnvVar, z.array(vercelEnvVar)]),
  failed: z.array(z.object({ error: z.object({ code: z.string(), message: z.string(), key: z.string().optional() }) })).default([]),
});
export type VercelEnvUpsertResult = z.infer<typeof vercelEnvUpsertResult>;

/** Body of PATCH /v9/projects/{idOrName}/env/{id}. */
export const vercelEnvPatch = vercelEnvInput.partial();

/** One line of the runtime-logs NDJSON stream. */
export const vercelRuntimeLog = z.object({
  level: z.string(),
  message: z.string(),
  source: z.string().optional(),
  timestampInMs: z.number(),
  requestMethod: z.string().nullish(),
  requestPath: z.string().nullish(),
  responseStatusCode: z.number().nullish(),
});
export type VercelRuntimeLog = z.infer<typeof vercelRuntimeLog>;

/** GET /v1/security/firewall/config/{configVersion}: the fields this project reads (IP blocking rules). */
export const vercelFirewallConfig = z.looseObject({
  version: z.number().optional(),
  ips: z
    .array(z.looseObject({ id: z.string(), hostname: z.string(), ip: z.string(), action: z.string(), notes: z.string().optional() }))
    .default([]),
});
export type VercelFirewallConfig = z.infer<typeof vercelFirewallConfig>;

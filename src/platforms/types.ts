import type {
  AppHealth,
  AppMetrics,
  NetlifyDeploy,
  PagerdutyEventResult,
  PagerdutySeverity,
  ProviderStatus,
  ProviderSummary,
  StatuspageIncident,
  StatuspageIncidentFields,
  SupabaseAuthHealth,
  SupabaseAuthUser,
  SupabaseBackups,
  SupabaseFunction,
  SupabaseHealthServiceName,
  SupabaseProject,
  SupabaseServiceHealth,
  TelegramMessage,
  VercelCreateDeploymentBody,
  VercelDeployment,
  VercelDeploymentList,
  VercelDeploymentListItem,
  VercelEnvInput,
  VercelEnvUpsertResult,
  VercelEnvVar,
  VercelProject,
  VercelRollingReleaseConfig,
  VercelRollingReleaseResponse,
  VercelRuntimeLog,
  VercelFirewallConfig,
} from './schemas';

/** The platform interfaces activities program against; every method validates its answer and throws PlatformError. */

export interface PollOptions {
  /** Time between polls. */
  intervalMs: number;
  /** Give up (retryable PlatformError) after this long; the activity's own timeouts still apply. */
  timeoutMs?: number;
}

export interface VercelListQuery {
  projectId?: string;
  target?: string;
  /** READY, ERROR, … */
  state?: string[];
  limit?: number;
  since?: number;
  until?: number;
  sha?: string;
  branch?: string;
  /** Sent as `meta-<key>=<value>`. */
  meta?: Record<string, string>;
}

export interface FindOrCreateDeploymentInput extends Omit<VercelCreateDeploymentBody, 'meta'> {
  /** The caller's identity (e.g. the workflow id); stored as meta `runbookId`. */
  identity: string;
  projectId: string;
  meta?: Record<string, string>;
}

export interface VercelClient {
  createDeployment(body: VercelCreateDeploymentBody, opts?: { forceNew?: boolean }): Promise<VercelDeployment>;
  getDeployment(idOrUrl: string): Promise<VercelDeployment>;
  /** One page. */
  listDeployments(query?: VercelListQuery): Promise<VercelDeploymentList>;
  /** Every page, following `until=pagination.next` until it is null (stops after `max` items). */
  listAllDeployments(query?: VercelListQuery, max?: number): Promise<VercelDeploymentListItem[]>;
  /** Looks up a deployment tagged meta runbookId=<identity> before creating one: a retried create makes no second deployment. */
  findOrCreateDeployment(input: FindOrCreateDeploymentInput): Promise<{ deployment: VercelDeployment; created: boolean }>;
  /** Polls until READY, ERROR, CANCELED or BLOCKED; heartbeats inside an activity. */
  waitForDeployment(id: string, opts: PollOptions): Promise<VercelDeployment>;
  promote(projectId: string, deploymentId: string): Promise<void>;
  /** `deploymentId` is the deployment rolled back TO. */
  rollback(projectId: string, deploymentId: string, description?: string): Promise<void>;
  getProject(idOrName: string): Promise<VercelProject>;
  /** Polls lastAliasRequest until the promote/rollback to `deploymentId` is succeeded, failed or skipped. */
  waitForAliasJob(projectId: string, deploymentId: string, opts: PollOptions): Promise<VercelProject>;
  getRollingRelease(idOrName: string, state?: 'ACTIVE' | 'COMPLETE' | 'ABORTED'): Promise<VercelRollingReleaseResponse>;
  configureRollingRelease(idOrName: string, config: VercelRollingReleaseConfig): Promise<void>;
  startRollingRelease(idOrName: string, canaryDeploymentId: string): Promise<VercelRollingReleaseResponse>;
  approveRollingStage(idOrName: string, canaryDeploymentId: string, nextStageIndex: number): Promise<VercelRollingReleaseResponse>;
  completeRollingRelease(idOrName: string, canaryDeploymentId: string): Promise<VercelRollingReleaseResponse>;
  listEnv(idOrName: string, opts?: { decrypt?: boolean }): Promise<VercelEnvVar[]>;
  /** One variable with its value decrypted (`GET /v1/projects/{idOrName}/env/{id}`): read one secret, not all of them. */
  getEnv(idOrName: string, envId: string): Promise<VercelEnvVar>;
  upsertEnv(idOrName: string, vars: VercelEnvInput | VercelEnvInput[]): Promise<VercelEnvUpsertResult>;
  patchEnv(idOrName: string, envId: string, patch: Partial<VercelEnvInput>): Promise<VercelEnvVar>;
  /** The log stream up to `maxLines` (default 1000) or until the request timeout cuts it off. */
  runtimeLogs(projectId: string, deploymentId: string, opts?: { maxLines?: number }): Promise<VercelRuntimeLog[]>;
  /** Vercel Firewall: the active configuration (its IP blocking rules). */
  firewallConfig(projectId: string): Promise<VercelFirewallConfig>;
  /** PATCH /v1/security/firewall/config with one change, e.g. `{ action: 'ip.insert', id: null, value: { hostname: '*', ip, action: 'deny' } }`. */
  updateFirewall(
    projectId: string,
    change:
      | {
          action: 'ip.insert';
          id: null;
          value: { hostname: string; ip: string; action: 'deny' | 'challenge' | 'log' | 'bypass'; notes?: string };
        }
      | { action: 'ip.remove'; id: string },
  ): Promise<void>;
}

export interface NetlifyClient {
  listDeploys(
    siteId: string,
    query?: { state?: string; production?: boolean; branch?: string; page?: number; perPage?: number },
  ): Promise<NetlifyDeploy[]>;
  getDeploy(deployId: string, siteId?: string): Promise<NetlifyDeploy>;
  /** Publishes an older deploy (rollback to it). */
  restoreDeploy(siteId: string, deployId: string): Promise<NetlifyDeploy>;
  /** Back to the previously published deploy. */
  rollback(siteId: string): Promise<void>;
  cancelDeploy(deployId: string): Promise<NetlifyDeploy>;
}

export interface SupabaseClient {
  getProject(ref?: string): Promise<SupabaseProject>;
  health(services: SupabaseHealthServiceName[], opts?: { ref?: string; timeoutMs?: number }): Promise<SupabaseServiceHealth[]>;
  listBackups(ref?: string): Promise<SupabaseBackups>;
  restorePitr(recoveryTimeTargetUnix: number, ref?: string): Promise<void>;
  query(sql: string, opts?: { ref?: string; parameters?: unknown[]; readOnly?: boolean }): Promise<Record<string, unknown>[]>;
  listFunctions(ref?: string): Promise<SupabaseFunction[]>;
  /** Deploys (or redeploys, as a new version) an Edge Function from its source files, as `supabase functions deploy` does. */
  deployFunction(slug: string, fn: EdgeFunctionSource, ref?: string): Promise<SupabaseFunction>;
  /** GoTrue health behind the project's API gateway (needs platforms.supabase.projectUrl and the anon key). */
  authHealth(): Promise<SupabaseAuthHealth>;
  /**
   * Supabase Auth's admin API, `PUT <projectUrl>/auth/v1/admin/users/{id}` with `ban_duration` (a Go duration such as
   * "876000h", or "none" to lift the ban), with the service_role key: a banned user can neither sign in nor refresh a session.
   */
  banAuthUser(userId: string, banDuration: string): Promise<SupabaseAuthUser>;
  /** `GET <projectUrl>/auth/v1/admin/users/{id}` with the service_role key: the user, with `banned_until`. */
  getAuthUser(userId: string): Promise<SupabaseAuthUser>;
  /**
   * GET <projectUrl>/functions/v1/<slug> with an invalid JWT: a 401 (or 2xx) means the backend is up,
   * as the second runbook reads it; anything else, or no answer, means down.
   */
  edgeFunction(slug: string): Promise<ProbeResult & { up: boolean }>;
}

export interface ProviderKeyCheck {
  provider: string;
  /** HTTP status, or null when there was no answer (or no key in the environment). */
  status: number | null;
  /** missing: the key's variable is not set; invalid: 401/403; rate-limited: 429. */
  verdict: 'valid' | 'invalid' | 'rate-limited' | 'missing' | 'error';
  limitRequests?: number;
  remainingRequests?: number;
  reset?: string;
  error?: string;
}

export interface ProviderStatusClient {
  /** Configured provider names (platforms.providers). */
  readonly providers: string[];
  /** Platforms with a status page (platforms.statusPages): read like a provider's, by name. */
  readonly platforms: string[];
  /** Providers whose API and key are configured (apiUrl and keyEnv). */
  readonly apis: string[];
  /** "Test API key": `GET <apiUrl>/models` with the provider's key; the answer's status and rate-limit headers. */
  checkKey(provider: string): Promise<ProviderKeyCheck>;
  status(provider: string): Promise<ProviderStatus>;
  summary(provider: string): Promise<ProviderSummary>;
}

export interface FindOrCreateIncidentInput extends StatuspageIncidentFields {
  /** The caller's identity (the incident workflow id); round-trips through the incident name. */
  identity: string;
}

export interface StatuspageClient {
  /** False when notifications.statuspage is absent. */
  readonly configured: boolean;
  createIncident(fields: StatuspageIncidentFields): Promise<StatuspageIncident>;
  updateIncident(incidentId: string, fields: Partial<StatuspageIncidentFields>): Promise<StatuspageIncident>;
  getIncident(incidentId: string): Promise<StatuspageIncident>;
  listUnresolved(): Promise<StatuspageIncident[]>;
  /** Looks through unresolved incidents for `identity` before creating one. */
  findOrCreateIncident(input: FindOrCreateIncidentInput): Promise<{ incident: StatuspageIncident; created: boolean }>;
}

export interface PagerdutyTrigger {
  dedupKey: string;
  summary: string;
  source: string;
  severity: PagerdutySeverity;
  component?: string;
  group?: string;
  class?: string;
  customDetails?: Record<string, unknown>;
  links?: { href: string; text?: string }[];
  /** Env var of the routing key; defaults to the first on-call level's. */
  routingKeyEnv?: string;
}

export interface PagerdutyClient {
  /** False when no on-call level names a routing key variable. */
  readonly configured: boolean;
  trigger(event: PagerdutyTrigger): Promise<PagerdutyEventResult>;
  acknowledge(dedupKey: string, routingKeyEnv?: string): Promise<PagerdutyEventResult>;
  resolve(dedupKey: string, routingKeyEnv?: string): Promise<PagerdutyEventResult>;
}

export interface SlackClient {
  /** False when no webhook is configured (notifications.slack). */
  readonly configured: boolean;
  post(message: { text: string; blocks?: unknown[] }): Promise<void>;
}

export interface TelegramClient {
  readonly configured: boolean;
  sendMessage(text: string, opts?: { chatId?: string | number; parseMode?: 'MarkdownV2' | 'Markdown' | 'HTML' }): Promise<TelegramMessage>;
}

/** What one plain GET of an app URL observed; a down app is an observation, not an error. */
export interface ProbeResult {
  url: string;
  /** HTTP status, or null when no answer came (timeout, refused, DNS). */
  status: number | null;
  latencyMs: number;
  /** Start of the body (at most a few kB). */
  body: string;
  /** Why there was no usable answer. */
  error?: string;
}

export interface HealthProbeResult extends ProbeResult {
  /** The parsed health document when the body matched the runbook's shape. */
  health?: AppHealth;
  /** Why the body did not match, naming the field. */
  problem?: string;
}

export interface AppProbe {
  get(url: string, headers?: Record<string, string>): Promise<ProbeResult>;
  health(baseUrl: string, healthPath?: string): Promise<HealthProbeResult>;
  /** GET <baseUrl>/api/metrics; throws PlatformError when unreadable. */
  metrics(baseUrl: string): Promise<AppMetrics>;
}

export interface PlatformClients {
  vercel: VercelClient;
  netlify: NetlifyClient;
  supabase: SupabaseClient;
  statuspage: StatuspageClient;
  pagerduty: PagerdutyClient;
  slack: SlackClient;
  telegram: TelegramClient;
  providers: ProviderStatusClient;
  probe: AppProbe;
}

/** An Edge Function's source: file names relative to the functions folder, e.g. `ai-query/index.ts`. */
export interface EdgeFunctionSource {
  entrypointPath: string;
  files: { name: string; content: Buffer | string }[];
  name?: string;
  verifyJwt?: boolean;
}

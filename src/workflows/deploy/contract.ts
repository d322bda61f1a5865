import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { RunbookConfig, ServiceConfig } from '../../config/schema';
import { durationMs, RunbookKind, RunbookService, RunbookStage, RunbookStatus } from '../common';

/**
 * The `deploy` and `rollback` workflows: their inputs, workflow ids, messages, progress and plan.
 * Every wait is an input override of the config's `deploy` section, which defaults to the runbook's figures.
 */

const serviceName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a configured service name (lowercase letters, digits and dashes)');
const person = z.string().min(1, 'must name who asks').max(200);
const reason = z.string().trim().min(3, 'must give a reason (at least 3 characters)').max(1024);

/** Overrides of config `deploy.*` durations; tests pass milliseconds. */
export const deployDurations = z
  .object({
    /** Production watch after full promotion (runbook: 30 minutes). */
    watch: durationMs.optional(),
    /** Watch at each intermediate rolling-release stage. */
    stageWatch: durationMs.optional(),
    /** Health and metrics sampling interval during a watch (30 s). */
    sampleInterval: durationMs.optional(),
    /** Platform polling while a build or an alias job runs. */
    pollInterval: durationMs.optional(),
    /** How long the approval gate waits for a person. */
    approvalTimeout: durationMs.optional(),
    /** How long the CI gate waits for a pending check. */
    ciTimeout: durationMs.optional(),
    /** Longest a build may take before the deployment fails. */
    buildTimeout: durationMs.optional(),
    /** Start-to-close limit of short platform calls (a dead worker is noticed after this). */
    activityTimeout: durationMs.optional(),
  })
  .strict()
  .default({});
export type DeployDurations = z.infer<typeof deployDurations>;

export const deployInput = z
  .object({
    service: serviceName,
    /** Git branch or tag to deploy. */
    ref: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[^\s~^:?*[\\]+$/, 'must be a git ref such as main or hotfix/login'),
    sha: z
      .string()
      .regex(/^[0-9a-f]{7,40}$/, 'must be a git commit sha (7–40 hex characters)')
      .optional(),
    requestedBy: person,
    /** Emergency deployment: skips the preview and its smoke tests, never production verification or the watch. */
    hotfix: z.object({ reason }).strict().optional(),
    /** Ask a person to approve before production even when config `deploy.requireApproval` is off. */
    requireApproval: z.boolean().optional(),
    unhealthySamplesForRollback: z.number().int().positive().optional(),
    durations: deployDurations,
  })
  .strict();
export type DeployInput = z.input<typeof deployInput>;
export type DeployRequest = z.infer<typeof deployInput>;

export const rollbackInput = z
  .object({
    service: serviceName,
    /** Deployment to go back to; default: the production deployment before the current one. */
    toDeploymentId: z.string().min(1).max(200).optional(),
    reason,
    requestedBy: person,
    /** Set when an incident's rollback playbook starts this as a child. */
    incidentId: z.string().min(1).max(255).optional(),
    durations: deployDurations,
  })
  .strict();
export type RollbackInput = z.input<typeof rollbackInput>;
export type RollbackRequest = z.infer<typeof rollbackInput>;

/** Lowercase, dash-separated and bounded, so a ref such as `hotfix/Login_fix` makes a readable id. */
function slug(text: string, max = 60): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, max) || 'x'
  );
}

/** `deploy-<service>-<sha|ref>`. */
export function deployWorkflowId(input: { service: string; ref: string; sha?: string }): string {
  return `deploy-${input.service}-${input.sha ? input.sha.slice(0, 12) : slug(input.ref)}`;
}

/** `rollback-<service>-<incident id>`, or `rollback-<service>-<time>` when a person asks. */
export function rollbackWorkflowId(input: { service: string; incidentId?: string }, at: Date): string {
  const suffix = input.incidentId ? slug(input.incidentId, 120) : at.toISOString().replace(/[:.]/g, '-').toLowerCase();
  return `rollback-${input.service}-${suffix}`;
}

/** Search attributes, summary and details every start of `deploy` carries (client or child). */
export function deployStartOptions(input: DeployInput) {
  const what = input.sha ? `${input.ref}@${input.sha.slice(0, 12)}` : input.ref;
  const typedSearchAttributes: SearchAttributePair[] = [
    { key: RunbookKind, value: 'deploy' },
    { key: RunbookService, value: input.service },
    { key: RunbookStatus, value: 'running' },
    { key: RunbookStage, value: 'gates' },
  ];
  return {
    workflowId: deployWorkflowId(input),
    typedSearchAttributes,
    staticSummary: `${input.hotfix ? 'Hotfix deploy' : 'Deploy'} ${what} to ${input.service} (by ${input.requestedBy})`,
    staticDetails: input.hotfix
      ? `Hotfix: ${input.hotfix.reason}`
      : 'Standard deployment: gates, preview, smoke tests, migrations, promotion, watch.',
  };
}

/** Search attributes, summary and details every start of `rollback` carries (client or child). */
export function rollbackStartOptions(input: RollbackInput, at: Date) {
  const typedSearchAttributes: SearchAttributePair[] = [
    { key: RunbookKind, value: 'rollback' },
    { key: RunbookService, value: input.service },
    { key: RunbookStatus, value: 'running' },
    { key: RunbookStage, value: 'resolving-target' },
  ];
  return {
    workflowId: rollbackWorkflowId(input, at),
    typedSearchAttributes,
    staticSummary: `Roll back ${input.service}${input.toDeploymentId ? ` to ${input.toDeploymentId}` : ''} (by ${input.requestedBy})`,
    staticDetails: `Reason: ${input.reason}${input.incidentId ? `\nIncident: ${input.incidentId}` : ''}`,
  };
}

// ---- messages ---------------------------------------------------------------------------------

export const approveRequest = z.object({ by: person, comment: z.string().max(1024).optional() }).strict();
export type ApproveRequest = z.input<typeof approveRequest>;
export const abortRequest = z.object({ by: person, reason }).strict();
export type AbortRequest = z.input<typeof abortRequest>;
export const endWatchRequest = z.object({ by: person, reason }).strict();
export type EndWatchRequest = z.input<typeof endWatchRequest>;

/** What an update answers: the stage the deployment is in once the update is applied, and what happens next. */
export interface DeployUpdateResult {
  stage: DeployStage;
  outcome: string;
}

/** Approves promotion to production; rejected unless the deployment waits for (or has not yet reached) approval. */
export const approveUpdate = defineUpdate<DeployUpdateResult, [ApproveRequest]>('approve');
/** Stops the deployment; once anything is promoted this rolls production back to the recorded previous deployment. */
export const abortUpdate = defineUpdate<DeployUpdateResult, [AbortRequest]>('abort');
/** Ends the production watch early, with the reason recorded in the verdict. */
export const endWatchUpdate = defineUpdate<DeployUpdateResult, [EndWatchRequest]>('endWatch');
/** Current progress of a `deploy` run. */
export const deployProgressQuery = defineQuery<DeployProgress>('progress');
/** Current progress of a `rollback` run. */
export const rollbackProgressQuery = defineQuery<RollbackProgress>('progress');

// ---- progress -----------------------------------------------------------------------------------

export const DEPLOY_STAGES = [
  'gates',
  'preview',
  'smoke-test',
  'awaiting-approval',
  'migrations',
  'edge-functions',
  'promoting',
  'verifying',
  'watching',
  'rolling-back',
  'recording',
  'done',
] as const;
export type DeployStage = (typeof DEPLOY_STAGES)[number];

/**
 * succeeded: promoted and the watch passed (or a person ended it early);
 * failed: stopped before production changed (gate, preview build, smoke test, migration);
 * rolled-back: production went back to the previous deployment (breach, failed verification, abort after promotion);
 * aborted: a person stopped it before production changed.
 */
export type DeployVerdict = 'succeeded' | 'failed' | 'rolled-back' | 'aborted';

/** The deploy runbook's chat channels; each notice is one activity per channel. */
export const CHAT_CHANNELS = ['slack', 'telegram'] as const;
export type ChatChannel = (typeof CHAT_CHANNELS)[number];

export type GateName = 'critical-env' | 'ci' | 'migrations' | 'edge-functions' | 'approval';
export interface GateResult {
  name: GateName;
  status: 'pass' | 'fail' | 'skipped';
  reason: string;
  at: string;
}

export interface DeploymentRef {
  id: string;
  url: string;
}

export interface WatchSample {
  at: string;
  /** Rolling-release percentage the sample was taken at (100 after full promotion). */
  percent: number;
  healthy: boolean;
  errorRate: number | null;
  p99Ms: number | null;
  level: 'ok' | 'warning' | 'critical';
  /** Why the level is what it is, e.g. "error rate 7.2% > 5%". */
  reasons: string[];
  /** The configured metrics' readings: value, provider and query time (absent for /api/metrics samples). */
  metrics?: { name: string; provider: string; value: number | null; stable?: number | null; queriedAt: string; error?: string }[];
}

export interface WatchProgress {
  percent: number;
  startedAt: string;
  endsAt: string;
  samplesTaken: number;
  samplesPlanned: number;
  lastErrorRate: number | null;
  lastP99Ms: number | null;
  lastHealthy: boolean | null;
  consecutiveUnhealthy: number;
  /** Critical samples in a row per configured metric (a metric breaches at its failureLimit). */
  metricStreaks?: Record<string, number>;
  warnings: number;
  /** Milliseconds until this watch ends, as of the workflow's last step. */
  timeLeftMs: number;
  endedEarly?: { by: string; reason: string };
}

export interface MigrationOutcome {
  pending: string[];
  applied: string[];
  failed?: { name: string; error: string; rollback: 'ran' | 'failed' | 'none'; rollbackError?: string };
}

export interface RollbackRecord {
  from?: string;
  to: string;
  reason: string;
  decidedAt: string;
  status: 'requested' | 'done' | 'failed';
  /** Production answered healthy on the rolled-back-to deployment. */
  verified?: boolean;
  health?: string;
  error?: string;
}

export interface DeployProgress {
  workflowId: string;
  service: string;
  platform: 'vercel' | 'netlify';
  ref: string;
  sha?: string;
  requestedBy: string;
  hotfix?: { reason: string };
  stage: DeployStage;
  startedAt: string;
  gates: GateResult[];
  preview?: DeploymentRef & { smoke?: SmokeResult };
  production?: DeploymentRef;
  /** The production deployment before this one: the rollback target, recorded before promoting. */
  previousProduction?: DeploymentRef | null;
  migrations?: MigrationOutcome;
  /** Edge Functions deployed by this run, with the version each became. */
  edgeFunctions?: { slug: string; version: number }[];
  promotion?: { stages: number[]; percent: number };
  approval?: { by: string; comment?: string; at: string };
  watch?: WatchProgress;
  /** The most recent samples (bounded), newest last. */
  recentSamples: WatchSample[];
  samplesTaken: number;
  lastError?: string;
  rollback?: RollbackRecord;
  /** The incident opened for a breach (its workflow id), or the chat channels told when no incident path exists. */
  incident?: { workflowId?: string; channels?: string[]; error?: string };
  verdict?: DeployVerdict;
  verdictReason?: string;
  finishedAt?: string;
}

export interface SmokeCheck {
  path: string;
  ok: boolean;
  status: number | null;
  reason: string;
}
export interface SmokeResult {
  passed: boolean;
  checks: SmokeCheck[];
}

export type DeployResult = DeployProgress & { verdict: DeployVerdict; verdictReason: string };

export type RollbackStage = 'resolving-target' | 'rolling-back' | 'verifying' | 'recording' | 'done';
export interface RollbackProgress {
  workflowId: string;
  service: string;
  requestedBy: string;
  reason: string;
  incidentId?: string;
  stage: RollbackStage;
  from?: DeploymentRef | null;
  to?: DeploymentRef;
  /** Nothing to do: the target already serves production. */
  alreadyCurrent?: boolean;
  verified?: boolean;
  health?: { healthy: boolean; detail: string };
  lastError?: string;
  finishedAt?: string;
}
export type RollbackResult = RollbackProgress & { to: DeploymentRef; verified: boolean };

// ---- the plan ----------------------------------------------------------------------------------

/** What the workflows need from the worker's configuration, resolved once (by `deployPlan`) and kept in history. */
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
  /** The watch's rollback condition: this many unhealthy samples in a row, or a critical threshold crossed. */
  unhealthySamplesForRollback: number;
  thresholds: { errorRate: { warning: number; critical: number }; p99Ms: { warning: number; critical: number } };
  /** k: with staged promotion a compared metric breaches above k × the stable deployment's value (absent in older histories: 2). */
  baselineFactor?: number;
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

/** The service's deployment settings from config (`deploy`, `thresholds`, `platforms`), with the workflow input's overrides. */
export function planFrom(config: RunbookConfig, service: ServiceConfig, o: PlanOverrides = {}): DeployPlan {
  const d = config.deploy;
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
    baselineFactor: d.baselineFactor,
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
}

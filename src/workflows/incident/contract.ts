import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import { z } from 'zod';
import { RunbookKind, RunbookService, RunbookSeverity, RunbookStatus, severity, type Alert, type Severity } from '../common';

/**
 * The `incident` workflow (Incident Response): its input, messages, state and the plan it reads from config.
 * Alerts always arrive through `alertsSignal` (signal-with-start, so repeats, retries and HA duplicates join
 * the open incident). A person declaring an incident passes `declared`.
 */

const person = z.string().trim().min(1, 'must name who acts').max(200);
const reason = z.string().trim().min(1, 'must give a reason').max(2000);

export const incidentInput = z.object({
  dedupKey: z.string().min(1).max(255),
  declared: z
    .object({
      title: z.string().min(1).max(1024),
      severity,
      service: z.string().optional(),
      customerFacing: z.boolean().default(false),
      by: z.string().min(1),
    })
    .optional(),
  /** Continue-as-new: the state of the previous run. Never set by callers. */
  carried: z.custom<IncidentState>((v) => typeof v === 'object' && v !== null).optional(),
  /** Continue as new once history holds this many events (Temporal also suggests it on its own). */
  historyLimit: z.number().int().min(100).max(50_000).default(10_000),
});
export type IncidentInput = z.input<typeof incidentInput>;

/** New or repeated alerts of this incident, coalesced into one batch by the receiver. */
export const alertsSignal = defineSignal<[Alert[]]>('alerts');

// ---- lifecycle ----------------------------------------------------------------------------------

export const INCIDENT_STATUSES = ['open', 'acknowledged', 'mitigating', 'resolved', 'postmortem', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export type TimelineKind =
  | 'detected'
  | 'alert'
  | 'severity'
  | 'page'
  | 'escalation'
  | 'chat'
  | 'statuspage'
  | 'acknowledged'
  | 'commander'
  | 'note'
  | 'evidence'
  | 'mitigation'
  | 'resolution'
  | 'reopened'
  | 'postmortem'
  | 'closed'
  | 'error';

/** One entry of the incident's ordered timeline: who did what, when. `seq` is its id within the incident. */
export interface TimelineEvent {
  seq: number;
  at: string;
  by: string;
  kind: TimelineKind;
  text: string;
  data?: Record<string, unknown>;
}

/** Who the automation acts as in the timeline. */
export const RUNBOOK_ACTOR = 'runbook';

// ---- mitigation playbooks -------------------------------------------------------------------------

/** The incident mitigation playbooks (Incident Response → Mitigation, Common Incidents & Playbooks). */
export const mitigationKind = z.enum(['rollback', 'switch-provider', 'read-only', 'terminate-query', 'limit-user']);
export type MitigationKind = z.infer<typeof mitigationKind>;

const serviceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a configured service name')
  .optional();
const databaseKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a key of `databases` in the configuration')
  .optional();

/** The runbook's mitigation playbooks and what each needs. */
export const playbook = z.discriminatedUnion('kind', [
  /** Playbook 1 / Rolling Back Deployment: back to the last known good production deployment. */
  z.object({ kind: z.literal('rollback'), service: serviceName, toDeploymentId: z.string().min(1).max(200).optional() }).strict(),
  /** "AI provider down, switch to fallback": FORCE_PROVIDER=<provider> and a production redeploy. */
  z
    .object({
      kind: z.literal('switch-provider'),
      service: serviceName,
      provider: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be a provider name such as anthropic')
        .optional(),
    })
    .strict(),
  /** "Database slow, enable read-only mode": READ_ONLY_MODE=true and a production redeploy. */
  z.object({ kind: z.literal('read-only'), service: serviceName }).strict(),
  /** Playbook 3: pg_terminate_backend of a runaway query; never a replication or superuser backend. */
  z.object({ kind: z.literal('terminate-query'), pid: z.number().int().positive('must be a backend pid'), database: databaseKey }).strict(),
  /** Playbook 2 / High AI Costs: UPDATE users SET rate_limit … or SET blocked = true. */
  z
    .object({
      kind: z.literal('limit-user'),
      userId: z.string().trim().min(1, 'must name the user id').max(200),
      action: z.enum(['rate-limit', 'block']).default('rate-limit'),
      rateLimit: z.number().int().min(0).default(10),
      database: databaseKey,
    })
    .strict(),
]);
export type Playbook = z.infer<typeof playbook>;
export type PlaybookInput = z.input<typeof playbook>;

/** Playbooks the runbook undoes: env switches are removed, a user's limits restored. */
export const UNDOABLE: readonly MitigationKind[] = ['switch-provider', 'read-only', 'limit-user'];

export type MitigationStatus =
  'awaiting-approval' | 'approved' | 'running' | 'succeeded' | 'failed' | 'rejected' | 'undoing' | 'undone' | 'undo-failed';

export interface Mitigation {
  id: string;
  playbook: Playbook;
  status: MitigationStatus;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  approvedBy?: string;
  approvedAt?: string;
  /** What the playbook did (deployment ids, previous values to restore…). */
  outcome?: string;
  result?: Record<string, unknown>;
  error?: string;
  finishedAt?: string;
  undoneBy?: string;
  undoneAt?: string;
}

// ---- updates, signals, query --------------------------------------------------------------------

export const acknowledgeRequest = z.object({ by: person, note: z.string().max(2000).optional() }).strict();
export type AcknowledgeRequest = z.input<typeof acknowledgeRequest>;
export const assignCommanderRequest = z.object({ commander: person, by: person }).strict();
export type AssignCommanderRequest = z.input<typeof assignCommanderRequest>;
export const setSeverityRequest = z.object({ severity, by: person, reason: z.string().max(2000).optional() }).strict();
export type SetSeverityRequest = z.input<typeof setSeverityRequest>;
export const resolveRequest = z.object({ by: person, reason: z.string().max(2000).optional() }).strict();
export type ResolveRequest = z.input<typeof resolveRequest>;
export const requestMitigationRequest = z.object({ playbook, by: person, reason }).strict();
export type RequestMitigationRequest = z.input<typeof requestMitigationRequest>;
export const approveMitigationRequest = z
  .object({ mitigationId: z.string().min(1), by: person, approve: z.boolean().default(true), comment: z.string().max(2000).optional() })
  .strict();
export type ApproveMitigationRequest = z.input<typeof approveMitigationRequest>;
export const undoMitigationRequest = z.object({ mitigationId: z.string().min(1), by: person }).strict();
export type UndoMitigationRequest = z.input<typeof undoMitigationRequest>;
export const completePostmortemRequest = z
  .object({
    by: person,
    link: z.string().max(2048).optional(),
    rootCause: z.string().max(8192).optional(),
    actionItems: z.array(z.string().min(1).max(1000)).max(100).optional(),
  })
  .strict();
export type CompletePostmortemRequest = z.input<typeof completePostmortemRequest>;
export const noteRequest = z.object({ by: person, text: z.string().trim().min(1, 'must not be empty').max(8192) }).strict();
export type NoteRequest = z.input<typeof noteRequest>;

/** Stops the escalation clock. Rejected once the incident is resolved or already acknowledged. */
export const acknowledgeUpdate = defineUpdate<IncidentState, [AcknowledgeRequest]>('acknowledge');
export const assignCommanderUpdate = defineUpdate<IncidentState, [AssignCommanderRequest]>('assignCommander');
/** Changes severity (pins it against alert labels) and re-arms the SLA while unacknowledged. */
export const setSeverityUpdate = defineUpdate<IncidentState, [SetSeverityRequest]>('setSeverity');
/** Resolves now, without waiting for the flap guard. */
export const resolveUpdate = defineUpdate<IncidentState, [ResolveRequest]>('resolve');
/** Proposes a playbook; it runs at once when config `incidents.autoMitigate` allows it for this severity. */
export const requestMitigationUpdate = defineUpdate<Mitigation, [RequestMitigationRequest]>('requestMitigation');
/** Approves (or rejects, approve: false) a proposed playbook; answers once the playbook has finished. */
export const approveMitigationUpdate = defineUpdate<Mitigation, [ApproveMitigationRequest]>('approveMitigation');
/** Undoes a playbook that the runbook undoes (switch-provider, read-only, limit-user). */
export const undoMitigationUpdate = defineUpdate<Mitigation, [UndoMitigationRequest]>('undoMitigation');
/** Marks the post-mortem done: the incident closes and the workflow ends. */
export const completePostmortemUpdate = defineUpdate<IncidentState, [CompletePostmortemRequest]>('completePostmortem');
export const noteSignal = defineSignal<[NoteRequest]>('note');
export const incidentStateQuery = defineQuery<IncidentState>('state');

// ---- state --------------------------------------------------------------------------------------

export interface TrackedAlert {
  fingerprint: string;
  source: string;
  status: 'firing' | 'resolved';
  summary: string;
  severity?: Severity;
  /** startsAt of the first delivery. */
  firstFiringAt: string;
  /** startsAt of the current firing episode: a firing resend of a resolved episode is stale. */
  episodeStartsAt: string;
  lastChangeAt: string;
  /** How many times it went from resolved to firing again. */
  refires: number;
  /** Every delivery, repeats included. */
  deliveries: number;
  url?: string;
}

export interface PageRecord {
  level: number;
  name: string;
  at: string;
  reason: 'initial' | 'escalation' | 'reopened' | 'severity-raised';
}

export interface IncidentState {
  incidentId: string;
  dedupKey: string;
  title: string;
  status: IncidentStatus;
  phase: 'response' | 'postmortem' | 'closed';
  severity: Severity;
  /** Set when a person chose the severity: alert labels no longer change it. */
  severityPinnedBy?: string;
  service: string;
  customerFacing: boolean;
  commander?: string;
  declaredBy?: string;
  openedAt: string;
  /** Detection done: the first firing alert (or the declaration) was assessed. */
  detectedAt?: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  /** First mitigation that succeeded. */
  mitigatedAt?: string;
  resolvedAt?: string;
  resolvedBy?: string;
  /** End of the impact window: when the alerts resolved (before the flap guard), or when a person resolved it. */
  impactEndedAt?: string;
  closedAt?: string;
  reopened: number;
  /** An alert fired again after resolution: the incident reopens. */
  reopenRequested?: { fingerprint?: string };
  alerts: Record<string, TrackedAlert>;
  /** All alerts resolved since this instant; resolution follows once the flap guard has passed. */
  allClearSince?: string;
  resolveRequested?: { by: string; reason?: string };
  escalation: {
    /** On-call level last paged; -1 before anyone is paged. */
    level: number;
    /** When the SLA runs out and the next level is paged (absent once acknowledged or exhausted). */
    dueAt?: string;
    pages: PageRecord[];
    exhausted: boolean;
    /**
     * The escalation matrix in use (plan.escalation): steps of the current severity counted from `since`;
     * `next` is the first step not yet run; `paged` the levels paged in this episode (never paged twice).
     */
    steps?: { since: string; next: number; paged: string[]; cause: 'initial' | 'reopened' | 'severity-raised' };
  };
  statuspage?: { id: string; status: string; shortlink?: string };
  /** Opening the status page incident failed for good; not retried on every loop. */
  statuspageFailed?: boolean;
  chatOpened: boolean;
  evidenceRuns: number;
  mitigations: Mitigation[];
  postmortem: {
    draftedAt?: string;
    reminderAt?: string;
    deadlineAt?: string;
    reminded?: boolean;
    overdue?: boolean;
    doneBy?: string;
    doneAt?: string;
    link?: string;
    rootCause?: string;
    actionItems: string[];
  };
  timeline: TimelineEvent[];
  /** Timeline events before `timeline[0]`, kept only in the ops database after a continue-as-new. */
  timelineOffset: number;
  nextSeq: number;
  /** Every event below this seq is in the ops database. */
  recordedSeq: number;
  /** The plan this incident runs under, read once when it opens (named `policy` in recorded histories). */
  policy: IncidentPlan;
  runs: number;
}

// ---- plan: what the workflow reads from config ----------------------------------------------------

export type SlaValue = number | 'next-business-day';

/** One row of the escalation matrix: at `after` (from detection), page the on-call levels named in `targets`. */
export interface EscalationStep {
  after: number | 'next-business-day' | 'weekly-review';
  targets: string[];
}

/** The config subset an incident runs under, loaded once by the `incidentPolicy` activity. */
export interface IncidentPlan {
  sla: Record<Severity, SlaValue>;
  /** Who is paged when, per severity; absent: the first level at once (pageSeverities), the next one per SLA. */
  escalation?: Record<Severity, EscalationStep[]>;
  weeklyReview?: { day: IncidentPlan['businessHours']['days'][number]; at: string };
  severityFromLabels: { label: string; values: Record<string, Severity> }[];
  defaultSeverity: Severity;
  pageSeverities: Severity[];
  statuspageSeverities: Severity[];
  flapGuard: number;
  autoMitigate: Partial<Record<Severity, MitigationKind[]>>;
  postmortemReminder: number;
  postmortemDeadline: number;
  fallbackProvider: string;
  timezone: string;
  businessHours: { days: ('mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun')[]; start: string; end: string };
  oncall: { name: string; contacts: string[] }[];
  services: { name: string; platform: 'vercel' | 'netlify'; customerFacing: boolean; database?: string }[];
  statuspage: boolean;
  chat: boolean;
}

/**
 * What planFrom reads of RunbookConfig, spelled out here rather than imported: config/schema imports
 * mitigationKind from this file, and a type import back would close a circle. Passing a RunbookConfig
 * still type-checks against it, so the two cannot drift apart unnoticed.
 */
export interface PlanSource {
  incidents: Pick<
    IncidentPlan,
    | 'sla'
    | 'escalation'
    | 'weeklyReview'
    | 'severityFromLabels'
    | 'defaultSeverity'
    | 'pageSeverities'
    | 'statuspageSeverities'
    | 'flapGuard'
    | 'autoMitigate'
    | 'postmortemReminder'
    | 'postmortemDeadline'
    | 'fallbackProvider'
  >;
  timezone: string;
  businessHours: IncidentPlan['businessHours'];
  oncall: { levels: IncidentPlan['oncall'] };
  services: IncidentPlan['services'];
  notifications: { statuspage?: object; slack?: object; telegram?: object };
}

export function planFrom(config: PlanSource): IncidentPlan {
  const i = config.incidents;
  return {
    sla: i.sla,
    ...(i.escalation ? { escalation: i.escalation, weeklyReview: i.weeklyReview } : {}),
    severityFromLabels: i.severityFromLabels,
    defaultSeverity: i.defaultSeverity,
    pageSeverities: i.pageSeverities,
    statuspageSeverities: i.statuspageSeverities,
    flapGuard: i.flapGuard,
    autoMitigate: i.autoMitigate,
    postmortemReminder: i.postmortemReminder,
    postmortemDeadline: i.postmortemDeadline,
    fallbackProvider: i.fallbackProvider,
    timezone: config.timezone,
    businessHours: config.businessHours,
    oncall: config.oncall.levels.map((l) => ({ name: l.name, contacts: l.contacts })),
    services: config.services.map((s) => ({ name: s.name, platform: s.platform, customerFacing: s.customerFacing, database: s.database })),
    statuspage: Boolean(config.notifications.statuspage),
    chat: Boolean(config.notifications.slack || config.notifications.telegram),
  };
}

const SEVERITY_RANK: Record<Severity, number> = { P0: 0, P1: 1, P2: 2, P3: 3 };
export const higherSeverity = (a: Severity, b: Severity): Severity => (SEVERITY_RANK[a] <= SEVERITY_RANK[b] ? a : b);

/** The alert's own severity, else the first label mapping that matches, else the default (Detection → assess severity). */
export function severityOfAlert(
  alert: Pick<Alert, 'severity' | 'labels'>,
  policy: Pick<IncidentPlan, 'severityFromLabels' | 'defaultSeverity'>,
): Severity {
  if (alert.severity) return alert.severity;
  for (const mapping of policy.severityFromLabels) {
    const value = alert.labels?.[mapping.label];
    if (value !== undefined && mapping.values[value]) return mapping.values[value];
  }
  return policy.defaultSeverity;
}

export function describePlaybook(p: Playbook, s: { service: string; policy: Pick<IncidentPlan, 'fallbackProvider'> }): string {
  switch (p.kind) {
    case 'rollback':
      return `roll back ${p.service ?? s.service} to ${p.toDeploymentId ?? 'the previous production deployment'}`;
    case 'switch-provider':
      return `switch ${p.service ?? s.service} to AI provider ${p.provider ?? s.policy.fallbackProvider} (FORCE_PROVIDER + redeploy)`;
    case 'read-only':
      return `put ${p.service ?? s.service} in read-only mode (READ_ONLY_MODE=true + redeploy)`;
    case 'terminate-query':
      return `terminate backend ${p.pid}${p.database ? ` on ${p.database}` : ''}`;
    case 'limit-user':
      return p.action === 'block' ? `block user ${p.userId}` : `rate-limit user ${p.userId} to ${p.rateLimit}`;
  }
}

/** "45s", "12m", "2h5m", "3d4h": elapsed times in the timeline and the post-mortem. */
export function formatElapsed(ms: number): string {
  const t = Math.max(0, ms);
  if (t < 60_000) return `${Math.round(t / 1000)}s`;
  if (t < 3_600_000) return `${Math.round(t / 60_000)}m`;
  if (t < 86_400_000) {
    const h = Math.floor(t / 3_600_000);
    const m = Math.round((t % 3_600_000) / 60_000);
    return m ? `${h}h${m}m` : `${h}h`;
  }
  const d = Math.floor(t / 86_400_000);
  const h = Math.round((t % 86_400_000) / 3_600_000);
  return h ? `${d}d${h}h` : `${d}d`;
}

/** Search attributes and summary for a start of `incident` (the receiver, the CLI's declare, other workflows). */
export function incidentStartOptions(opts: { dedupKey: string; title: string; severity?: Severity; service?: string }) {
  const typedSearchAttributes: SearchAttributePair[] = [
    { key: RunbookKind, value: 'incident' },
    { key: RunbookStatus, value: 'open' },
    ...(opts.severity ? [{ key: RunbookSeverity, value: opts.severity }] : []),
    ...(opts.service ? [{ key: RunbookService, value: opts.service }] : []),
  ];
  return {
    typedSearchAttributes,
    staticSummary: `Incident${opts.severity ? ` ${opts.severity}` : ''}: ${opts.title}`.slice(0, 200),
    staticDetails: `Dedup key: ${opts.dedupKey}${opts.service ? `\nService: ${opts.service}` : ''}`,
  };
}

// ---- records and evidence -----------------------------------------------------------------------

/** The incident's row in the ops database; `chainId` (the first run id) survives continue-as-new. */
export interface IncidentRecord {
  chainId: string;
  workflowId: string;
  dedupKey: string;
  title: string;
  severity: Severity;
  status: IncidentStatus;
  service: string;
  customerFacing: boolean;
  commander?: string;
  openedAt: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  resolvedAt?: string;
  resolvedBy?: string;
  closedAt?: string;
  statuspageId?: string;
  /** Highest timeline seq this row reflects: an older snapshot never overwrites a newer one. */
  lastSeq: number;
}

/** What one troubleshooting "Diagnosis" step found; `ok: null` when it could not look. */
export interface Finding {
  check:
    | 'recent-deployments'
    | 'health-endpoint'
    | 'provider-status'
    | 'db-connections'
    | 'long-running-queries'
    | 'sign-in'
    | 'chat-failures'
    | 'provider-keys'
    | 'ai-usage'
    | 'lock-contention'
    | 'error-trend'
    | 'platform-status';
  ok: boolean | null;
  summary: string;
  details?: Record<string, unknown>;
}

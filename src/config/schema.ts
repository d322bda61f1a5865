import { z } from 'zod';
import { durationMs } from '../workflows/common/duration';
import { parseCleanupWhere } from './cleanup-where';

/**
 * The one configuration file. Secrets never appear here: a field ending in `Env` names the
 * environment variable that holds the secret, and only the worker reads it.
 */

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as VERCEL_TOKEN');
const url = z.url({ message: 'must be an absolute URL such as https://example.com' });
const percent = z.number().min(0).max(100);
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour)');
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/London');

/** Supabase's rule for a function name; it is also a folder under deploy.functionsDir, so it cannot hold a path. */
export const EDGE_FUNCTION_SLUG = /^[A-Za-z][A-Za-z0-9_-]*$/;
const edgeFunctionSlug = z.string().regex(EDGE_FUNCTION_SLUG, 'must be a function name: a letter, then letters, digits, _ or -');

/** A table name, optionally schema-qualified: it is used in SQL as it is written. */
const tableName = z
  .string()
  .regex(/^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)?$/, 'must be a table name, optionally schema-qualified');

import { severity, type Severity } from '../workflows/common/severity';
export { severity, type Severity };

import { mitigationKind } from '../workflows/incident/contract';

/** A response SLA: a duration, or "next-business-day" (the first runbook's P3). */
const slaValue = z.union([z.literal('next-business-day'), durationMs]);

const criticalPath = z.object({
  path: z.string().startsWith('/', 'must start with /'),
  expectStatus: z.number().int().min(100).max(599).default(200),
  /** Optional substring the body must contain. */
  expectBody: z.string().optional(),
});

// ---- metric providers and metrics (Flagger/Argo analysis templates: a named metric, its provider query, thresholds) ----
const metricProvider = z.discriminatedUnion('type', [
  /** PromQL instant queries; `$deployment` and `$window` are substituted. */
  z.object({ type: z.literal('prometheus'), url, bearerTokenEnv: envName.optional() }),
  /** A read-only query against a configured database returning one number; $1 = window in seconds, $2 = deployment id or NULL. */
  z.object({ type: z.literal('sql'), database: z.string().min(1) }),
  /** The app's own GET /api/metrics (optional: neither runbook's app has it); the query names a field: errorRate, p50Ms, p95Ms, p99Ms. */
  z.object({ type: z.literal('endpoint') }),
]);
export type MetricProviderConfig = z.infer<typeof metricProvider>;
const metric = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes'),
    /** Key of `metricProviders`. */
    provider: z.string().min(1),
    query: z.string().min(1),
    warning: z.number().optional(),
    critical: z.number(),
    unit: z.string().default(''),
    /** What a query that returns nothing (no rows, an empty vector, 0/0) means. */
    noData: z.enum(['ignore', 'warning', 'critical']).default('ignore'),
    /** Query window ($window, $1), e.g. the rate() range. */
    window: durationMs.default(60_000),
    /** Critical samples in a row that make the watch roll back (single spikes are absorbed). */
    failureLimit: z.number().int().positive().default(2),
    /** Staged promotion: also judge the new deployment against the stable one (breach = above critical and above k × stable). */
    compareToStable: z.boolean().default(false),
  })
  .refine((m) => m.warning === undefined || m.warning <= m.critical, { message: 'warning must not exceed critical', path: ['warning'] });
export type MetricConfig = z.infer<typeof metric>;

export const service = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes'),
  platform: z.enum(['vercel', 'netlify']),
  /** Vercel project id or name; Netlify site id. */
  projectId: z.string().min(1),
  teamId: z.string().optional(),
  productionUrl: url,
  healthPath: z.string().startsWith('/').default('/api/health'),
  /** Environment variables the app cannot run without (pre-deploy gate). */
  criticalEnv: z
    .array(z.string().min(1))
    .default([
      'NEXT_PUBLIC_SUPABASE_URL',
      'NEXT_PUBLIC_SUPABASE_ANON_KEY',
      'SUPABASE_SERVICE_ROLE_KEY',
      'OPENAI_API_KEY',
      'CREDENTIAL_ENCRYPTION_KEY',
    ]),
  criticalPaths: z.array(criticalPath).default([{ path: '/', expectStatus: 200 }]),
  customerFacing: z.boolean().default(true),
  /** Staged promotion percentages, last one 100; omit for a plain promote. */
  rollingRelease: z
    .object({ stages: z.array(z.number().int().min(1).max(100)).min(1) })
    .refine((r) => r.stages[r.stages.length - 1] === 100, { message: 'the last stage must be 100', path: ['stages'] })
    .optional(),
  /** Git source for deployments created by the deploy workflow. */
  git: z.object({ type: z.literal('github'), org: z.string(), repo: z.string() }).optional(),
  /** Database this service uses (key of `databases`). */
  database: z.string().optional(),
  /** Metrics the deploy watch and the health check evaluate (see `metricProviders`); none → the app's /api/metrics. */
  metrics: z.array(metric).default([]),
});
export type ServiceConfig = z.infer<typeof service>;

export const database = z.object({
  /** Environment variable holding the connection string. Absent on the embedded stack: the local cluster is used. */
  urlEnv: envName,
  /** Connection pool size the alert thresholds are a percentage of. */
  poolSize: z.number().int().positive().default(200),
});
export type DatabaseConfig = z.infer<typeof database>;

const thresholds = z
  .object({
    /** API error rate, percent. */
    errorRate: z.object({ info: percent.default(0.1), warning: percent.default(1), critical: percent.default(5) }).prefault({}),
    p99Ms: z.object({ warning: z.number().positive().default(5000), critical: z.number().positive().default(10_000) }).prefault({}),
    /** DB connections as percent of the pool. */
    dbConnections: z.object({ warning: percent.default(70), critical: percent.default(90) }).prefault({}),
    diskPercent: z.object({ critical: percent.default(90) }).prefault({}),
  })
  .refine((t) => t.errorRate.info <= t.errorRate.warning && t.errorRate.warning <= t.errorRate.critical, {
    message: 'must rise: info ≤ warning ≤ critical',
    path: ['errorRate'],
  })
  .refine((t) => t.p99Ms.warning <= t.p99Ms.critical, { message: 'warning must not exceed critical', path: ['p99Ms'] });

const onCallLevel = z.object({
  name: z.string().min(1),
  contacts: z.array(z.string().min(1)).min(1),
  /** PagerDuty Events v2 routing key, by environment variable. */
  pagerdutyRoutingKeyEnv: envName.optional(),
});

/**
 * When an escalation step is due, counted from detection (or from the severity change, or the reopen):
 * a duration, "next-business-day" (the start of business hours on the next business day), or
 * "weekly-review" (the next `incidents.weeklyReview`).
 */
const stepAfter = z.union([z.literal('next-business-day'), z.literal('weekly-review'), durationMs]);
/** One row of an escalation matrix: at `after`, page every on-call level named in `targets` (none: only listed in chat). */
const escalationStep = z.object({ after: stepAfter, targets: z.array(z.string().min(1)).default([]) }).strict();
const escalationSteps = z.array(escalationStep).max(20);

const incidents = z.object({
  /**
   * The escalation matrix: per severity, who is paged and when, until someone acknowledges. When set it
   * decides all paging (pageSeverities and the one-level-per-SLA escalation no longer apply).
   */
  escalation: z.object({ P0: escalationSteps, P1: escalationSteps, P2: escalationSteps, P3: escalationSteps }).strict().optional(),
  /** When the weekly review happens, for steps whose `after` is "weekly-review". */
  weeklyReview: z.object({ day: weekday.default('mon'), at: hhmm.default('09:00') }).prefault({}),
  /** Time to acknowledge per severity before escalating to the next on-call level. */
  sla: z.object({ P0: slaValue, P1: slaValue, P2: slaValue, P3: slaValue }),
  /** Alert label → severity. The first mapping whose label value matches wins; unmatched alerts get `defaultSeverity`. */
  severityFromLabels: z
    .array(z.object({ label: z.string().min(1), values: z.record(z.string(), severity) }))
    .default([{ label: 'severity', values: { critical: 'P0', page: 'P1', high: 'P1', error: 'P1', warning: 'P2', info: 'P3' } }]),
  defaultSeverity: severity.default('P2'),
  /** Severities that page on-call at once. */
  pageSeverities: z.array(severity).default(['P0', 'P1']),
  /** Labels forming the dedup key when an Alertmanager payload should not be keyed on groupKey. */
  dedupLabels: z.array(z.string()).optional(),
  flapGuard: durationMs.default(600_000),
  /** Mitigations allowed without approval, per severity. */
  autoMitigate: z.partialRecord(severity, z.array(mitigationKind)).default({}),
  /** Severities of customer-facing incidents that open a status page incident ("post to status page if customer-facing"). */
  statuspageSeverities: z.array(severity).default(['P0', 'P1']),
  postmortemReminder: durationMs.default(86_400_000),
  postmortemDeadline: durationMs.default(172_800_000),
  /** Long-running query threshold used by evidence and the terminate-query playbook. */
  longQueryThreshold: durationMs.default(60_000),
  fallbackProvider: z.string().default('anthropic'),
});

const notifications = z.object({
  slack: z.object({ webhookUrlEnv: envName }).optional(),
  telegram: z.object({ botTokenEnv: envName, chatId: z.union([z.string(), z.number()]) }).optional(),
  statuspage: z.object({ pageId: z.string().min(1), apiKeyEnv: envName, componentIds: z.array(z.string()).default([]) }).optional(),
});

const platforms = z.object({
  vercel: z.object({ tokenEnv: envName.default('VERCEL_TOKEN'), apiUrl: url.default('https://api.vercel.com') }).prefault({}),
  netlify: z.object({ tokenEnv: envName.default('NETLIFY_TOKEN'), apiUrl: url.default('https://api.netlify.com/api/v1') }).prefault({}),
  supabase: z
    .object({
      tokenEnv: envName.default('SUPABASE_ACCESS_TOKEN'),
      apiUrl: url.default('https://api.supabase.com'),
      projectRef: z
        .string()
        .regex(/^[a-z]{20}$/, 'must be the 20-letter project ref')
        .optional(),
      /** Base URL of the project's API gateway (https://<ref>.supabase.co). */
      projectUrl: url.optional(),
      anonKeyEnv: envName.default('SUPABASE_ANON_KEY'),
      /** The project's service_role key, for Supabase Auth's admin API (banning suspect accounts in a security incident). */
      serviceRoleKeyEnv: envName.default('SUPABASE_SERVICE_ROLE_KEY'),
      /** Edge Functions whose 401 to an invalid JWT means "up" (second runbook). */
      edgeFunctions: z.array(edgeFunctionSlug).default([]),
    })
    .prefault({}),
  pagerduty: z.object({ eventsUrl: url.default('https://events.pagerduty.com/v2/enqueue') }).prefault({}),
  statuspageApiUrl: url.default('https://api.statuspage.io/v1'),
  telegramApiUrl: url.default('https://api.telegram.org'),
  /**
   * AI providers: the status page (Statuspage format), and optionally the API base and the variable with its
   * key, for Chat Not Responding's "test the API key" (`GET <apiUrl>/models`, rate-limit headers read).
   */
  providers: z.record(z.string(), z.object({ statusUrl: url, apiUrl: url.optional(), keyEnv: envName.optional() })).default({
    openai: { statusUrl: 'https://status.openai.com/api/v2/status.json' },
    anthropic: { statusUrl: 'https://status.anthropic.com/api/v2/status.json' },
  }),
  /**
   * Status pages (Statuspage format) of the platforms the service runs on, read by the outage diagnosis
   * ("Check Supabase status", "Vercel status", "Netlify status"); AI providers stay under `providers`.
   */
  statusPages: z.record(z.string(), z.object({ statusUrl: url })).default({}),
  /** Per-request timeout for every platform call. */
  requestTimeout: durationMs.default(10_000),
});

const deploy = z.object({
  /** Standard Deployment step 7: monitor for 30 minutes after promotion. */
  watch: durationMs.default(1_800_000),
  /** Watch at each intermediate rolling-release stage (10 %, 50 %) before advancing. */
  stageWatch: durationMs.default(600_000),
  sampleInterval: durationMs.default(30_000),
  unhealthySamplesForRollback: z.number().int().positive().default(3),
  /** k of the baseline comparison (metrics with compareToStable): the canary breaches above k × the stable deployment's value. */
  baselineFactor: z.number().min(1).default(2),
  pollInterval: durationMs.default(5_000),
  requireApproval: z.boolean().default(false),
  approvalTimeout: durationMs.default(86_400_000),
  /** Longest a preview or production build may take. */
  buildTimeout: durationMs.default(2_700_000),
  /** Start-to-close limit of short deploy activities; a dead worker's long activities are noticed after it too. */
  activityTimeout: durationMs.default(30_000),
  /** Where pending SQL migrations live; both the runbook's and Supabase's conventions are read. */
  migrationsDir: z.string().optional(),
  /**
   * Supabase Edge Functions source (`supabase/functions` of the app checkout): each function named in
   * `platforms.supabase.edgeFunctions` is deployed from `<dir>/<slug>/index.ts` after the migrations.
   */
  functionsDir: z.string().optional(),
  lockTimeout: durationMs.default(5_000),
  statementTimeout: durationMs.default(60_000),
  /**
   * CI gate: the commit's combined status from GitHub's commit status API. Absent → the gate is
   * recorded as skipped ("no check source configured").
   */
  ci: z
    .object({
      provider: z.literal('github').default('github'),
      apiUrl: url.default('https://api.github.com'),
      tokenEnv: envName.default('GITHUB_TOKEN'),
      /** Status contexts that must be present and successful (e.g. "ci/test"); empty = the combined state decides. */
      requiredContexts: z.array(z.string().min(1)).default([]),
      /** How long a pending status is waited for. */
      timeout: durationMs.default(1_800_000),
    })
    .optional(),
});

const retention = z.object({
  daily: z.number().int().min(0).default(7),
  weekly: z.number().int().min(0).default(4),
  monthly: z.number().int().min(0).default(12),
});

const backupStore = z.discriminatedUnion('type', [
  z.object({ type: z.literal('directory'), path: z.string().min(1) }),
  z.object({
    type: z.literal('s3'),
    bucket: z.string().min(1),
    prefix: z.string().default(''),
    region: z.string().default('us-east-1'),
    endpoint: url.optional(),
    forcePathStyle: z.boolean().default(false),
    accessKeyIdEnv: envName.default('AWS_ACCESS_KEY_ID'),
    secretAccessKeyEnv: envName.default('AWS_SECRET_ACCESS_KEY'),
    /** A request to the store that connects or moves no bytes for this long fails and is retried. */
    requestTimeout: durationMs.default(60_000),
  }),
]);

const backup = z.object({
  /** Databases (keys of `databases`) backed up on schedule. */
  databases: z.array(z.string()).default([]),
  store: backupStore.default({ type: 'directory', path: '.data/backups' }),
  retention: retention.prefault({}),
  compression: z.enum(['zstd', 'gzip', 'auto']).default('auto'),
  /** pg_dump/pg_restore directory when the PATH ones are older than the server. */
  pgBinDir: z.string().optional(),
  /** Tables up to this many rows also get an ordered md5 compared after a verification restore. */
  md5MaxRows: z.number().int().min(0).default(100_000),
  /** Connection string (by env var) of a server where verification creates its scratch database; default: the backed-up database's server. */
  verifyServerUrlEnv: envName.optional(),
  /** Task queue of a dedicated worker for dumps and restores (`npm run worker:backup`); unset: the main worker runs them. */
  transferTaskQueue: z.string().min(1).optional(),
});

const cleanupPolicy = z.object({
  name: z.string().min(1),
  database: z.string().default('app'),
  table: tableName,
  timestampColumn: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/),
  olderThan: durationMs,
  /**
   * Extra condition, e.g. `status = 'failed'`: parsed (see cleanup-where.ts), never pasted into SQL, so it
   * can only narrow which expired rows go.
   */
  where: z
    .string()
    .optional()
    .superRefine((text, ctx) => {
      if (text === undefined) return;
      const parsed = parseCleanupWhere(text);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
    }),
  /** Rows per batch, one short transaction each (see bench/cleanup for the throughput this gives). */
  batchSize: z.number().int().positive().default(10_000),
});

const sqlAlertRule = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  database: z.string().default('app'),
  /** Returns at least one row when the alert should fire. */
  query: z.string().min(1),
  severity: severity.default('P2'),
  summary: z.string().min(1),
  /**
   * A built-in check of the same database whose incident this rule's alert joins (e.g. "connections", the
   * pool check): the same overload seen twice is one incident with two alerts, not two incidents.
   */
  sameIncidentAs: z.enum(['database', 'connections', 'disk']).optional(),
});

const maintenance = z
  .object({
    cleanup: z.array(cleanupPolicy).default([]),
    sqlAlertRules: z.array(sqlAlertRule).default([]),
    /** Tables allowed a VACUUM FULL (it takes an ACCESS EXCLUSIVE lock). */
    vacuumFullTables: z.array(z.string()).default([]),
    lockTimeout: durationMs.default(2_000),
    statementTimeout: durationMs.default(30_000),
    /** Application checkout for the monthly dependency report. */
    appCheckout: z.string().optional(),
    /** `host` or `host:port` (default 443) whose certificate expiry the health check watches. */
    tlsHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be host or host:port')).default([]),
    tlsWarnDays: z.number().int().positive().default(21),
    /** Extra CA certificates (PEM file) trusted when checking tlsHosts, for hosts behind a private CA. */
    tlsCaFile: z.string().optional(),
    /**
     * Where to connect for a tlsHosts entry instead of the entry itself, as `host:port` (curl's --connect-to):
     * the certificate is still asked for (SNI) and verified as the entry's host name, and the check keeps its
     * key. For a host reached through a proxy or load balancer address; the platform sandbox sets it.
     */
    tlsConnectTo: z.record(z.string(), z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port')).default({}),
    /** Bot webhook endpoints that must answer (second runbook: Telegram/Slack webhooks); a 5xx or no answer is down. */
    botWebhooks: z
      .array(
        z
          .object({
            name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
            /** Edge Function slug under platforms.supabase.projectUrl, or a full URL. */
            function: edgeFunctionSlug.optional(),
            url: url.optional(),
            body: z.record(z.string(), z.unknown()).default({}),
          })
          .refine((w) => Boolean(w.function) !== Boolean(w.url), { message: 'give either function or url' }),
      )
      .default([]),
    /** Performance Tuning → Identify Slow Queries: mean execution time above this is reported. */
    slowQueryMs: z.number().positive().default(100),
    /** Table whose `cost` column feeds the cost-per-day report (Cost Alert: $100 a day). */
    messagesTable: tableName.default('javari_messages'),
    dailyCostLimit: z.number().positive().default(100),
    /** Table of the second runbook's security audit (action_type, created_at). */
    auditTable: tableName.default('audit_logs'),
    /** Disk size per database (key of `databases`), bytes: the health check compares the database size with it (Disk usage > 90 %). */
    diskBytes: z.record(z.string(), z.number().positive()).default({}),
  })
  .superRefine((m, ctx) => {
    for (const entry of Object.keys(m.tlsConnectTo)) {
      if (!m.tlsHosts.includes(entry))
        ctx.addIssue({ code: 'custom', path: ['tlsConnectTo', entry], message: `"${entry}" is not one of tlsHosts` });
    }
  });

const schedules = z.object({
  healthCheck: z.object({ every: durationMs.default(300_000) }).prefault({}),
  backup: z.object({ cron: z.string().default('0 3 * * *') }).prefault({}),
  maintenance: z
    .object({
      daily: z.string().default('30 3 * * *'),
      weekly: z.string().default('0 9 * * mon'),
      monthly: z.string().default('0 9 1-7 * mon'),
      quarterly: z.string().default('0 9 1-7 1,4,7,10 mon'),
    })
    .prefault({}),
  catchupWindow: durationMs.default(3_600_000),
  paused: z.boolean().default(false),
});

export const configSchema = z
  .object({
    /** A short name for this deployment of the service. */
    name: z.string().min(1),
    timezone: timeZone,
    businessHours: z
      .object({
        days: z.array(weekday).min(1).default(['mon', 'tue', 'wed', 'thu', 'fri']),
        start: hhmm.default('09:00'),
        end: hhmm.default('17:00'),
      })
      .prefault({}),
    temporal: z.object({ namespace: z.string().default('default'), taskQueue: z.string().default('durable-runbooks') }).prefault({}),
    services: z.array(service).min(1),
    databases: z.record(z.string(), database).default({}),
    /** Named metric sources the services' `metrics` refer to. */
    metricProviders: z.record(z.string(), metricProvider).default({}),
    thresholds: thresholds.prefault({}),
    oncall: z.object({ levels: z.array(onCallLevel).min(1) }),
    incidents: incidents,
    notifications: notifications.prefault({}),
    platforms: platforms.prefault({}),
    deploy: deploy.prefault({}),
    backup: backup.prefault({}),
    maintenance: maintenance.prefault({}),
    schedules: schedules.prefault({}),
    webhooks: z
      .object({
        port: z.number().int().min(0).max(65535).default(8787),
        host: z.string().default('127.0.0.1'),
        bearerTokenEnv: envName.default('RUNBOOK_WEBHOOK_TOKEN'),
        sentrySecretEnv: envName.default('SENTRY_CLIENT_SECRET'),
        vercelSecretEnv: envName.default('VERCEL_WEBHOOK_SECRET'),
        /** Larger request bodies are refused with 413. */
        bodyLimitBytes: z.number().int().positive().default(1_048_576),
        /** How long a request waits for Temporal to accept its alerts before answering 503. */
        temporalTimeout: durationMs.default(5_000),
        /** Retry-After sent with a 503. */
        retryAfter: durationMs.default(5_000),
        /** Coalesce alerts of one dedup key arriving while a call for that key is in flight into one signal. */
        coalesce: z.boolean().default(true),
        /** Back-pressure: alerts waiting for Temporal across all keys; beyond it requests get 503. */
        maxQueuedAlerts: z.number().int().positive().default(50_000),
        /** Signal-with-start calls in flight at once. */
        maxConcurrentCalls: z.number().int().positive().default(256),
        /** Alerts per signal, to stay well under Temporal's payload size limit. */
        maxBatch: z.number().int().positive().default(500),
        /** A hot key's next signal waits this long to gather more alerts (0: at once). */
        linger: durationMs.default(0),
        /**
         * What each dedup key's incident has accepted, remembered per process to answer repeats without a Temporal
         * call: how many keys, fingerprints per key, and how long it is trusted. `false` sends every delivery.
         */
        repeatMemory: z
          .union([
            z.literal(false),
            z.object({
              keys: z.number().int().positive().default(10_000),
              alertsPerKey: z.number().int().positive().default(1_000),
              ttl: durationMs.default(60_000),
            }),
          ])
          .default({ keys: 10_000, alertsPerKey: 1_000, ttl: 60_000 }),
        /**
         * Replay window: Vercel delivery ids and the digests of signed Sentry bodies are remembered this long (up to
         * `vercelReplayMemory` of them) to ignore replays, and a Vercel delivery whose signed `createdAt` is older is refused.
         */
        vercelReplayWindow: durationMs.default(86_400_000),
        vercelReplayMemory: z.number().int().positive().default(100_000),
        /** How far Sentry-Hook-Timestamp may be from the receiver's clock, and Vercel's `createdAt` ahead of it. */
        timestampTolerance: durationMs.default(300_000),
        /**
         * Acknowledge alerts once they are fsync'd to this file, and send them to Temporal from there (a restart sends
         * what is left). `false`: acknowledge only once Temporal has them. Unset: `npm start` keeps it in
         * <data dir>/webhooks/alerts.journal.
         */
        alertJournal: z.union([z.literal(false), z.string().min(1)]).optional(),
        /** File the remembered delivery ids are journalled to so a restart keeps them; omit to keep them in memory only. */
        deliveryJournal: z.string().min(1).optional(),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    const names = new Set<string>();
    cfg.services.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['services', i, 'name'], message: `duplicate service name "${s.name}"` });
      names.add(s.name);
      if (s.database && !cfg.databases[s.database]) {
        ctx.addIssue({ code: 'custom', path: ['services', i, 'database'], message: `no database "${s.database}" under databases` });
      }
      s.metrics.forEach((m, j) => {
        const provider = cfg.metricProviders[m.provider];
        if (!provider)
          ctx.addIssue({
            code: 'custom',
            path: ['services', i, 'metrics', j, 'provider'],
            message: `no provider "${m.provider}" under metricProviders`,
          });
        else if (provider.type === 'endpoint' && !['errorRate', 'p50Ms', 'p95Ms', 'p99Ms'].includes(m.query))
          ctx.addIssue({
            code: 'custom',
            path: ['services', i, 'metrics', j, 'query'],
            message: 'the endpoint provider reads errorRate, p50Ms, p95Ms or p99Ms',
          });
        else if (provider.type === 'sql' && !cfg.databases[provider.database])
          ctx.addIssue({
            code: 'custom',
            path: ['metricProviders', m.provider, 'database'],
            message: `no database "${provider.database}" under databases`,
          });
      });
    });
    const levels = new Set(cfg.oncall.levels.map((l) => l.name));
    for (const [sev, steps] of Object.entries(cfg.incidents.escalation ?? {})) {
      steps.forEach((step, i) =>
        step.targets.forEach((t, j) => {
          if (!levels.has(t))
            ctx.addIssue({
              code: 'custom',
              path: ['incidents', 'escalation', sev, i, 'targets', j],
              message: `no on-call level "${t}" under oncall.levels (${[...levels].join(', ')})`,
            });
        }),
      );
    }
    cfg.backup.databases.forEach((d, i) => {
      if (!cfg.databases[d])
        ctx.addIssue({ code: 'custom', path: ['backup', 'databases', i], message: `no database "${d}" under databases` });
    });
  });

export type RunbookConfig = z.infer<typeof configSchema>;
export type RunbookConfigInput = z.input<typeof configSchema>;

import path from 'node:path';

/**
 * The two runbooks' sample apps as row generators: what javari-ai (Vercel + Supabase) and ai-query-hub
 * (Netlify + Supabase Edge Functions) write into their databases when people use them. The same
 * generator makes the first start's history (older rows, so cleanups and reports have work) and the
 * sandbox's live traffic, whose status codes and latencies follow the deployment serving it.
 *
 * Everything random comes from a seeded PRNG, so the same seed and clock give the same rows.
 */

export type Rng = () => number;

/** mulberry32: small, fast, and good enough for sample data. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
export const between = (rng: Rng, lo: number, hi: number): number => Math.floor(lo + rng() * (hi - lo + 1));

/** `items` as [value, weight] pairs. */
export function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((n, [, w]) => n + w, 0);
  let r = rng() * total;
  for (const [v, w] of items) {
    r -= w;
    if (r < 0) return v;
  }
  return items[items.length - 1][0];
}

/** A version-4-shaped UUID from the PRNG (deterministic, unlike gen_random_uuid()). */
export function seededUuid(rng: Rng): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rng() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

function normal(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** What the deployment serving a request looks like (the sandbox's AppProfile of that deployment). */
export interface Serving {
  deploymentId: string;
  /** Percent of requests answering 5xx. */
  errorRate: number;
  p50Ms: number;
  p99Ms: number;
  delayMs: number;
  healthy: boolean;
  status500: boolean;
  version?: string;
  /** AI providers' status page indicators (none/minor/major/critical): a chat on a provider that is down fails. */
  providers?: Record<string, string>;
  /** FORCE_PROVIDER of the project (the runbook's switch-provider mitigation): every chat goes there. */
  forceProvider?: string;
}

/**
 * Whether the AI call of a chat fails because its provider is down (major/critical: all of them;
 * minor: one in ten), and how much slower a degraded provider answers.
 */
export function providerOutcome(rng: Rng, s: Serving, provider: string): { failed: boolean; slowdown: number } {
  const indicator = s.providers?.[provider] ?? 'none';
  if (indicator === 'major' || indicator === 'critical') return { failed: true, slowdown: 1 };
  if (indicator === 'minor') return { failed: rng() < 0.1, slowdown: 2 };
  return { failed: false, slowdown: 1 };
}

/**
 * The AI call of a request the app itself served: slower on a degraded provider; on one that is down the
 * request fails with `status` (what the app answers then). Returns the error the app logs, null when the call went through.
 */
function callProvider(
  rng: Rng,
  s: Serving,
  provider: string,
  out: { status: number; latency: number; failed: boolean },
  status: number,
): string | null {
  const ai = providerOutcome(rng, s, provider);
  out.latency *= ai.slowdown;
  if (!ai.failed) return null;
  Object.assign(out, { failed: true, status });
  return `${provider}: 503 Service Unavailable`;
}

/** A model of the provider FORCE_PROVIDER names, else one by the app's usual mix. */
function chooseModel<T extends readonly [string, ...unknown[]]>(rng: Rng, s: Serving, models: readonly (readonly [T, number])[]): T {
  const forced = s.forceProvider ? models.filter(([m]) => m[0] === s.forceProvider) : [];
  return weighted(rng, forced.length ? forced : models);
}

/** The history's deployment: a little worse than the sandbox's healthy profile, as real history is. */
export const HISTORY_SERVING: Serving = {
  deploymentId: 'dpl_history',
  errorRate: 0.15,
  p50Ms: 95,
  p99Ms: 520,
  delayMs: 0,
  healthy: true,
  status500: false,
};

/** Status and latency of one request served by `s`: latency log-normal through p50 and p99. */
export function requestOutcome(rng: Rng, s: Serving): { status: number; latency: number; failed: boolean } {
  const sigma = Math.max(0.05, Math.log(Math.max(s.p99Ms, s.p50Ms + 1) / Math.max(s.p50Ms, 1)) / 2.326);
  const latency = Math.max(3, Math.round(Math.exp(Math.log(Math.max(s.p50Ms, 1)) + sigma * normal(rng)) + s.delayMs));
  if (s.status500 || rng() * 100 < s.errorRate) {
    return {
      status: s.status500
        ? 500
        : weighted(rng, [
            [500, 5],
            [502, 2],
            [503, 2],
            [504, 1],
          ] as const),
      latency,
      failed: true,
    };
  }
  return { status: 200, latency, failed: false };
}

/** Rows for one table; columns fixed per table. */
export interface TableRows {
  table: string;
  columns: string[];
  rows: unknown[][];
}

/** Collects rows per table; `list()` returns them in the app's table order (parents before children). */
export class Batch {
  private tables = new Map<string, TableRows>();
  /** Per-row updates applied after the inserts (e.g. a conversation's message count); live traffic only. */
  updates: { sql: string; params: unknown[] }[] = [];

  constructor(private readonly order: readonly string[] = []) {}

  add(table: string, columns: string[], row: unknown[]): void {
    let t = this.tables.get(table);
    if (!t) this.tables.set(table, (t = { table, columns, rows: [] }));
    t.rows.push(row);
  }

  list(): TableRows[] {
    const rank = (t: string) => {
      const i = this.order.indexOf(t);
      return i < 0 ? this.order.length : i;
    };
    return [...this.tables.values()].filter((t) => t.rows.length).sort((a, b) => rank(a.table) - rank(b.table));
  }

  count(): number {
    return this.list().reduce((n, t) => n + t.rows.length, 0);
  }
}

export interface AppUser {
  id: string;
  email: string;
  createdAt: Date;
  blocked: boolean;
}

/** What the generator remembers between requests: users, each user's open conversation. */
export interface AppWorld {
  users: AppUser[];
  conversations: Map<string, { id: string; messages: number; createdAt: Date }>;
}

export interface SampleApp {
  name: 'javari-ai' | 'ai-query-hub';
  /** Its migrations folder, relative to the repository root (what the config example's deploy.migrationsDir names). */
  migrationsDir: string;
  /** The tables it writes, parents first: the insert order. Seeding and traffic wait until all exist. */
  tables: string[];
  /** After the history's inserts: totals the per-request updates would have kept (message counts, last sign-in). */
  historyFixups: string[];
  /** History rows per day at the busiest hour's share (before the daily curve). */
  historyRequestsPerDay: number;
  /** Users with their accounts, created across the history (and a little before). */
  users(rng: Rng, now: Date, days: number, batch: Batch): AppUser[];
  /** One request (or sign-in, or task) at `at`, served by `serving`. */
  request(rng: Rng, at: Date, serving: Serving, world: AppWorld, batch: Batch): void;
  /** A periodic row the app writes by itself (javari's 5-minute health check); none for the other app. */
  healthCheck?(rng: Rng, at: Date, serving: Serving, batch: Batch): void;
  /** SQL that loads the world back for live traffic: users (id, email, created_at, blocked). */
  usersQuery: string;
}

const FIRST = [
  'ava',
  'ben',
  'chloe',
  'dan',
  'emma',
  'finn',
  'grace',
  'hugo',
  'isla',
  'jack',
  'kai',
  'lena',
  'maya',
  'noah',
  'olive',
  'priya',
  'quinn',
  'ruby',
  'sam',
  'tara',
  'uma',
  'viktor',
  'wen',
  'yusuf',
  'zoe',
];
const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'studio.example.io'];

function makeUsers(rng: Rng, now: Date, days: number, count: number): AppUser[] {
  const users: AppUser[] = [];
  for (let i = 0; i < count; i++) {
    // A third existed before the history starts; the rest signed up during it.
    const ageDays = i < count / 3 ? days + between(rng, 1, 200) : rng() * days;
    users.push({
      id: seededUuid(rng),
      email: `${pick(rng, FIRST)}.${i}@${pick(rng, DOMAINS)}`,
      createdAt: new Date(now.getTime() - ageDays * 86_400_000),
      blocked: false,
    });
  }
  return users.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/** `count` users, each with a Supabase Auth account; `profile` adds the app's own row for a user. */
function signUp(rng: Rng, now: Date, days: number, count: number, batch: Batch, profile: (u: AppUser) => void): AppUser[] {
  const users = makeUsers(rng, now, days, count);
  for (const u of users) {
    batch.add('auth.users', AUTH_USER_COLUMNS, [u.id, u.email, u.createdAt, u.createdAt]);
    profile(u);
  }
  return users;
}

/** A user who existed at `at` (users sorted by creation). */
function userAt(rng: Rng, world: AppWorld, at: Date): AppUser | undefined {
  let hi = world.users.length;
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (world.users[mid].createdAt.getTime() <= at.getTime()) lo = mid + 1;
    else hi = mid;
  }
  return lo ? world.users[Math.floor(rng() * lo)] : undefined;
}

const AUTH_USER_COLUMNS = ['id', 'email', 'email_confirmed_at', 'created_at'];
const AUTH_AUDIT_COLUMNS = ['id', 'payload', 'ip_address', 'error_msg', 'created_at'];

function ipOf(rng: Rng): string {
  return `203.0.113.${between(rng, 1, 254)}`;
}

// ---------------------------------------------------------------- javari-ai (first runbook)

const JAVARI_MODELS = [
  // provider, model, $ per 1k tokens, weight
  ['openai', 'gpt-3.5-turbo', 0.0015, 64],
  ['openai', 'gpt-4-turbo-preview', 0.03, 5],
  ['anthropic', 'claude-3-haiku', 0.00125, 26],
  ['anthropic', 'claude-3-sonnet', 0.015, 5],
] as const;

const JAVARI_ENDPOINTS = [
  ['POST', '/api/chat', 30],
  ['GET', '/api/conversations', 20],
  ['GET', '/api/conversations/[id]', 15],
  ['GET', '/api/user', 10],
  ['GET', '/api/models', 5],
  ['GET', '/api/credits', 5],
  ['POST', '/api/feedback', 3],
  ['POST', '/api/tasks', 5],
  ['SIGN-IN', 'auth', 7],
] as const;

const TASK_TYPES = ['summarize_conversation', 'generate_embeddings', 'export_chat', 'send_digest_email'];
const TASK_ERRORS = [
  'OpenAI API error: 429 Too Many Requests',
  'timeout after 60000 ms',
  'embedding dimension mismatch',
  'SMTP 421 service not available',
];
const CHAT_TOPICS = [
  'a cover letter',
  'a SQL query',
  'a birthday poem',
  'a marketing email',
  'a bug in my React app',
  'a travel plan',
  'a product description',
  'a lesson plan',
];

const API_LOG = ['method', 'endpoint', 'status', 'latency', 'user_id', 'deployment_id', 'error', 'created_at'];
const JAVARI_LOG = ['user_id', 'level', 'action', 'duration', 'metadata', 'created_at'];
const MESSAGE = [
  'conversation_id',
  'user_id',
  'role',
  'content',
  'provider',
  'model',
  'tokens',
  'cost',
  'latency_ms',
  'error',
  'created_at',
];
const CONVERSATION = ['id', 'user_id', 'title', 'model', 'message_count', 'created_at', 'updated_at'];

const secondsBefore = (at: Date, s: number) => new Date(at.getTime() - s * 1000);

export const javariAi: SampleApp = {
  name: 'javari-ai',
  migrationsDir: path.join('examples', 'javari-ai', 'migrations'),
  tables: [
    'auth.users',
    'users',
    'javari_conversations',
    'javari_conversation_summaries',
    'javari_messages',
    'javari_health_checks',
    'javari_task_queue',
    'api_logs',
    'javari_logs',
    'auth.audit_log_entries',
  ],
  historyFixups: [
    `UPDATE javari_conversations c SET message_count = m.n, updated_at = m.last, model = m.model
       FROM (SELECT conversation_id, count(*)::int AS n, max(created_at) AS last, max(model) AS model FROM javari_messages GROUP BY 1) m
      WHERE c.id = m.conversation_id`,
    `UPDATE users u SET last_sign_in_at = l.last
       FROM (SELECT user_id, max(created_at) AS last FROM javari_logs WHERE action = 'auth.sign_in' GROUP BY 1) l
      WHERE u.id = l.user_id`,
  ],
  historyRequestsPerDay: 260,
  usersQuery: 'SELECT id::text, email, created_at, blocked FROM users ORDER BY created_at',

  users(rng, now, days, batch) {
    return signUp(rng, now, days, 150, batch, (u) => {
      const plan = weighted(rng, [
        ['free', 80],
        ['pro', 17],
        ['team', 3],
      ] as const);
      batch.add(
        'users',
        ['id', 'email', 'full_name', 'plan', 'credits', 'rate_limit', 'created_at', 'updated_at'],
        [
          u.id,
          u.email,
          u.email.split('.')[0].replace(/^./, (c) => c.toUpperCase()),
          plan,
          plan === 'free' ? between(rng, 0, 100) : between(rng, 500, 5000),
          plan === 'free' ? 60 : 300,
          u.createdAt,
          u.createdAt,
        ],
      );
    });
  },

  request(rng, at, serving, world, batch) {
    const user = userAt(rng, world, at);
    if (!user) return;
    const [method, endpoint] = weighted(
      rng,
      JAVARI_ENDPOINTS.map(([m, e, w]) => [[m, e] as const, w] as const),
    );
    if (method === 'SIGN-IN') {
      // Supabase Auth, not the app's API: the auth audit log and the app's log.
      const limited = rng() < 0.02;
      batch.add('auth.audit_log_entries', AUTH_AUDIT_COLUMNS, [
        seededUuid(rng),
        JSON.stringify({ action: limited ? 'login_failed' : 'login', actor_id: user.id, actor_username: user.email }),
        ipOf(rng),
        limited ? 'email rate limit exceeded' : null,
        at,
      ]);
      if (!limited) {
        batch.add('javari_logs', JAVARI_LOG, [user.id, 'info', 'auth.sign_in', null, JSON.stringify({ provider: 'email' }), at]);
        batch.updates.push({
          sql: 'UPDATE users SET last_sign_in_at = GREATEST(last_sign_in_at, $2) WHERE id = $1',
          params: [user.id, at],
        });
      }
      return;
    }
    const out = requestOutcome(rng, serving);
    const [provider, model, per1k] = chooseModel(
      rng,
      serving,
      JAVARI_MODELS.map(([p, m, c, w]) => [[p, m, c] as const, w] as const),
    );
    let error: string | null = out.failed
      ? pick(rng, ['FUNCTION_INVOCATION_FAILED', 'upstream connect error', 'Internal Server Error'])
      : null;
    if (endpoint === '/api/chat' && !out.failed && !user.blocked) error = callProvider(rng, serving, provider, out, 503);
    let status = out.status;
    if (!out.failed && user.blocked) {
      status = 403;
      error = 'user blocked';
    } else if (!out.failed && rng() < 0.012) {
      status = pick(rng, [401, 404, 429]);
    }
    batch.add('api_logs', API_LOG, [method, endpoint, status, out.latency, user.id, serving.deploymentId, error, at]);
    batch.add('javari_logs', JAVARI_LOG, [
      user.id,
      status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info',
      `${method} ${endpoint}`,
      out.latency,
      JSON.stringify({ status }),
      at,
    ]);

    if (endpoint === '/api/chat' && status !== 403 && status !== 401) {
      let conv = world.conversations.get(user.id);
      if (!conv || conv.messages >= 12 || rng() < 0.2) {
        if (conv && conv.messages >= 2) {
          batch.add(
            'javari_conversation_summaries',
            ['conversation_id', 'summary', 'message_count', 'tokens', 'created_at'],
            [
              conv.id,
              `The user asked for help with ${pick(rng, CHAT_TOPICS)}; ${conv.messages} messages.`,
              conv.messages,
              between(rng, 80, 400),
              at,
            ],
          );
        }
        conv = { id: seededUuid(rng), messages: 0, createdAt: at };
        world.conversations.set(user.id, conv);
        batch.add('javari_conversations', CONVERSATION, [conv.id, user.id, `Help with ${pick(rng, CHAT_TOPICS)}`, null, 0, at, at]);
      }
      const asked = secondsBefore(at, out.latency / 1000);
      const promptTokens = between(rng, 12, 220);
      batch.add('javari_messages', MESSAGE, [
        conv.id,
        user.id,
        'user',
        `Can you help me with ${pick(rng, CHAT_TOPICS)}?`,
        null,
        null,
        promptTokens,
        0,
        null,
        null,
        asked,
      ]);
      const answerTokens = out.failed ? 0 : between(rng, 60, 900);
      const cost = out.failed ? 0 : Math.round(((promptTokens + answerTokens) / 1000) * per1k * 1e6) / 1e6;
      batch.add('javari_messages', MESSAGE, [
        conv.id,
        user.id,
        'assistant',
        out.failed ? '' : 'Here is a draft you can start from.',
        provider,
        model,
        promptTokens + answerTokens,
        cost,
        out.latency,
        out.failed
          ? error?.startsWith(`${provider}:`)
            ? error
            : serving.healthy
              ? `${provider}: ${error}`
              : `${provider}: Connection timeout`
          : null,
        at,
      ]);
      conv.messages += 2;
      batch.updates.push({
        sql: 'UPDATE javari_conversations SET message_count = message_count + 2, model = $2, updated_at = $3 WHERE id = $1',
        params: [conv.id, model, at],
      });
    }
    if (endpoint === '/api/tasks' && status < 400) {
      const failed = rng() < 0.08;
      const took = between(rng, 2, 300);
      batch.add(
        'javari_task_queue',
        ['user_id', 'task_type', 'status', 'payload', 'attempts', 'error', 'created_at', 'started_at', 'completed_at'],
        [
          user.id,
          pick(rng, TASK_TYPES),
          failed ? 'failed' : 'completed',
          JSON.stringify({ requestedBy: user.id }),
          failed ? 3 : 1,
          failed ? pick(rng, TASK_ERRORS) : null,
          secondsBefore(at, took + 1),
          secondsBefore(at, took),
          at,
        ],
      );
    }
  },

  healthCheck(rng, at, serving, batch) {
    const status = serving.status500 ? 'unhealthy' : serving.healthy ? 'healthy' : 'degraded';
    const dbLatency = between(rng, 30, 70);
    batch.add(
      'javari_health_checks',
      ['status', 'checks', 'latency_ms', 'version', 'deployment_id', 'created_at'],
      [
        status,
        JSON.stringify({
          database: { status: 'healthy', latency: dbLatency },
          ai_providers: serving.healthy
            ? { status: 'healthy', openai: 'operational', anthropic: 'operational' }
            : { status: 'degraded', openai: 'operational', anthropic: 'error', error: 'Connection timeout' },
          storage: { status: 'healthy', latency: between(rng, 90, 160) },
        }),
        dbLatency + between(rng, 20, 120),
        serving.version ?? '1.0.0',
        serving.deploymentId,
        at,
      ],
    );
  },
};

// ---------------------------------------------------------------- ai-query-hub (second runbook)

const HUB_MODELS = [
  // provider, model, tier, $ per 1k tokens, weight
  ['anthropic', 'claude-3-haiku', 'CHEAP', 0.00125, 50],
  ['openrouter', 'meta-llama/llama-3-8b-instruct', 'FAST', 0.0002, 30],
  ['anthropic', 'claude-3-5-sonnet', 'SMART', 0.015, 12],
  ['openrouter', 'openai/gpt-4o', 'SMART', 0.01, 8],
] as const;

const HUB_KINDS = [
  ['ai-query', 'web', 62],
  ['telegram-webhook', 'telegram', 14],
  ['slack-webhook', 'slack', 10],
  ['sign-in', 'web', 12],
  ['security', 'web', 2],
] as const;

const QUERY_LOG = [
  'user_id',
  'conversation_id',
  'function_name',
  'channel',
  'provider',
  'model',
  'model_tier',
  'status',
  'latency_ms',
  'prompt_tokens',
  'completion_tokens',
  'tokens',
  'cost',
  'deployment_id',
  'error',
  'created_at',
];
const AUDIT = ['user_id', 'action_type', 'resource', 'ip_address', 'user_agent', 'details', 'created_at'];
const HUB_QUESTIONS = [
  'What changed in the Q3 report?',
  'Summarise my meeting notes',
  'Which documents mention the budget?',
  'Draft a reply to the supplier',
  'What is on my calendar tomorrow?',
];

export const aiQueryHub: SampleApp = {
  name: 'ai-query-hub',
  migrationsDir: path.join('examples', 'ai-query-hub', 'supabase', 'migrations'),
  tables: ['auth.users', 'profiles', 'conversations', 'messages', 'ai_query_logs', 'audit_logs'],
  historyFixups: [
    `UPDATE conversations c SET updated_at = m.last
       FROM (SELECT conversation_id, max(created_at) AS last FROM messages GROUP BY 1) m WHERE c.id = m.conversation_id`,
    `UPDATE profiles p SET last_sign_in_at = a.last
       FROM (SELECT user_id, max(created_at) AS last FROM audit_logs WHERE action_type = 'sign_in' GROUP BY 1) a WHERE p.id = a.user_id`,
  ],
  historyRequestsPerDay: 220,
  usersQuery: 'SELECT id::text, email, created_at, blocked FROM profiles ORDER BY created_at',

  users(rng, now, days, batch) {
    return signUp(rng, now, days, 90, batch, (u) =>
      batch.add(
        'profiles',
        ['id', 'email', 'display_name', 'role', 'telegram_chat_id', 'slack_user_id', 'created_at', 'updated_at'],
        [
          u.id,
          u.email,
          u.email.split('.')[0],
          rng() < 0.03 ? 'admin' : 'user',
          rng() < 0.4 ? String(between(rng, 100000000, 999999999)) : null,
          rng() < 0.3 ? `U${between(rng, 10000000, 99999999)}` : null,
          u.createdAt,
          u.createdAt,
        ],
      ),
    );
  },

  request(rng, at, serving, world, batch) {
    const user = userAt(rng, world, at);
    if (!user) return;
    const [kind, channel] = weighted(
      rng,
      HUB_KINDS.map(([k, c, w]) => [[k, c] as const, w] as const),
    );
    if (kind === 'sign-in' || kind === 'security') {
      const action =
        kind === 'sign-in'
          ? rng() < 0.07
            ? 'auth_failure'
            : 'sign_in'
          : weighted(rng, [
              ['suspicious_activity', 5],
              ['security_violation', 2],
              ['rls_violation', 3],
            ] as const);
      batch.add('audit_logs', AUDIT, [
        user.id,
        action,
        action === 'rls_violation' ? 'public.messages' : 'auth',
        ipOf(rng),
        'Mozilla/5.0',
        JSON.stringify({ channel }),
        at,
      ]);
      if (action === 'sign_in')
        batch.updates.push({
          sql: 'UPDATE profiles SET last_sign_in_at = GREATEST(last_sign_in_at, $2) WHERE id = $1',
          params: [user.id, at],
        });
      return;
    }
    const out = requestOutcome(rng, serving);
    const [provider, model, tier, per1k] = chooseModel(
      rng,
      serving,
      HUB_MODELS.map(([p, m, t, c, w]) => [[p, m, t, c] as const, w] as const),
    );
    let error: string | null = out.failed ? pick(rng, ['BOOT_ERROR', 'WORKER_LIMIT', 'upstream request timeout']) : null;
    if (!out.failed && !user.blocked) error = callProvider(rng, serving, provider, out, 502);
    let status = out.status;
    if (!out.failed && user.blocked) {
      status = 403;
      error = 'profile blocked';
    } else if (!out.failed && rng() < 0.01) {
      status = 401;
      error = 'Invalid JWT';
    }
    const ok = status < 400;
    const prompt = ok ? between(rng, 200, 2400) : 0;
    const completion = ok ? between(rng, 50, 700) : 0;
    let conv = world.conversations.get(`${user.id}:${channel}`);
    if (ok && (!conv || conv.messages >= 10 || rng() < 0.25)) {
      conv = { id: seededUuid(rng), messages: 0, createdAt: at };
      world.conversations.set(`${user.id}:${channel}`, conv);
      batch.add(
        'conversations',
        ['id', 'user_id', 'channel', 'title', 'created_at', 'updated_at'],
        [conv.id, user.id, channel, pick(rng, HUB_QUESTIONS), at, at],
      );
    }
    batch.add('ai_query_logs', QUERY_LOG, [
      user.id,
      ok ? conv!.id : null,
      kind,
      channel,
      ok || out.failed ? provider : null,
      ok || out.failed ? model : null,
      ok || out.failed ? tier : null,
      status,
      out.latency,
      prompt,
      completion,
      prompt + completion,
      Math.round(((prompt + completion) / 1000) * per1k * 1e6) / 1e6,
      serving.deploymentId,
      error,
      at,
    ]);
    if (ok) {
      batch.add(
        'messages',
        ['conversation_id', 'user_id', 'role', 'content', 'created_at'],
        [conv!.id, user.id, 'user', pick(rng, HUB_QUESTIONS), secondsBefore(at, out.latency / 1000)],
      );
      batch.add(
        'messages',
        ['conversation_id', 'user_id', 'role', 'content', 'created_at'],
        [conv!.id, user.id, 'assistant', 'Here is what I found.', at],
      );
      conv!.messages += 2;
      batch.updates.push({ sql: 'UPDATE conversations SET updated_at = $2 WHERE id = $1', params: [conv!.id, at] });
    }
  },
};

export const SAMPLE_APPS: readonly SampleApp[] = [javariAi, aiQueryHub];

/** The sample app whose migrations live in `migrationsDir` (as the config names it), if it is one of ours. */
export function sampleAppFor(migrationsDir: string, root: string = path.join(__dirname, '..', '..')): SampleApp | undefined {
  const abs = path.resolve(migrationsDir);
  return SAMPLE_APPS.find((a) => {
    const own = path.resolve(root, a.migrationsDir);
    // The Supabase app's folder may be named by its checkout root or by supabase/migrations itself.
    return abs === own || abs === path.dirname(path.dirname(own));
  });
}

/** Share of a day's requests in each hour (UTC): quiet nights, busy afternoons. */
export const HOURLY_SHAPE: readonly number[] = (() => {
  const raw = Array.from({ length: 24 }, (_, h) => 0.35 + Math.max(0, Math.sin(((h - 6) / 24) * 2 * Math.PI)) * 1.3);
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((v) => v / sum);
})();

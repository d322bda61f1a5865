import type { Client as PgClient } from 'pg';
import type { Finding } from '../../workflows/incident/contract';
import { messageOf } from '../../workflows/common';
import { requirePlatforms, type ActivityDeps } from '../deps';
import { appAccess } from './services';

/**
 * The troubleshooting guide's Diagnosis steps per symptom (Users Can't Sign In, Chat Not Responding, High AI
 * Costs, Database Performance, Complete Outage, High Error Rate). Each look answers a finding; a table the
 * app does not have is a finding too ("cannot look"), never a failure of the incident.
 */

/** The runbook's abuse query: more than 1000 messages in 24 hours. */
export const ABUSE_MESSAGES_PER_DAY = 1000;

/** Queries on one connection, one after another: pg would queue them anyway, and issuing them together is deprecated. */
async function inTurn<T extends readonly (() => Promise<unknown>)[]>(
  ...queries: T
): Promise<{ -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  const results: unknown[] = [];
  for (const query of queries) results.push(await query());
  return results as { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> };
}

async function columnsOf(db: PgClient, qualified: string): Promise<Set<string> | undefined> {
  const [schema, table] = qualified.includes('.') ? qualified.split('.', 2) : ['public', qualified];
  const { rows } = await db.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`,
    [schema, table],
  );
  return rows.length ? new Set(rows.map((r) => r.column_name)) : undefined;
}

const ident = (name: string) =>
  name
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');

export function createSymptomDiagnosisActivities(deps: Pick<ActivityDeps, 'config' | 'databaseUrl' | 'platforms'>) {
  const { withAppDatabase } = appAccess(deps);
  const platforms = () => requirePlatforms(deps);
  const messagesTable = () => deps.config.maintenance.messagesTable;

  return {
    /**
     * Users Can't Sign In: Supabase Auth health (GET /auth/v1/health) and the last hour of auth.audit_log_entries
     * with an error (rate limiting counted apart, as the runbook's query does).
     */
    async checkSignIn(args: { database?: string }): Promise<Finding> {
      const supabase = deps.config.platforms.supabase;
      let auth: { ok: boolean | null; text: string };
      if (!supabase.projectUrl) auth = { ok: null, text: 'Supabase Auth not checked: platforms.supabase.projectUrl is not set' };
      else {
        try {
          const h = await platforms().supabase.authHealth();
          auth = { ok: true, text: `Supabase Auth answers (${h.name} ${h.version})` };
        } catch (err) {
          auth = { ok: false, text: `Supabase Auth health fails: ${messageOf(err)}` };
        }
      }
      let errors: { ok: boolean | null; text: string; total?: number; rateLimited?: number; samples?: string[] } = {
        ok: null,
        text: 'no database to read auth errors from',
      };
      if (args.database) {
        errors = await withAppDatabase(args.database, async (db) => {
          if (!(await columnsOf(db, 'auth.audit_log_entries'))) return { ok: null, text: 'no auth.audit_log_entries table' };
          const { rows } = await db.query<{ total: number; rate_limited: number; samples: string[] | null }>(
            `SELECT count(*)::int AS total,
                    count(*) FILTER (WHERE error_msg LIKE '%rate limit%')::int AS rate_limited,
                    (array_agg(DISTINCT left(error_msg, 120)))[1:5] AS samples
               FROM auth.audit_log_entries
              WHERE created_at > now() - interval '1 hour' AND error_msg IS NOT NULL AND error_msg <> ''`,
          );
          const r = rows[0];
          return {
            ok: r.total === 0,
            text: r.total
              ? `${r.total} auth error(s) in the last hour, ${r.rate_limited} rate-limited: ${(r.samples ?? []).join('; ')}`
              : 'no auth errors in the last hour',
            total: r.total,
            rateLimited: r.rate_limited,
            samples: r.samples ?? [],
          };
        });
      }
      const ok = auth.ok === false || errors.ok === false ? false : auth.ok === null && errors.ok === null ? null : true;
      return {
        check: 'sign-in',
        ok,
        summary: `${auth.text}; ${errors.text}`,
        details: {
          authHealthy: auth.ok,
          authErrors: errors.total ?? null,
          rateLimited: errors.rateLimited ?? null,
          samples: errors.samples ?? [],
        },
      };
    },

    /** Chat Not Responding: assistant answers that failed in the last 10 minutes, by provider and model. */
    async checkChatFailures(args: { database: string }): Promise<Finding> {
      const table = messagesTable();
      return withAppDatabase(args.database, async (db) => {
        const cols = await columnsOf(db, table);
        if (!cols || !cols.has('error') || !cols.has('created_at'))
          return { check: 'chat-failures', ok: null, summary: `no ${table} table with error and created_at columns` };
        const failed = cols.has('status') ? `(error IS NOT NULL OR status >= 500)` : `error IS NOT NULL`;
        const assistant = cols.has('role') ? ` AND role = 'assistant'` : '';
        const provider = cols.has('provider') ? 'provider' : `NULL::text`;
        const model = cols.has('model') ? 'model' : `NULL::text`;
        const { rows } = await db.query<{
          provider: string | null;
          model: string | null;
          n: number;
          total: number;
          last_error: string | null;
        }>(
          `SELECT ${provider} AS provider, ${model} AS model,
                  count(*) FILTER (WHERE ${failed})::int AS n, count(*)::int AS total,
                  (array_agg(left(error, 200) ORDER BY created_at DESC) FILTER (WHERE error IS NOT NULL))[1] AS last_error
             FROM ${ident(table)}
            WHERE created_at > now() - interval '10 minutes'${assistant}
            GROUP BY 1, 2 ORDER BY 3 DESC`,
        );
        const failedN = rows.reduce((n, r) => n + r.n, 0);
        const total = rows.reduce((n, r) => n + r.total, 0);
        const failing = rows.filter((r) => r.n > 0);
        return {
          check: 'chat-failures',
          ok: failedN === 0,
          summary: failedN
            ? `${failedN} of ${total} answer(s) failed in the last 10 minutes: ${failing
                .map((r) => `${r.provider ?? '?'} ${r.model ?? ''} ${r.n}× (${r.last_error ?? 'no message'})`.replace(/\s+/g, ' '))
                .join('; ')}`
            : `${total} answer(s) in the last 10 minutes, none failed`,
          details: {
            failed: failedN,
            total,
            byProvider: failing.map((r) => ({ provider: r.provider, model: r.model, failed: r.n, lastError: r.last_error })),
          },
        };
      });
    },

    /**
     * High AI Costs: usage per user over 7 days, the runbook's abuse query (> 1000 messages in 24 hours),
     * and cost per day (the messages table of either runbook: javari_messages, ai_query_logs).
     */
    async checkAiUsage(args: { database: string }): Promise<Finding> {
      const table = messagesTable();
      return withAppDatabase(args.database, async (db) => {
        const cols = await columnsOf(db, table);
        if (!cols || !['user_id', 'cost', 'created_at'].every((c) => cols.has(c)))
          return { check: 'ai-usage', ok: null, summary: `no ${table} table with user_id, cost and created_at columns` };
        const tokens = cols.has('tokens') ? 'sum(tokens)' : '0';
        const t = ident(table);
        const [top, abusers, days] = await inTurn(
          () =>
            db.query<{ user_id: string; tokens: string; cost: string; messages: number }>(
              `SELECT user_id::text, ${tokens}::bigint::text AS tokens, sum(cost)::numeric(14, 2)::text AS cost, count(*)::int AS messages
               FROM ${t} WHERE created_at > now() - interval '7 days' GROUP BY user_id ORDER BY sum(cost) DESC NULLS LAST LIMIT 5`,
            ),
          () =>
            db.query<{ user_id: string; messages: number; cost: string }>(
              `SELECT user_id::text, count(*)::int AS messages, sum(cost)::numeric(14, 2)::text AS cost
               FROM ${t} WHERE created_at > now() - interval '24 hours'
              GROUP BY user_id HAVING count(*) > $1 ORDER BY count(*) DESC`,
              [ABUSE_MESSAGES_PER_DAY],
            ),
          () =>
            db.query<{ day: string; cost: string; messages: number }>(
              `SELECT created_at::date::text AS day, sum(cost)::numeric(14, 2)::text AS cost, count(*)::int AS messages
               FROM ${t} WHERE created_at >= current_date - 6 GROUP BY 1 ORDER BY 1 DESC`,
            ),
        );
        const limit = deps.config.maintenance.dailyCostLimit;
        const overDays = days.rows.filter((d) => Number(d.cost) > limit);
        return {
          check: 'ai-usage',
          ok: abusers.rows.length === 0 && overDays.length === 0,
          summary: [
            abusers.rows.length
              ? `${abusers.rows.length} user(s) over ${ABUSE_MESSAGES_PER_DAY} messages in 24 h: ${abusers.rows.map((a) => `${a.user_id} ${a.messages} ($${a.cost})`).join(', ')}`
              : `nobody over ${ABUSE_MESSAGES_PER_DAY} messages in 24 h`,
            top.rows.length ? `top spender over 7 days ${top.rows[0].user_id} $${top.rows[0].cost}` : 'no usage in 7 days',
            `${days.rows[0] ? `${days.rows[0].day} $${days.rows[0].cost}` : 'no cost in 7 days'}${overDays.length ? `; above $${limit}/day on ${overDays.map((d) => d.day).join(', ')}` : ''}`,
          ].join('; '),
          details: {
            abusers: abusers.rows.map((a) => ({ userId: a.user_id, messages: a.messages, cost: Number(a.cost) })),
            topUsers: top.rows.map((u) => ({ userId: u.user_id, tokens: Number(u.tokens), cost: Number(u.cost), messages: u.messages })),
            costPerDay: days.rows.map((d) => ({ day: d.day, cost: Number(d.cost), messages: d.messages })),
          },
        };
      });
    },

    /** Playbook 3 step 3, "check for lock contention": every waiting lock and the sessions that block it. */
    async checkLockContention(args: { database: string }): Promise<Finding> {
      return withAppDatabase(args.database, async (db) => {
        const { rows } = await db.query<{
          pid: number;
          mode: string;
          relation: string | null;
          waiting_s: number;
          query: string;
          blocked_by: number[];
          blocker_queries: string[] | null;
        }>(
          `SELECT l.pid, l.mode, l.relation::regclass::text AS relation,
                  round(extract(epoch FROM now() - a.query_start))::int AS waiting_s, left(a.query, 200) AS query,
                  pg_blocking_pids(l.pid) AS blocked_by,
                  (SELECT array_agg(left(b.query, 200)) FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(l.pid))) AS blocker_queries
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE NOT l.granted AND a.datname = current_database()
            ORDER BY a.query_start LIMIT 20`,
        );
        const blockers = [...new Set(rows.flatMap((r) => r.blocked_by))];
        return {
          check: 'lock-contention',
          ok: rows.length === 0,
          summary: rows.length
            ? `${rows.length} waiting lock(s): ${rows
                .map(
                  (r) =>
                    `pid ${r.pid} waits ${r.waiting_s}s for ${r.mode} on ${r.relation ?? 'a row/transaction'}, blocked by ${r.blocked_by.join(', ') || '?'}`,
                )
                .join('; ')}`
            : 'no waiting locks',
          details: {
            waiting: rows.map((r) => ({
              pid: r.pid,
              mode: r.mode,
              relation: r.relation,
              waitingSeconds: r.waiting_s,
              query: r.query,
              blockedBy: r.blocked_by,
            })),
            blockers,
            blockerQueries: [...new Set(rows.flatMap((r) => r.blocker_queries ?? []))],
          },
        };
      });
    },

    /**
     * Playbook 2 / High Error Rate: error types of the last hour and the rate of each of the previous hours
     * ("is it increasing or stable"), from api_logs (or the messages table where it carries a status).
     */
    async checkErrorTrend(args: { database: string; hours?: number }): Promise<Finding> {
      const hours = args.hours ?? 4;
      return withAppDatabase(args.database, async (db) => {
        let table: string | undefined;
        for (const candidate of ['api_logs', messagesTable()]) {
          const cols = await columnsOf(db, candidate);
          if (cols?.has('status') && cols.has('created_at')) {
            table = candidate;
            break;
          }
        }
        if (!table) return { check: 'error-trend', ok: null, summary: 'no request log with status and created_at (api_logs)' };
        const cols = (await columnsOf(db, table))!;
        const where = cols.has('endpoint') ? 'endpoint' : cols.has('function_name') ? 'function_name' : `'-'::text`;
        const t = ident(table);
        const [types, trend] = await inTurn(
          () =>
            db.query<{ status: number; at: string; error: string | null; n: number }>(
              `SELECT status, ${where} AS at, ${cols.has('error') ? 'left(max(error), 120)' : 'NULL::text'} AS error, count(*)::int AS n
               FROM ${t} WHERE created_at > now() - interval '1 hour' AND status >= 500
              GROUP BY 1, 2 ORDER BY 4 DESC LIMIT 10`,
            ),
          () =>
            db.query<{ hours_ago: number; total: number; errors: number }>(
              `SELECT floor(extract(epoch FROM now() - created_at) / 3600)::int AS hours_ago,
                    count(*)::int AS total, count(*) FILTER (WHERE status >= 500)::int AS errors
               FROM ${t} WHERE created_at > now() - make_interval(hours => $1)
              GROUP BY 1 ORDER BY 1`,
              [hours],
            ),
        );
        const rate = (h: number) => {
          const r = trend.rows.find((x) => x.hours_ago === h);
          return r && r.total ? (100 * r.errors) / r.total : 0;
        };
        const current = rate(0);
        const previous = trend.rows.filter((r) => r.hours_ago > 0);
        const before = previous.length ? previous.reduce((n, r) => n + (r.total ? (100 * r.errors) / r.total : 0), 0) / previous.length : 0;
        const direction = current > before * 1.5 + 0.1 ? 'increasing' : current < before / 1.5 - 0.1 ? 'decreasing' : 'stable';
        const { critical, warning } = deps.config.thresholds.errorRate;
        return {
          check: 'error-trend',
          ok: current <= warning,
          summary: `error rate ${current.toFixed(1)} % this hour, ${before.toFixed(1)} % on average over the ${previous.length} hour(s) before: ${direction}${
            types.rows.length ? `; ${types.rows.map((r) => `${r.status} ${r.at} ×${r.n}${r.error ? ` (${r.error})` : ''}`).join(', ')}` : ''
          }${current > critical ? ' — above the critical threshold' : ''}`,
          details: {
            table,
            currentRate: Math.round(current * 100) / 100,
            previousRate: Math.round(before * 100) / 100,
            direction,
            byHour: trend.rows.map((r) => ({ hoursAgo: r.hours_ago, total: r.total, errors: r.errors })),
            types: types.rows,
          },
        };
      });
    },

    /** Chat Not Responding → "OpenAI API key invalid" and "rate limit reached": each configured provider's key tried. */
    async checkProviderKeys(): Promise<Finding> {
      const status = platforms().providers;
      const checks = await Promise.all(status.apis.map((name) => status.checkKey(name)));
      const bad = checks.filter((c) => c.verdict !== 'valid');
      const budget = (c: (typeof checks)[number]) =>
        c.remainingRequests !== undefined ? `, ${c.remainingRequests}/${c.limitRequests ?? '?'} requests left` : '';
      return {
        check: 'provider-keys',
        ok: checks.length === 0 ? null : bad.length === 0,
        summary: checks.length
          ? checks
              .map(
                (c) => `${c.provider} key ${c.verdict}${c.status !== null ? ` (${c.status}${budget(c)})` : c.error ? ` (${c.error})` : ''}`,
              )
              .join(', ')
          : 'no provider API configured (platforms.providers.<name>.apiUrl and keyEnv)',
        details: {
          keys: checks,
          invalid: checks.filter((c) => c.verdict === 'invalid' || c.verdict === 'missing').map((c) => c.provider),
          rateLimited: checks.filter((c) => c.verdict === 'rate-limited').map((c) => c.provider),
        },
      };
    },

    /** Complete Outage, "check dependencies": the status pages of the platforms (Supabase, Vercel, Netlify). */
    async checkPlatformStatus(): Promise<Finding> {
      const status = platforms().providers;
      const results = await Promise.all(
        status.platforms.map(async (name) => {
          try {
            const s = await status.status(name);
            return { name, indicator: s.status.indicator as string, description: s.status.description };
          } catch (err) {
            return { name, indicator: 'unknown', description: messageOf(err) };
          }
        }),
      );
      const down = results.filter((r) => r.indicator !== 'none' && r.indicator !== 'unknown').map((r) => r.name);
      const unknown = results.filter((r) => r.indicator === 'unknown');
      return {
        check: 'platform-status',
        ok: results.length === 0 || unknown.length === results.length ? null : down.length === 0,
        summary:
          results.map((r) => `${r.name} ${r.indicator}${r.indicator !== 'none' ? ` (${r.description})` : ''}`).join(', ') ||
          'no platform status pages configured (platforms.statusPages)',
        details: { degraded: down, platforms: results },
      };
    },
  };
}

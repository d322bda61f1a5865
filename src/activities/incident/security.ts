import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Client as PgClient } from 'pg';
import type { EvidenceObject, SecurityScope } from '../../workflows/incident/security-contract';
import { createBackupStore } from '../backup/open-store';
import type { BackupStore } from '../backup/store';
import { callPlatform } from '../../platforms/activity-errors';
import { PlatformError } from '../../platforms/errors';
import { invalidInput } from '../../workflows/common';
import { requirePlatforms, type ActivityDeps } from '../deps';
import { appAccess } from './services';

interface TableShape {
  table: string;
  hasUser: boolean;
  hasIp: boolean;
}

/** Security Incident: the scope of a compromise read from the app database, and its evidence copied and held. */
export function createSecurityActivities(deps: Pick<ActivityDeps, 'config' | 'databaseUrl' | 'env' | 'ops' | 'platforms'>) {
  const { withAppDatabase, serviceConfig } = appAccess(deps);
  const vercelProject = (service: string) => {
    const svc = serviceConfig(service);
    if (svc.platform !== 'vercel')
      throw invalidInput(`service: ${svc.name} runs on ${svc.platform}; the firewall API used here is Vercel's`);
    return svc.projectId;
  };
  let cachedStore: Promise<BackupStore> | undefined;
  const store = () => (cachedStore ??= createBackupStore(deps.config.backup.store, deps.env));

  return {
    /** Immediate assessment: the suspect accounts, their rows in each log and audit table of the window, the addresses they used. */
    async securityScope(args: {
      database: string;
      userIds: string[];
      ips: string[];
      since: string;
      tables: string[];
    }): Promise<SecurityScope> {
      return withAppDatabase(args.database, async (db) => {
        const users: SecurityScope['users'] = [];
        if (args.userIds.length && (await shapeOf(db, 'users'))) {
          const { rows } = await db.query<{ r: Record<string, unknown> }>(
            'SELECT to_jsonb(u) AS r FROM users u WHERE u.id::text = ANY ($1) ORDER BY u.id',
            [args.userIds],
          );
          for (const { r } of rows)
            users.push({
              id: String(r.id),
              email: (r.email as string | undefined) ?? null,
              blocked: (r.blocked as boolean | undefined) ?? null,
              lastSignInAt: (r.last_sign_in_at as string | undefined) ?? null,
            });
        }
        const tables: SecurityScope['tables'] = [];
        const addresses = new Set<string>();
        for (const name of args.tables) {
          const shape = await shapeOf(db, name);
          if (!shape) continue;
          const suspect = suspectFilter(shape, args.userIds, args.ips);
          const { rows } = await db.query<{ rows: number; suspect: number }>(
            `SELECT count(*)::int AS rows, count(*) FILTER (WHERE ${suspect.sql})::int AS suspect
             FROM ${shape.table} WHERE created_at >= $1`,
            [args.since, ...suspect.params],
          );
          tables.push({ table: shape.table, rows: rows[0].rows, suspectRows: rows[0].suspect });
          if (shape.hasIp && shape.hasUser && args.userIds.length) {
            const used = await db.query<{ ip: string }>(
              `SELECT DISTINCT host(ip_address) AS ip FROM ${shape.table}
               WHERE created_at >= $1 AND user_id::text = ANY ($2) AND ip_address IS NOT NULL ORDER BY 1`,
              [args.since, args.userIds],
            );
            for (const u of used.rows) addresses.add(u.ip);
          }
        }
        return { users, tables, addresses: [...addresses].sort() };
      });
    },

    /**
     * Evidence preservation: first an open hold on every table (the maintenance cleanup skips held tables), then the
     * window's rows of each copied to the backup store as JSON lines with their SHA-256, and a manifest listing them.
     * A retry rewrites the same objects.
     */
    async preserveEvidence(args: {
      database: string;
      holdId: string;
      incidentId?: string;
      since: string;
      until: string;
      tables: string[];
    }): Promise<{ objects: EvidenceObject[]; manifest: string }> {
      return withAppDatabase(args.database, async (db) => {
        const shapes: TableShape[] = [];
        for (const t of args.tables) {
          const shape = await shapeOf(db, t);
          if (shape) shapes.push(shape);
        }
        for (const s of shapes) {
          await deps.ops.query(
            `INSERT INTO evidence_holds (hold_id, database, table_name, incident_id, reason) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (hold_id, database, table_name) DO NOTHING`,
            [args.holdId, args.database, s.table, args.incidentId ?? null, `security incident evidence since ${args.since}`],
          );
        }
        const s = await store();
        const objects: EvidenceObject[] = [];
        for (const shape of shapes) {
          const { rows } = await db.query<{ line: string }>(
            `SELECT to_jsonb(t)::text AS line FROM ${shape.table} t WHERE created_at >= $1 AND created_at <= $2 ORDER BY created_at, 1`,
            [args.since, args.until],
          );
          const text = rows.map((r) => `${r.line}\n`).join('');
          const key = `${args.database}/evidence/${args.holdId}/${shape.table}.jsonl`;
          await s.putText(key, text);
          objects.push({ table: shape.table, rows: rows.length, sha256: sha256(text), location: s.locate(key) });
          Context.current().heartbeat(shape.table);
        }
        const manifestKey = `${args.database}/evidence/${args.holdId}/manifest.json`;
        await s.putText(
          manifestKey,
          JSON.stringify(
            {
              holdId: args.holdId,
              incidentId: args.incidentId ?? null,
              database: args.database,
              since: args.since,
              until: args.until,
              objects,
            },
            null,
            2,
          ),
        );
        return { objects, manifest: s.locate(manifestKey) };
      });
    },

    /**
     * Containment: a Vercel Firewall deny rule (all hostnames) per address, through the REST API's IP blocking; an
     * address already denied is left as it is, so a retry adds nothing. Returns the rules, for the undo.
     */
    async blockAddresses(args: { service: string; ips: string[]; notes: string }): Promise<{ ip: string; ruleId: string }[]> {
      const projectId = vercelProject(args.service);
      const vercel = requirePlatforms(deps).vercel;
      const denied = async () => (await callPlatform(() => vercel.firewallConfig(projectId))).ips.filter((r) => r.action === 'deny');
      const before = await denied();
      for (const ip of args.ips.filter((a) => !before.some((r) => r.ip === a && r.hostname === '*'))) {
        await callPlatform(() =>
          vercel.updateFirewall(projectId, {
            action: 'ip.insert',
            id: null,
            value: { hostname: '*', ip, action: 'deny', notes: args.notes.slice(0, 500) },
          }),
        );
      }
      const after = await denied();
      return args.ips.map((ip) => {
        const rule = after.find((r) => r.ip === ip && r.hostname === '*');
        if (!rule) throw new Error(`the firewall of ${args.service} does not list the deny rule for ${ip} after adding it`);
        return { ip, ruleId: rule.id };
      });
    },

    /** The undo of blockAddresses: the rules it added are removed (a rule already gone is fine). */
    async unblockAddresses(args: { service: string; ruleIds: string[] }): Promise<{ removed: number }> {
      const projectId = vercelProject(args.service);
      const vercel = requirePlatforms(deps).vercel;
      const present = new Set((await callPlatform(() => vercel.firewallConfig(projectId))).ips.map((r) => r.id));
      let removed = 0;
      for (const id of args.ruleIds.filter((r) => present.has(r))) {
        await callPlatform(() => vercel.updateFirewall(projectId, { action: 'ip.remove', id }));
        removed++;
      }
      return { removed };
    },

    /**
     * Access control in Supabase Auth, read first: which accounts are banned already (those the undo must leave
     * banned) and which ids Supabase Auth does not know (404); with no project URL configured nothing is called.
     */
    async readAuthBans(args: { userIds: string[] }): Promise<{ configured: boolean; banned: string[]; notFound: string[] }> {
      const out = { configured: false, banned: [] as string[], notFound: [] as string[] };
      if (!deps.config.platforms.supabase.projectUrl) return out;
      out.configured = true;
      const supabase = requirePlatforms(deps).supabase;
      for (const userId of args.userIds) {
        const user = await callPlatform(() => unlessUnknown(supabase.getAuthUser(userId)));
        if (!user) out.notFound.push(userId);
        else if (user.banned_until && Date.parse(user.banned_until) > Date.now()) out.banned.push(userId);
      }
      return out;
    },

    /**
     * Each account banned through Supabase Auth's admin API (PUT /auth/v1/admin/users/{id}, ban_duration), so it can
     * neither sign in nor refresh its session; "none" lifts the ban (the undo). Setting the same ban again is
     * harmless, so a retry is safe; an id Supabase Auth does not know (404) is reported, not fatal.
     */
    async setAuthBans(args: {
      userIds: string[];
      banDuration: string;
    }): Promise<{ changed: { userId: string; bannedUntil: string | null }[]; notFound: string[] }> {
      const supabase = requirePlatforms(deps).supabase;
      const out = { changed: [] as { userId: string; bannedUntil: string | null }[], notFound: [] as string[] };
      for (const userId of args.userIds) {
        const user = await callPlatform(() => unlessUnknown(supabase.banAuthUser(userId, args.banDuration)));
        if (user) out.changed.push({ userId, bannedUntil: user.banned_until ?? null });
        else out.notFound.push(userId);
      }
      return out;
    },

    /** The incident is over: the cleanup may delete those rows again. */
    async releaseEvidenceHold(args: { holdId: string }): Promise<{ released: number }> {
      const r = await deps.ops.query('UPDATE evidence_holds SET released_at = now() WHERE hold_id = $1 AND released_at IS NULL', [
        args.holdId,
      ]);
      return { released: r.rowCount ?? 0 };
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The table as PostgreSQL names it and which suspect columns it has; undefined when it does not exist or has no created_at. */
async function shapeOf(db: PgClient, name: string): Promise<TableShape | undefined> {
  const { rows } = await db.query<{ table: string | null; cols: string[] | null }>(
    `SELECT to_regclass($1)::text AS table,
            (SELECT array_agg(attname::text) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped) AS cols`,
    [name],
  );
  const r = rows[0];
  if (!r?.table || !r.cols) return undefined;
  if (name !== 'users' && !r.cols.includes('created_at')) return undefined;
  return { table: r.table, hasUser: r.cols.includes('user_id'), hasIp: r.cols.includes('ip_address') };
}

/** Rows of the suspect accounts or addresses, with parameters from $2 on. */
function suspectFilter(shape: TableShape, userIds: string[], ips: string[]): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (shape.hasUser) parts.push(`user_id::text = ANY ($${params.push(userIds) + 1}::text[])`);
  if (shape.hasIp) parts.push(`host(ip_address) = ANY ($${params.push(ips) + 1}::text[])`);
  return { sql: parts.length ? parts.join(' OR ') : 'false', params };
}

/** A 404 from Supabase Auth's admin API: the id is not one of its users. */
function unlessUnknown<T>(p: Promise<T>): Promise<T | null> {
  return p.catch((err: unknown) => {
    if (err instanceof PlatformError && err.status === 404) return null;
    throw err;
  });
}

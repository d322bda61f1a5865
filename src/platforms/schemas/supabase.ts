import { z } from 'zod';

/** Supabase Management API (contracts/platforms.md). */

export const supabaseError = z.object({ message: z.string() });

/** ACTIVE_HEALTHY, COMING_UP, RESTORING, RESTORE_FAILED, … (open-ended). */
export const supabaseProject = z.object({
  id: z.string().optional(),
  ref: z.string().optional(),
  name: z.string().optional(),
  status: z.string(),
});
export type SupabaseProject = z.infer<typeof supabaseProject>;

export const supabaseHealthServiceName = z.enum(['auth', 'db', 'db_postgres_user', 'pooler', 'realtime', 'rest', 'storage', 'pg_bouncer']);
export type SupabaseHealthServiceName = z.infer<typeof supabaseHealthServiceName>;

export const supabaseServiceHealth = z.object({
  name: z.string(),
  status: z.enum(['COMING_UP', 'ACTIVE_HEALTHY', 'UNHEALTHY']),
  healthy: z.boolean().optional(),
  info: z.unknown().optional(),
  error: z.string().nullish(),
});
export type SupabaseServiceHealth = z.infer<typeof supabaseServiceHealth>;
export const supabaseHealth = z.array(supabaseServiceHealth);

export const supabaseBackup = z.object({
  id: z.union([z.string(), z.number()]).optional(),
  is_physical_backup: z.boolean(),
  status: z.enum(['COMPLETED', 'FAILED', 'PENDING', 'REMOVED', 'ARCHIVED', 'CANCELLED']),
  inserted_at: z.string(),
});

export const supabaseBackups = z.object({
  region: z.string(),
  walg_enabled: z.boolean(),
  pitr_enabled: z.boolean(),
  backups: z.array(supabaseBackup),
  physical_backup_data: z
    .object({ earliest_physical_backup_date_unix: z.number().nullish(), latest_physical_backup_date_unix: z.number().nullish() })
    .optional()
    .default({}),
});
export type SupabaseBackups = z.infer<typeof supabaseBackups>;

export const supabasePitrRestoreBody = z.object({ recovery_time_target_unix: z.number().int().nonnegative() });

export const supabaseQueryBody = z.object({
  query: z.string().min(1),
  parameters: z.array(z.unknown()).optional(),
  read_only: z.boolean().optional(),
});
/** 201, a JSON array of rows. */
export const supabaseQueryResult = z.array(z.record(z.string(), z.unknown()));

export const supabaseFunction = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  status: z.enum(['ACTIVE', 'REMOVED', 'THROTTLED']),
  version: z.number(),
  updated_at: z.union([z.number(), z.string()]).optional(),
});
export type SupabaseFunction = z.infer<typeof supabaseFunction>;
export const supabaseFunctions = z.array(supabaseFunction);

/** GET https://<ref>.supabase.co/auth/v1/health (needs the `apikey` header). */
export const supabaseAuthHealth = z.object({ version: z.string(), name: z.string(), description: z.string().optional() });
export type SupabaseAuthHealth = z.infer<typeof supabaseAuthHealth>;

/** GoTrue's user, as PUT /auth/v1/admin/users/{id} answers it: only what is read here. */
export const supabaseAuthUser = z.object({
  id: z.string(),
  email: z.string().nullish(),
  banned_until: z.string().nullish(),
});
export type SupabaseAuthUser = z.infer<typeof supabaseAuthUser>;

import { FormData } from 'undici';
import type { RunbookConfig } from '../config/schema';
import { notConfigured } from './errors';
import { PlatformHttp, type HttpMethod } from './http';
import { createAppProbe } from './probe';
import {
  supabaseAuthHealth,
  supabaseAuthUser,
  supabaseBackups,
  supabaseFunction,
  supabaseFunctions,
  supabaseHealth,
  supabaseProject,
  supabaseQueryResult,
} from './schemas';
import type { SupabaseClient } from './types';
import { joinUrl } from './urls';

/** Past the Management API's limit every call answers 429 for the rest of the minute. */
const SUPABASE_RATE_WINDOW_MS = 60_000;

export function createSupabaseClient(config: RunbookConfig, env: NodeJS.ProcessEnv): SupabaseClient {
  const cfg = config.platforms.supabase;
  const timeoutMs = config.platforms.requestTimeout;
  const http = new PlatformHttp({
    platform: 'supabase',
    baseUrl: cfg.apiUrl,
    timeoutMs,
    env,
    credential: { env: cfg.tokenEnv, noun: 'access token', header: (token) => ({ authorization: `Bearer ${token}` }) },
    defaultRetryAfterMs: SUPABASE_RATE_WINDOW_MS,
  });
  const gateway = new PlatformHttp({
    platform: 'supabase',
    baseUrl: cfg.projectUrl ?? '',
    timeoutMs,
    env,
    credential: { env: cfg.anonKeyEnv, noun: 'anon key', header: (key) => ({ apikey: key }) },
  });
  // The admin API takes the service_role key both as the gateway's apikey and as the bearer token.
  const admin = new PlatformHttp({
    platform: 'supabase',
    baseUrl: cfg.projectUrl ?? '',
    timeoutMs,
    env,
    credential: {
      env: cfg.serviceRoleKeyEnv,
      noun: 'service_role key',
      header: (key) => ({ apikey: key, authorization: `Bearer ${key}` }),
    },
  });

  const probe = createAppProbe(config, env);
  const needProjectUrl = (endpoint: string): string => {
    if (cfg.projectUrl) return cfg.projectUrl;
    throw notConfigured('supabase', endpoint, 'no project URL: set platforms.supabase.projectUrl in the configuration');
  };
  /** A Management API call on project `ref` (else the configured one): its method, path, {ref} and the resource errors name. */
  const onProject = (ref: string | undefined, method: HttpMethod, path: string) => {
    const r = ref ?? cfg.projectRef;
    if (!r) throw notConfigured('supabase', `${method} ${path}`, 'no project ref: set platforms.supabase.projectRef in the configuration');
    return { method, path, params: { ref: r }, resource: `project ${r}` };
  };

  return {
    async getProject(ref) {
      return http.request({ ...onProject(ref, 'GET', '/v1/projects/{ref}'), schema: supabaseProject });
    },
    async health(services, o = {}) {
      return http.request({
        ...onProject(o.ref, 'GET', '/v1/projects/{ref}/health'),
        query: { services, timeout_ms: o.timeoutMs },
        schema: supabaseHealth,
      });
    },
    async listBackups(ref) {
      return http.request({ ...onProject(ref, 'GET', '/v1/projects/{ref}/database/backups'), schema: supabaseBackups });
    },
    async restorePitr(recoveryTimeTargetUnix, ref) {
      return http.send({
        ...onProject(ref, 'POST', '/v1/projects/{ref}/database/backups/restore-pitr'),
        body: { recovery_time_target_unix: recoveryTimeTargetUnix },
      });
    },
    async query(sql, o = {}) {
      return http.request({
        ...onProject(o.ref, 'POST', '/v1/projects/{ref}/database/query'),
        body: { query: sql, parameters: o.parameters, read_only: o.readOnly },
        schema: supabaseQueryResult,
      });
    },
    async listFunctions(ref) {
      return http.request({ ...onProject(ref, 'GET', '/v1/projects/{ref}/functions'), schema: supabaseFunctions });
    },
    async deployFunction(slug, fn, ref) {
      const call = onProject(ref, 'POST', '/v1/projects/{ref}/functions/deploy');
      const form = new FormData();
      form.append(
        'metadata',
        JSON.stringify({ entrypoint_path: fn.entrypointPath, name: fn.name ?? slug, verify_jwt: fn.verifyJwt ?? true }),
      );
      for (const f of fn.files) form.append('file', new Blob([f.content]), f.name);
      return http.request({
        ...call,
        query: { slug },
        body: form,
        resource: `${call.resource}, function ${slug}`,
        schema: supabaseFunction,
      });
    },
    async authHealth() {
      needProjectUrl('GET /auth/v1/health');
      return gateway.request({ method: 'GET', path: '/auth/v1/health', resource: 'the project API gateway', schema: supabaseAuthHealth });
    },
    async banAuthUser(userId, banDuration) {
      needProjectUrl('PUT /auth/v1/admin/users/{id}');
      return admin.request({
        method: 'PUT',
        path: '/auth/v1/admin/users/{id}',
        params: { id: userId },
        body: { ban_duration: banDuration },
        resource: `Supabase Auth user ${userId}`,
        schema: supabaseAuthUser,
      });
    },
    async getAuthUser(userId) {
      needProjectUrl('GET /auth/v1/admin/users/{id}');
      return admin.request({
        method: 'GET',
        path: '/auth/v1/admin/users/{id}',
        params: { id: userId },
        resource: `Supabase Auth user ${userId}`,
        schema: supabaseAuthUser,
      });
    },
    async edgeFunction(slug) {
      const base = needProjectUrl('GET /functions/v1/{slug}');
      const anonKey = gateway.secret('GET /functions/v1/{slug}');
      // A deliberately invalid JWT: the function's gateway rejecting it proves the backend answers.
      const result = await probe.get(joinUrl(base, `/functions/v1/${encodeURIComponent(slug)}`), {
        apikey: anonKey!,
        authorization: 'Bearer invalid.jwt.probe',
      });
      const up = result.status === 401 || (result.status !== null && result.status >= 200 && result.status < 300);
      return { ...result, up };
    },
  };
}

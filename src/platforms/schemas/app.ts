import { z } from 'zod';

/**
 * The application's own endpoints, per deployment URL (and the production URL).
 * Health follows the first runbook's `/api/health` shape; a degraded answer may omit checks.
 */

export const appCheckStatus = z.enum(['healthy', 'degraded', 'unhealthy']);

const latencyCheck = z.object({ status: appCheckStatus, latency: z.number().optional(), error: z.string().optional() });

export const appHealth = z.object({
  status: appCheckStatus,
  timestamp: z.string().optional(),
  checks: z
    .object({
      database: latencyCheck.optional(),
      /** Per-provider states (openai: "operational", anthropic: "error", …) sit beside `status`. */
      ai_providers: z.looseObject({ status: appCheckStatus, error: z.string().optional() }).optional(),
      storage: latencyCheck.optional(),
    })
    .default({}),
  version: z.string().optional(),
});
export type AppHealth = z.infer<typeof appHealth>;

/** Path of the request-metrics endpoint every deployment serves. */
export const APP_METRICS_PATH = '/api/metrics';

/** GET <deploymentUrl>/api/metrics: request metrics over the app's recent window. */
export const appMetrics = z.object({
  /** Percent of requests answered 5xx, 0–100. */
  errorRate: z.number().min(0).max(100),
  p50Ms: z.number().nonnegative(),
  p95Ms: z.number().nonnegative(),
  p99Ms: z.number().nonnegative(),
  requests: z.number().int().nonnegative(),
});
export type AppMetrics = z.infer<typeof appMetrics>;

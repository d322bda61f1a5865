import { z } from 'zod';

/** PagerDuty Events API v2: POST /v2/enqueue. */

export const pagerdutySeverity = z.enum(['critical', 'error', 'warning', 'info']);
export type PagerdutySeverity = z.infer<typeof pagerdutySeverity>;

export const pagerdutyEventBody = z.object({
  routing_key: z.string().min(1),
  event_action: z.enum(['trigger', 'acknowledge', 'resolve']),
  dedup_key: z.string().min(1).max(255),
  /** Required for trigger only. */
  payload: z
    .object({
      summary: z.string().min(1).max(1024),
      source: z.string().min(1),
      severity: pagerdutySeverity,
      timestamp: z.string().optional(),
      component: z.string().optional(),
      group: z.string().optional(),
      class: z.string().optional(),
      custom_details: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  client: z.string().optional(),
  client_url: z.string().optional(),
  links: z.array(z.object({ href: z.string(), text: z.string().optional() })).optional(),
});
export type PagerdutyEventBody = z.infer<typeof pagerdutyEventBody>;

/** 202. */
export const pagerdutyEventResult = z.object({ status: z.literal('success'), message: z.string(), dedup_key: z.string() });
export type PagerdutyEventResult = z.infer<typeof pagerdutyEventResult>;

/** 400: `{status: "invalid event", message, errors[]}`. */
export const pagerdutyError = z.object({ status: z.string(), message: z.string(), errors: z.array(z.string()).optional() });

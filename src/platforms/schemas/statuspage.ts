import { z } from 'zod';

/** Statuspage format: provider status pages (status.json / summary.json) and the incidents API. */

export const statusIndicator = z.enum(['none', 'minor', 'major', 'critical']);
export type StatusIndicator = z.infer<typeof statusIndicator>;

const page = z.object({ id: z.string(), name: z.string(), url: z.string(), updated_at: z.string() });

/** GET <provider>/api/v2/status.json. `indicator` can stay `none` during a monitoring incident. */
export const providerStatus = z.object({ page, status: z.object({ indicator: statusIndicator, description: z.string() }) });
export type ProviderStatus = z.infer<typeof providerStatus>;

export const componentStatus = z.enum(['operational', 'degraded_performance', 'partial_outage', 'major_outage', 'under_maintenance']);

export const incidentStatus = z.enum([
  'investigating',
  'identified',
  'monitoring',
  'resolved',
  'postmortem',
  'scheduled',
  'in_progress',
  'verifying',
  'completed',
]);
export const incidentImpact = z.enum(['none', 'minor', 'major', 'critical', 'maintenance']);

/** GET <provider>/api/v2/summary.json. */
export const providerSummary = providerStatus.extend({
  components: z.array(z.object({ id: z.string(), name: z.string(), status: componentStatus })).default([]),
  incidents: z
    .array(
      z.object({
        id: z.string(),
        name: z.string(),
        status: incidentStatus,
        impact: incidentImpact.optional(),
        shortlink: z.string().nullish(),
      }),
    )
    .default([]),
});
export type ProviderSummary = z.infer<typeof providerSummary>;

export const statuspageIncidentStatus = z.enum(['investigating', 'identified', 'monitoring', 'resolved']);
export type StatuspageIncidentStatus = z.infer<typeof statuspageIncidentStatus>;

/** Body of POST /pages/{page_id}/incidents and PATCH /pages/{page_id}/incidents/{id} (all optional on PATCH). */
export const statuspageIncidentBody = z.object({
  incident: z.object({
    name: z.string().min(1),
    status: statuspageIncidentStatus,
    impact_override: statusIndicator.optional(),
    body: z.string().optional(),
    component_ids: z.array(z.string()).optional(),
    components: z.record(z.string(), componentStatus).optional(),
    deliver_notifications: z.boolean().optional(),
  }),
});
export const statuspageIncidentPatchBody = z.object({ incident: statuspageIncidentBody.shape.incident.partial() });
export type StatuspageIncidentFields = z.infer<typeof statuspageIncidentBody>['incident'];

/** An incident as the API returns it (create 201, update 200, unresolved list items). */
export const statuspageIncident = z.object({
  id: z.string().min(1),
  name: z.string(),
  status: incidentStatus,
  impact: incidentImpact,
  shortlink: z.string().nullish(),
  created_at: z.string().optional(),
  updated_at: z.string().nullish(),
  resolved_at: z.string().nullish(),
});
export type StatuspageIncident = z.infer<typeof statuspageIncident>;

/** GET /pages/{page_id}/incidents/unresolved. */
export const statuspageIncidentList = z.array(statuspageIncident);

export const statuspageError = z.object({ error: z.union([z.string(), z.array(z.string())]) });

import { defineSignal } from '@temporalio/workflow';
import { z } from 'zod';
import { severity } from '../config/schema';
import type { Alert } from './alerts';

/**
 * Entry point of the `incident` workflow. Alerts always arrive through `alertsSignal` (signal-with-start,
 * so repeats, retries and HA duplicates join the open incident). A person declaring an incident passes `declared`.
 */
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
});
export type IncidentInput = z.input<typeof incidentInput>;

/** New or repeated alerts of this incident, coalesced into one batch by the receiver. */
export const alertsSignal = defineSignal<[Alert[]]>('alerts');

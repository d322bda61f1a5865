import { z } from 'zod';

/** A round trip through the whole stack: worker, activity, ops database. Used by `runbook doctor` and the tests. */
export const selfCheckInput = z.object({
  requestedBy: z.string().min(1).default('cli'),
});
export type SelfCheckInput = z.input<typeof selfCheckInput>;

export interface SelfCheckResult {
  database: string;
  serverVersion: string;
  checkId: number;
}

export const selfCheckWorkflowId = (at: Date) => `self-check-${at.toISOString().replace(/[:.]/g, '-')}`;

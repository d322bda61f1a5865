import { z } from 'zod';
import { invalid, type Normalized } from './common';

export { normalizeAlertmanager, alertmanagerPayload } from './alertmanager';
export { normalizeGrafana, grafanaPayload } from './grafana';
export { normalizeSentry, sentryEventAlertPayload, sentryIssuePayload, sentryDedupKey } from './sentry';
export { normalizeVercel, vercelEnvelope, vercelDeploymentPayload, vercelDedupKey } from './vercel';
export { normalizeGeneric, genericPayload, completeAlert } from './generic';
export type { NormalizeContext, Normalized } from './common';

/**
 * Runs a normalizer; a value that passed the source schema but still cannot form an alert (say, an empty
 * dedup key) is reported like any other bad field instead of escaping as an exception.
 */
export function safely<R extends Normalized>(fn: () => R): R | Normalized {
  try {
    return fn();
  } catch (err) {
    if (err instanceof z.ZodError) return invalid(err.issues);
    throw err;
  }
}

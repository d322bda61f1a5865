import type { ActivityOptions, RetryPolicy } from '@temporalio/common';

/** Retries for platform and database calls: quick at first, capped, and finite. */
export const DEFAULT_RETRY: RetryPolicy = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 };

export interface ProxyTimings {
  /** Calls that answer at once. */
  quickTimeout: ActivityOptions['startToCloseTimeout'];
  /** Calls that poll, stream or run SQL for long, and heartbeat. */
  longTimeout: ActivityOptions['startToCloseTimeout'];
  heartbeatTimeout: ActivityOptions['heartbeatTimeout'];
  retry?: RetryPolicy;
}

/** The two activity option presets every capability uses: `quick` and `long` (heartbeating). */
export function activityPresets(t: ProxyTimings): { quick: ActivityOptions; long: ActivityOptions } {
  const retry = t.retry ?? DEFAULT_RETRY;
  return {
    quick: { startToCloseTimeout: t.quickTimeout, retry },
    long: { startToCloseTimeout: t.longTimeout, heartbeatTimeout: t.heartbeatTimeout, retry },
  };
}

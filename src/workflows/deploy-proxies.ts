import { ActivityFailure, ApplicationFailure, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { createAlertActivities } from '../activities/incident/alerts';
import type { DeployActivities, DeployPlan, PlanOverrides } from '../activities/deploy';
import type { EdgeFunctionActivities } from '../activities/edge-functions';

/** Deploy activities plus the alert path's `raiseAlerts`, which opens incidents. */
type Activities = DeployActivities & EdgeFunctionActivities & Pick<ReturnType<typeof createAlertActivities>, 'raiseAlerts'>;

/** Activity options shared by `deploy` and `rollback`, derived from the plan's durations. */

const RETRY: ActivityOptions['retry'] = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 };

/** What went wrong, without the "Activity task failed" wrapping. */
export function messageOf(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** The service's deployment settings; an unknown service fails the run naming the field, like any bad input. */
export async function loadPlan(service: string, overrides: PlanOverrides, activityTimeout = 30_000): Promise<DeployPlan> {
  try {
    return await proxyActivities<Activities>({ startToCloseTimeout: activityTimeout, retry: RETRY }).deployPlan({ service, overrides });
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'InvalidInput') throw err.cause;
    throw err;
  }
}

export function deployActivities(d: DeployPlan['durations']) {
  // Long activities poll and heartbeat; a dead worker is noticed after one activity timeout.
  const heartbeatTimeout = d.activityTimeout + d.pollInterval;
  return {
    /** Platform calls that answer at once. */
    short: proxyActivities<Activities>({ startToCloseTimeout: d.activityTimeout, retry: RETRY }),
    /** Builds, alias jobs, migrations: they poll (or run SQL) and heartbeat. */
    long: proxyActivities<Activities>({ startToCloseTimeout: d.buildTimeout, heartbeatTimeout, retry: RETRY }),
    /**
     * Watch samples: long enough for the probe's own timeout (a hung app is then observed as
     * unhealthy), and tried twice at most; a sample that still fails is recorded as missing.
     */
    sampler: proxyActivities<Activities>({
      startToCloseTimeout: d.probeTimeout + 5_000,
      retry: { maximumAttempts: 2, initialInterval: '200ms' },
    }),
  };
}

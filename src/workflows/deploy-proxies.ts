import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { createAlertActivities } from '../activities/alerts';
import type { DeployActivities, DeployPlan } from '../activities/deploy';

/** Deploy activities plus the alert path's `raiseAlerts`, which opens incidents. */
type Activities = DeployActivities & Pick<ReturnType<typeof createAlertActivities>, 'raiseAlerts'>;

/** Activity options shared by `deploy` and `rollback`, derived from the plan's durations. */

const RETRY: ActivityOptions['retry'] = { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 };

/** Before the plan is known: only `deployPlan` runs through this. */
export function bootActivities(activityTimeout = 30_000) {
  return proxyActivities<Activities>({ startToCloseTimeout: activityTimeout, retry: RETRY });
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

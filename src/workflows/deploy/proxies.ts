import { proxyActivities } from '@temporalio/workflow';
import type { createAlertActivities } from '../../activities/incident/alerts';
import type { DeployActivities } from '../../activities/deploy';
import { activityPresets, rethrowInvalidInput } from '../common';
import type { DeployPlan, PlanOverrides } from './contract';

/** Deploy activities (Edge Functions included) plus the alert path's `raiseAlerts`, which opens incidents. */
type Activities = DeployActivities & Pick<ReturnType<typeof createAlertActivities>, 'raiseAlerts'>;

/** The service's deployment settings; an unknown service fails the run naming the field, like any bad input. */
export async function loadPlan(service: string, overrides: PlanOverrides, activityTimeout = 30_000): Promise<DeployPlan> {
  const { quick } = activityPresets({ quickTimeout: activityTimeout, longTimeout: activityTimeout, heartbeatTimeout: activityTimeout });
  try {
    return await proxyActivities<Activities>(quick).deployPlan({ service, overrides });
  } catch (err) {
    rethrowInvalidInput(err);
  }
}

/** Activity options shared by `deploy` and `rollback`, derived from the plan's durations. */
export function deployActivities(d: DeployPlan['durations']) {
  // Long activities poll and heartbeat; a dead worker is noticed after one activity timeout.
  const presets = activityPresets({
    quickTimeout: d.activityTimeout,
    longTimeout: d.buildTimeout,
    heartbeatTimeout: d.activityTimeout + d.pollInterval,
  });
  return {
    /** Platform calls that answer at once. */
    quick: proxyActivities<Activities>(presets.quick),
    /** Builds, alias jobs, migrations: they poll (or run SQL) and heartbeat. */
    long: proxyActivities<Activities>(presets.long),
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

export type DeployProxies = ReturnType<typeof deployActivities>;

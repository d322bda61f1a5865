import { proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { createAlertActivities } from '../../activities/incident/alerts';
import type { BackupActivities } from '../../activities/backup';
import { activityPresets } from '../common';
import type { BackupPlan } from './contract';

/** Backup activities plus the alert path's `raiseAlerts`, which opens incidents. */
type Activities = BackupActivities & Pick<ReturnType<typeof createAlertActivities>, 'raiseAlerts'>;

/** Catalogue, plan and notice calls answer at once; a briefly unreachable ops database gets five tries. */
const QUICK_RETRY: RetryPolicy = { maximumAttempts: 5 };
/** Each retry of a transfer starts the whole dump or restore over, so fewer and slower ones. */
const TRANSFER_RETRY: RetryPolicy = { initialInterval: '5s', backoffCoefficient: 2, maximumAttempts: 4 };

export const quick = proxyActivities<Activities>(
  activityPresets({ quickTimeout: '2m', longTimeout: '24h', heartbeatTimeout: '1m', retry: QUICK_RETRY }).quick,
);

/**
 * The data-moving activities (dump, read, restore). They run on `backup.transferTaskQueue` when the
 * configuration names one (a lean worker next to the database, `npm run worker:backup`), else here.
 * Returned from a plain function: an async one would make `await` probe the proxy for `then`.
 */
export function transfers(plan: BackupPlan, heartbeatTimeout: number) {
  const { long } = activityPresets({ quickTimeout: '2m', longTimeout: '24h', heartbeatTimeout, retry: TRANSFER_RETRY });
  return proxyActivities<Activities>({ ...long, ...(plan.transferTaskQueue ? { taskQueue: plan.transferTaskQueue } : {}) });
}

/** Waiting on Supabase while a point-in-time restore runs: outlives the wait, heartbeats every poll. */
export function long(p: { waitTimeout: number; pollInterval: number }) {
  const presets = activityPresets({
    quickTimeout: '2m',
    longTimeout: p.waitTimeout + 300_000,
    heartbeatTimeout: p.pollInterval + 60_000,
    retry: { initialInterval: '5s', maximumAttempts: 5 },
  });
  return proxyActivities<Activities>(presets.long);
}

import { setTimeout as delay } from 'node:timers/promises';
import { currentActivity } from './activity-context';
import { PlatformError, type PlatformName } from './errors';
import type { PollOptions } from './types';

/**
 * Polls `read` until `done`. Inside an activity it heartbeats each observation (set a heartbeatTimeout)
 * and stops at once on cancellation; outside one it just waits. Failed reads throw, so Temporal's
 * retry policy (not this loop) deals with outages.
 */
export async function pollUntil<T>(
  what: { platform: PlatformName; endpoint: string; description: string },
  read: () => Promise<T>,
  done: (value: T) => boolean,
  opts: PollOptions,
  progress: (value: T) => unknown = (v) => v,
): Promise<T> {
  const activity = currentActivity();
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    activity?.heartbeat(progress(value));
    if (opts.timeoutMs !== undefined && Date.now() - started + opts.intervalMs > opts.timeoutMs) {
      throw new PlatformError({
        ...what,
        kind: 'unavailable',
        retryable: true,
        hint: `${what.description} did not finish within ${opts.timeoutMs} ms`,
      });
    }
    if (activity) await activity.sleep(opts.intervalMs);
    else await delay(opts.intervalMs);
  }
}

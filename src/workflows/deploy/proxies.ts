import { log, patched, proxyActivities } from '@temporalio/workflow';
import type { createAlertActivities } from '../../activities/incident/alerts';
import type { DeployActivities } from '../../activities/deploy';
import { activityPresets, messageOf, rethrowInvalidInput } from '../common';
import { CHAT_CHANNELS, type DeployPlan, type PlanOverrides } from './contract';

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

/** Runs started before notices went out one activity per channel replay the single notifyChat activity. */
export const CHAT_PER_CHANNEL_PATCH = 'chat-notice-per-channel';

/**
 * One chat notice, one activity per channel: a Telegram post that fails and is retried never posts to Slack again.
 * Resolves with the channels that took it; rejects only when every configured channel failed.
 */
export async function notifyChat(quick: DeployProxies['quick'], text: string): Promise<{ channels: string[] }> {
  if (!patched(CHAT_PER_CHANNEL_PATCH)) return quick.notifyChat({ text });
  const outcomes = await Promise.allSettled(CHAT_CHANNELS.map((channel) => quick.notifyChatChannel({ channel, text })));
  const channels = CHAT_CHANNELS.filter((_, i) => {
    const o = outcomes[i];
    return o.status === 'fulfilled' && o.value.posted;
  });
  const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ channel: CHAT_CHANNELS[i], error: o.reason as unknown }] : []));
  if (failed.length && !channels.length) throw failed[0].error;
  for (const f of failed) log.warn('chat notice failed on one channel', { channel: f.channel, error: messageOf(f.error) });
  return { channels: [...channels] };
}

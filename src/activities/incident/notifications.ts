import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Severity } from '../../config/schema';
import { callPlatform } from '../../platforms/activity-errors';
import type { PagerdutySeverity } from '../../platforms/schemas';
import { retryWhileConnectionLost } from '../../db/connect';
import { invalidInput } from '../../workflows/common';
import { requirePlatforms, type ActivityDeps } from '../deps';

/** How long a claim may belong to a live attempt: the activity's own timeout (a minute outside an activity). */
function activityTimeoutMs(): number {
  try {
    return Context.current().info.startToCloseTimeoutMs || 60_000;
  } catch {
    return 60_000;
  }
}

const STATUSPAGE_IMPACT: Record<Severity, 'critical' | 'major' | 'minor' | 'none'> = {
  P0: 'critical',
  P1: 'major',
  P2: 'minor',
  P3: 'none',
};

/** Paging (PagerDuty), chat (Slack, Telegram) and the status page. */
export function createNotificationActivities(deps: Pick<ActivityDeps, 'config' | 'ops' | 'platforms'>) {
  const platforms = () => requirePlatforms(deps);

  /**
   * Runs `fn` once per effect id. The intent is claimed first (one row per effect id, an idempotency key), then
   * the call is made, then the row is marked done; a call that fails releases its claim so a retry tries again.
   * - A done effect is not made again (a retry after the call succeeded).
   * - A claim younger than the activity's timeout belongs to an attempt that may still be running: this attempt
   *   fails (retryably) instead of making the call beside it.
   * - An older claim was left by an attempt that died between claiming and recording: whether its call went
   *   out is unknown. `ifUnknown` says what to do: `repeat` for calls the platform deduplicates (PagerDuty's
   *   dedup_key), a `check` that looks on the platform (find before post), else `skip`: the effect is recorded
   *   as uncertain and not made twice.
   */
  async function once<T>(
    effectId: string,
    incidentId: string,
    kind: string,
    fn: () => Promise<T>,
    ifUnknown: 'repeat' | 'skip' | { check: () => Promise<boolean> },
  ): Promise<T | undefined> {
    const claim = randomUUID();
    const leaseMs = activityTimeoutMs();
    const { rows } = await deps.ops.query<{ fresh: boolean }>(
      `INSERT INTO incident_side_effects AS e (effect_id, incident_id, kind, claim, claimed_at, done_at) VALUES ($1, $2, $3, $4, now(), NULL)
       ON CONFLICT (effect_id) DO UPDATE
         SET claim = EXCLUDED.claim, claimed_at = now()
         WHERE e.done_at IS NULL AND e.claimed_at < now() - $5 * interval '1 millisecond'
       RETURNING (xmax = 0) AS fresh`,
      [effectId, incidentId, kind, claim, leaseMs],
    );
    // No row back: the effect is done, or claimed by an attempt that may still be running. xmax = 0: inserted
    // now; otherwise a stale claim was taken over.
    const ours = rows[0];
    if (!ours) {
      const { rows: seen } = await deps.ops.query<{ done: boolean }>(
        'SELECT done_at IS NOT NULL AS done FROM incident_side_effects WHERE effect_id = $1',
        [effectId],
      );
      if (seen[0]?.done) return undefined;
      throw ApplicationFailure.retryable(`${kind} ${effectId} is being made by another attempt`, 'SideEffectInProgress');
    }
    // Recording what was made outlasts a short outage of the ops database: an effect made but not recorded
    // holds its claim until the lease runs out, and every retry until then fails as "in progress".
    const finish = (outcome: 'done' | 'uncertain', result: unknown) =>
      retryWhileConnectionLost(() =>
        deps.ops.query(`UPDATE incident_side_effects SET done_at = now(), outcome = $3, result = $4 WHERE effect_id = $1 AND claim = $2`, [
          effectId,
          claim,
          outcome,
          JSON.stringify(result ?? null),
        ]),
      );
    if (!ours.fresh && ifUnknown !== 'repeat') {
      // Taken over from an attempt that died mid-call.
      const happened = ifUnknown === 'skip' ? undefined : await ifUnknown.check();
      if (happened !== false) {
        // Recorded as uncertain (the ops database keeps which effects may be missing), never made twice.
        await finish(happened ? 'done' : 'uncertain', null);
        return undefined;
      }
    }
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await retryWhileConnectionLost(() =>
        deps.ops.query('DELETE FROM incident_side_effects WHERE effect_id = $1 AND claim = $2 AND done_at IS NULL', [effectId, claim]),
      ).catch(() => undefined);
      throw err;
    }
    await finish('done', result);
    return result;
  }

  return {
    /** PagerDuty trigger for one on-call level, dedup_key = incident id, with that level's routing key. */
    async pageOnCall(args: {
      chainId: string;
      pageNo: number;
      incidentId: string;
      level: number;
      summary: string;
      severity: PagerdutySeverity;
      service: string;
      details: Record<string, unknown>;
    }): Promise<{ level: string }> {
      const level = deps.config.oncall.levels[args.level];
      if (!level) throw invalidInput(`no on-call level ${args.level} (oncall.levels has ${deps.config.oncall.levels.length})`);
      const pd = platforms().pagerduty;
      await once(
        `${args.chainId}:page:${args.pageNo}`,
        args.chainId,
        'page',
        () =>
          callPlatform(() =>
            pd.trigger({
              dedupKey: args.incidentId,
              summary: args.summary,
              source: args.service,
              severity: args.severity,
              component: args.service,
              group: level.name,
              class: 'incident',
              customDetails: args.details,
              ...(level.pagerdutyRoutingKeyEnv ? { routingKeyEnv: level.pagerdutyRoutingKeyEnv } : {}),
            }),
          ),
        // PagerDuty deduplicates a trigger by dedup_key: repeating one whose fate is unknown pages nobody twice.
        'repeat',
      );
      return { level: level.name };
    },

    /** PagerDuty acknowledge or resolve on every routing key the incident paged. */
    async pagerdutyEvent(args: {
      chainId: string;
      incidentId: string;
      action: 'acknowledge' | 'resolve';
      levels: number[];
      effect: string;
    }): Promise<void> {
      const pd = platforms().pagerduty;
      const keyEnvs = [...new Set(args.levels.map((l) => deps.config.oncall.levels[l]?.pagerdutyRoutingKeyEnv))];
      for (const keyEnv of keyEnvs) {
        await once(
          `${args.chainId}:${args.effect}:${keyEnv ?? 'default'}`,
          args.chainId,
          `pagerduty-${args.action}`,
          () =>
            callPlatform(() =>
              args.action === 'acknowledge' ? pd.acknowledge(args.incidentId, keyEnv) : pd.resolve(args.incidentId, keyEnv),
            ),
          'repeat',
        );
      }
    },

    /** Posts to every configured chat (Slack incoming webhook, Telegram). */
    async postToChat(args: { chainId: string; effect: string; text: string }): Promise<{ channels: string[] }> {
      const { slack, telegram } = platforms();
      const channels: string[] = [];
      if (slack.configured) {
        // Neither Slack's webhook nor Telegram can be asked what was posted: a post of unknown fate is not repeated.
        await once(
          `${args.chainId}:${args.effect}:slack`,
          args.chainId,
          'chat',
          () => callPlatform(() => slack.post({ text: args.text })),
          'skip',
        );
        channels.push('Slack');
      }
      if (telegram.configured) {
        await once(
          `${args.chainId}:${args.effect}:telegram`,
          args.chainId,
          'chat',
          () => callPlatform(() => telegram.sendMessage(args.text)),
          'skip',
        );
        channels.push('Telegram');
      }
      if (!channels.length) throw invalidInput('no chat configured (notifications.slack / notifications.telegram)');
      return { channels };
    },

    /** Finds the incident's status page incident among the unresolved ones, or creates it: never two per incident. */
    async openStatuspage(args: {
      incidentId: string;
      title: string;
      severity: Severity;
      body: string;
    }): Promise<{ id: string; status: string; shortlink?: string }> {
      const sp = platforms().statuspage;
      const componentIds = deps.config.notifications.statuspage?.componentIds ?? [];
      const { incident } = await callPlatform(() =>
        sp.findOrCreateIncident({
          identity: args.incidentId,
          name: args.title.slice(0, 200),
          status: 'investigating',
          impact_override: STATUSPAGE_IMPACT[args.severity],
          body: args.body,
          deliver_notifications: true,
          ...(componentIds.length ? { component_ids: componentIds } : {}),
        }),
      );
      return { id: incident.id, status: incident.status, ...(incident.shortlink ? { shortlink: incident.shortlink } : {}) };
    },

    /**
     * Moves the status page incident to `status` with an update, once: the incident is read first and left alone
     * when it already has that status (a retry after the update landed), and with `chainId`/`effect` the update
     * is claimed like a chat post, so an overlapping attempt does not post it beside this one.
     */
    async updateStatuspage(args: {
      statuspageId: string;
      status: 'investigating' | 'identified' | 'monitoring' | 'resolved';
      body: string;
      chainId?: string;
      effect?: string;
    }): Promise<{ status: string }> {
      const sp = platforms().statuspage;
      const already = async () => (await callPlatform(() => sp.getIncident(args.statuspageId))).status === args.status;
      const update = async () => {
        if (await already()) return;
        await callPlatform(() => sp.updateIncident(args.statuspageId, { status: args.status, body: args.body }));
      };
      if (args.chainId && args.effect) await once(`${args.chainId}:${args.effect}`, args.chainId, 'statuspage', update, { check: already });
      else await update();
      return { status: args.status };
    },
  };
}

import type { Severity } from '../../config/schema';
import { callPlatform } from '../../platforms/activity-errors';
import type { PagerdutySeverity } from '../../platforms/schemas';
import { invalidInput } from '../../workflows/common';
import { requirePlatforms, type ActivityDeps } from '../deps';

const STATUSPAGE_IMPACT: Record<Severity, 'critical' | 'major' | 'minor' | 'none'> = {
  P0: 'critical',
  P1: 'major',
  P2: 'minor',
  P3: 'none',
};

/** Paging (PagerDuty), chat (Slack, Telegram) and the status page. */
export function createNotificationActivities(deps: Pick<ActivityDeps, 'config' | 'ops' | 'platforms'>) {
  const platforms = () => requirePlatforms(deps);

  /** Runs `fn` once per effect id: a retry after the call succeeded does not page or post again. */
  async function once<T>(effectId: string, incidentId: string, kind: string, fn: () => Promise<T>): Promise<T | undefined> {
    const done = await deps.ops.query('SELECT 1 FROM incident_side_effects WHERE effect_id = $1', [effectId]);
    if (done.rowCount) return undefined;
    const result = await fn();
    await deps.ops.query(
      `INSERT INTO incident_side_effects (effect_id, incident_id, kind, result) VALUES ($1, $2, $3, $4) ON CONFLICT (effect_id) DO NOTHING`,
      [effectId, incidentId, kind, JSON.stringify(result ?? null)],
    );
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
      await once(`${args.chainId}:page:${args.pageNo}`, args.chainId, 'page', () =>
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
        await once(`${args.chainId}:${args.effect}:${keyEnv ?? 'default'}`, args.chainId, `pagerduty-${args.action}`, () =>
          callPlatform(() =>
            args.action === 'acknowledge' ? pd.acknowledge(args.incidentId, keyEnv) : pd.resolve(args.incidentId, keyEnv),
          ),
        );
      }
    },

    /** Posts to every configured chat (Slack incoming webhook, Telegram). */
    async postToChat(args: { chainId: string; effect: string; text: string }): Promise<{ channels: string[] }> {
      const { slack, telegram } = platforms();
      const channels: string[] = [];
      if (slack.configured) {
        await once(`${args.chainId}:${args.effect}:slack`, args.chainId, 'chat', () => callPlatform(() => slack.post({ text: args.text })));
        channels.push('Slack');
      }
      if (telegram.configured) {
        await once(`${args.chainId}:${args.effect}:telegram`, args.chainId, 'chat', () =>
          callPlatform(() => telegram.sendMessage(args.text)),
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

    async updateStatuspage(args: {
      statuspageId: string;
      status: 'investigating' | 'identified' | 'monitoring' | 'resolved';
      body: string;
    }): Promise<{ status: string }> {
      const sp = platforms().statuspage;
      const incident = await callPlatform(() => sp.updateIncident(args.statuspageId, { status: args.status, body: args.body }));
      return { status: incident.status };
    },
  };
}

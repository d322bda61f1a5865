import type { RunbookConfig } from '../config/schema';
import { notConfigured } from './errors';
import { PlatformHttp } from './http';
import { pagerdutyEventResult, type PagerdutyEventBody } from './schemas';
import type { PagerdutyClient } from './types';

const ENDPOINT = 'POST /v2/enqueue';

export function createPagerdutyClient(config: RunbookConfig, env: NodeJS.ProcessEnv): PagerdutyClient {
  const url = new URL(config.platforms.pagerduty.eventsUrl);
  const http = new PlatformHttp({ platform: 'pagerduty', baseUrl: url.origin, timeoutMs: config.platforms.requestTimeout, env });
  const defaultKeyEnv = config.oncall.levels.find((l) => l.pagerdutyRoutingKeyEnv)?.pagerdutyRoutingKeyEnv;

  const routing = (keyEnv: string | undefined) => {
    const name = keyEnv ?? defaultKeyEnv;
    if (!name) throw notConfigured('pagerduty', ENDPOINT, 'no routing key: set oncall.levels[].pagerdutyRoutingKeyEnv');
    const credential = { env: name, noun: 'routing key' };
    return { ...credential, value: http.secret(ENDPOINT, credential)! };
  };

  const enqueue = async (event: Omit<PagerdutyEventBody, 'routing_key'>, keyEnv: string | undefined) => {
    const credential = routing(keyEnv);
    return http.request({
      method: 'POST',
      path: url.pathname,
      body: { routing_key: credential.value, ...event },
      credential,
      resource: `alert ${event.dedup_key}`,
      hints: { 400: `the event was rejected as invalid; check the routing key in ${credential.env} and the event fields` },
      schema: pagerdutyEventResult,
    });
  };

  return {
    configured: defaultKeyEnv !== undefined,
    trigger: (e) =>
      enqueue(
        {
          event_action: 'trigger',
          dedup_key: e.dedupKey,
          payload: {
            summary: e.summary.slice(0, 1024),
            source: e.source,
            severity: e.severity,
            timestamp: new Date().toISOString(),
            component: e.component,
            group: e.group,
            class: e.class,
            custom_details: e.customDetails,
          },
          client: 'durable-runbooks',
          links: e.links,
        },
        e.routingKeyEnv,
      ),
    acknowledge: (dedupKey, keyEnv) => enqueue({ event_action: 'acknowledge', dedup_key: dedupKey }, keyEnv),
    resolve: (dedupKey, keyEnv) => enqueue({ event_action: 'resolve', dedup_key: dedupKey }, keyEnv),
  };
}

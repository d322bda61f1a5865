import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_SENTRY_SECRET, BENCH_TOKEN } from './config';

/**
 * The storms that really happen, as request bodies built before the clock starts.
 * - grouped: a cascading failure; each group's alerts arrive one after another, every one new.
 * - ha: a long-running outage; the groups' alerts were already accepted, and Alertmanager's repeat_interval
 *   resends each group round-robin, from both members of an HA pair (two externalURLs).
 * - distinct: every delivery a new alert, groups shuffled.
 * - sentry: one issue, a new event (new event_id) each delivery.
 */
export const SHAPES = ['grouped', 'ha', 'distinct', 'sentry'] as const;
export type Shape = (typeof SHAPES)[number];

export interface Planned {
  path: string;
  headers: Record<string, string>;
  body: string;
  alerts: number;
  /** The fingerprints it carries, for the lost-alert count. */
  fingerprints: string[];
}

export interface ShapeOptions {
  shape: Shape;
  /** Deliveries (POSTs) in the storm. */
  deliveries: number;
  groups: number;
  /** Alerts per group in the `ha` shape (each delivery carries the whole group, as Alertmanager does). */
  groupSize: number;
  /** Prefix that keeps each storm's groups (and so its incidents) apart. */
  run: string;
}

export interface Storm {
  /** Deliveries sent before the measured storm (the alerts the `ha` storm repeats), answered before the clock starts. */
  prime: Planned[];
  storm: Planned[];
  /** Incidents the storm must open, exactly. */
  incidents: number;
  /** Workflow id prefix of the storm's incidents. */
  prefix: string;
}

/** The workflow id prefix of one storm's incidents. */
export const incidentPrefix = (run: string) => `incident-alertmanager-run-${run.toLowerCase()}-`;

export const amHeaders = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKEN}` };
/** Workflow ids are slugs of the dedup key: `alertmanager:{}:{run="<run>", …}` → `incident-alertmanager-run-<run>-…`. */
export const groupKey = (run: string, g: number) => `{}:{run="${run}", alertname="StormGroup${g}"}`;

/** One alert of a notification: its fingerprint and the node it fires on. */
export interface AmAlert {
  fingerprint: string;
  node: string;
}

/** The body of an Alertmanager notification of group `g` of a run, firing `alerts`, as the HA member `peer` sends it. */
export function amNotification(
  run: string,
  g: number,
  alerts: AmAlert[],
  o: { startsAt: string; peer: string; severity?: string },
): string {
  const alertname = `StormGroup${g}`;
  const severity = o.severity ?? 'warning';
  return JSON.stringify({
    version: '4',
    groupKey: groupKey(run, g),
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'durable-runbooks',
    groupLabels: { alertname },
    commonLabels: { alertname, job: 'node', service: 'javari-web', severity },
    commonAnnotations: {},
    externalURL: o.peer,
    alerts: alerts.map(({ fingerprint, node }) => ({
      status: 'firing',
      labels: { alertname, instance: `${node}.bench:9100`, job: 'node', service: 'javari-web', severity },
      annotations: { summary: `${alertname}: ${node} unhealthy`, description: 'Synthetic alert of the alert-storm benchmark.' },
      startsAt: o.startsAt,
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.bench:9090/graph?g0.expr=up%3D%3D0',
      fingerprint,
    })),
  });
}

function amDelivery(run: string, g: number, alerts: number[], startsAt: string, peer: string): Planned {
  const members = alerts.map((j) => ({ fingerprint: `${run}.${g}.${j}`, node: `node-${j}` }));
  return {
    path: '/webhooks/alertmanager',
    headers: amHeaders,
    alerts: alerts.length,
    fingerprints: members.map((m) => m.fingerprint),
    body: amNotification(run, g, members, { startsAt, peer }),
  };
}

const PEERS = ['http://alertmanager-0.bench:9093', 'http://alertmanager-1.bench:9093'];

function shuffle<T>(xs: T[]): T[] {
  let seed = 42;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

let sentryTemplate: { data: { event: Record<string, unknown> } } | undefined;

function sentryDelivery(issueId: string, eventId: string): Planned {
  sentryTemplate ??= JSON.parse(
    readFileSync(path.join(__dirname, '..', '..', 'test', 'receiver', 'fixtures', 'sentry-event-alert.json'), 'utf8'),
  ) as { data: { event: Record<string, unknown> } };
  const body = structuredClone(sentryTemplate);
  Object.assign(body.data.event, {
    event_id: eventId,
    issue_id: issueId,
    datetime: new Date().toISOString(),
    tags: [
      ['environment', 'production'],
      ['level', 'warning'],
      ['service', 'javari-web'],
    ],
    level: 'warning',
  });
  const raw = JSON.stringify(body);
  return {
    path: '/webhooks/sentry',
    headers: {
      'content-type': 'application/json',
      'sentry-hook-resource': 'event_alert',
      'sentry-hook-timestamp': String(Math.floor(Date.now() / 1000)),
      'request-id': eventId,
      'sentry-hook-signature': createHmac('sha256', BENCH_SENTRY_SECRET).update(raw).digest('hex'),
    },
    body: raw,
    alerts: 1,
    fingerprints: [`sentry:issue:${issueId}`],
  };
}

/** The deliveries of one storm of `shape`. */
export function buildStorm(o: ShapeOptions): Storm {
  const startsAt = new Date().toISOString();
  const prefix = incidentPrefix(o.run);
  switch (o.shape) {
    case 'grouped':
    case 'distinct': {
      const out: Planned[] = [];
      for (let g = 0; g < o.groups; g++) {
        const count = Math.floor(o.deliveries / o.groups) + (g < o.deliveries % o.groups ? 1 : 0);
        for (let j = 0; j < count; j++) out.push(amDelivery(o.run, g, [j], startsAt, PEERS[0]));
      }
      return { prime: [], storm: o.shape === 'distinct' ? shuffle(out) : out, incidents: o.groups, prefix };
    }
    case 'ha': {
      const members = Array.from({ length: o.groupSize }, (_, j) => j);
      const prime = Array.from({ length: o.groups }, (_, g) => amDelivery(o.run, g, members, startsAt, PEERS[0]));
      const storm: Planned[] = [];
      for (let i = 0; i < o.deliveries; i++) {
        // Round-robin over the groups; each notification sent by both peers, one after the other.
        const g = Math.floor(i / 2) % o.groups;
        storm.push(amDelivery(o.run, g, members, startsAt, PEERS[i % 2]));
      }
      return { prime, storm, incidents: o.groups, prefix };
    }
    case 'sentry': {
      const issueId = `${Date.now()}${randomBytes(2).readUInt16BE()}`;
      const storm = Array.from({ length: o.deliveries }, () => sentryDelivery(issueId, randomBytes(16).toString('hex')));
      return { prime: [], storm, incidents: 1, prefix: `incident-sentry-issue-${issueId}-` };
    }
  }
}

/**
 * The webhook receiver against the run's real Temporal server: every source format opens or joins the right
 * incident, bad requests are refused with a reason and start nothing, and 202 only ever means "recorded".
 */
import type { Client, Connection } from '@temporalio/client';
import { request } from 'undici';
import { startReceiver, type StartedReceiver } from '../../src/receiver/server';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';
import { RunbookKind, RunbookService, RunbookSeverity, RunbookStatus } from '../../src/workflows/common/search-attributes';
import { testClient, uniqueName } from '../harness';
import {
  bearer,
  env,
  fixture,
  post,
  receiverConfig,
  runsOf,
  sentryHeaders,
  signalledAlerts,
  unreachableClient,
  vercelFixture,
  vercelHeaders,
  workflowExists,
} from './helpers';

type AmPayload = {
  groupKey: string;
  alerts: { status: string; fingerprint: string; labels: Record<string, string> }[];
  [k: string]: unknown;
};
type SentryPayload = { data: { event: { issue_id: string; [k: string]: unknown } } };
type VercelPayload = { id: string; type: string; payload: { project: { id: string }; [k: string]: unknown } };

let client: Client;
let connection: Connection;
let rcv: StartedReceiver;
const config = receiverConfig();

beforeAll(async () => {
  ({ client, connection } = await testClient());
  rcv = await startReceiver({ config, client, env, port: 0, host: '127.0.0.1', deliveryJournal: null });
});
afterAll(async () => {
  await rcv?.stop();
  await connection?.close();
});

const at = (path: string) => `${rcv.url}${path}`;

/** The Alertmanager fixture under a group key no other test uses. */
function amPayload(name = 'alertmanager-firing'): AmPayload {
  const p = fixture<AmPayload>(name);
  p.groupKey = `${p.groupKey}{run="${uniqueName('g')}"}`;
  return p;
}

describe('each source opens its incident, answered 202 only once Temporal has the alerts', () => {
  test('Alertmanager v4: keyed on groupKey, one alert per fingerprint', async () => {
    const body = amPayload();
    const res = await post(at('/webhooks/alertmanager'), body, bearer());
    const id = incidentWorkflowId(`alertmanager:${body.groupKey}`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ incidents: [id], accepted: 2 });

    const desc = await client.workflow.getHandle(id).describe();
    expect(desc.type).toBe('incident');
    expect(desc.taskQueue).toBe(config.temporal.taskQueue);
    expect(desc.typedSearchAttributes.get(RunbookKind)).toBe('incident');
    expect(desc.typedSearchAttributes.get(RunbookStatus)).toBe('open');
    expect(desc.typedSearchAttributes.get(RunbookService)).toBe('javari-web');
    // severity=critical maps to P0 under the example config, findable before the workflow ever runs
    expect(desc.typedSearchAttributes.get(RunbookSeverity)).toBe('P0');
    expect(await desc.staticSummary()).toBe('Incident P0: API error rate above 5% for 5 minutes');
    const [batch, ...rest] = await signalledAlerts(client, id);
    expect(rest).toHaveLength(0);
    expect(batch.map((a) => a.fingerprint)).toEqual(['5f1b2c3d4e5f6a7b', 'a9b8c7d6e5f40312']);
    expect(batch[0]).toMatchObject({
      source: 'alertmanager',
      dedupKey: `alertmanager:${body.groupKey}`,
      status: 'firing',
      service: 'javari-web',
      summary: 'API error rate above 5% for 5 minutes',
      customerFacing: true,
      startsAt: '2025-11-20T14:02:31.417Z',
      labels: expect.objectContaining({ severity: 'critical', instance: 'api-1.javariai.com:443' }),
    });
    expect(batch[0].url).toContain('http://prometheus.internal:9090/graph');
    expect(batch[0].endsAt).toBeUndefined();
  });

  test('Grafana: version 1 envelope, panel link and query values kept', async () => {
    const body = fixture<AmPayload & { orgId: number }>('grafana-firing');
    body.groupKey = `${body.groupKey}{run="${uniqueName('g')}"}`;
    const res = await post(at('/webhooks/grafana'), body, bearer());
    const id = incidentWorkflowId(`grafana:1:${body.groupKey}`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ incidents: [id], accepted: 1 });
    const [[alert]] = await signalledAlerts(client, id);
    expect(alert).toMatchObject({
      source: 'grafana',
      fingerprint: 'c4d2f8e1a7b3906d',
      service: 'javari-db',
      summary: 'Database connections above 70% of the pool',
      url: 'https://grafana.javariai.com/d/supabase-db?orgId=1&viewPanel=4',
    });
    expect(alert.description).toContain('141 of 200 connections');
    expect(alert.description).toContain('Values: B=141, C=1');
  });

  test('Sentry event alert: HMAC-SHA256 verified, keyed on issue_id', async () => {
    const body = fixture<SentryPayload>('sentry-event-alert');
    const issue = String(Date.now()) + String(Math.floor(Math.random() * 1000));
    body.data.event.issue_id = issue;
    const raw = JSON.stringify(body);
    const res = await post(at('/webhooks/sentry'), raw, sentryHeaders(raw));
    const id = incidentWorkflowId(`sentry:issue:${issue}`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ incidents: [id], accepted: 1 });
    const [[alert]] = await signalledAlerts(client, id);
    expect(alert).toMatchObject({
      source: 'sentry',
      status: 'firing',
      service: 'javari-web',
      summary: "TypeError: Cannot read properties of undefined (reading 'choices')",
      url: expect.stringContaining('https://sentry.io/organizations/javari/issues/5123456789/'),
      labels: expect.objectContaining({
        severity: 'error',
        environment: 'production',
        alertname: 'New errors in production',
        issue_id: issue,
      }),
    });

    // Sentry resolving the issue resolves its alert in the same incident.
    const resolved = fixture<{ data: { issue: { id: string } } }>('sentry-issue-resolved');
    resolved.data.issue.id = issue;
    const raw2 = JSON.stringify(resolved);
    const res2 = await post(at('/webhooks/sentry'), raw2, sentryHeaders(raw2, 'issue'));
    expect(res2.status).toBe(202);
    expect(res2.body.incidents).toEqual([id]);
    const batches = await signalledAlerts(client, id);
    expect(batches.map((b) => b.map((a) => a.status))).toEqual([['firing'], ['resolved']]);
  });

  test('Vercel: HMAC-SHA1 verified, keyed on project + event; a later success resolves; replays are ignored', async () => {
    const project = uniqueName('prj');
    const failed = vercelFixture<VercelPayload>('vercel-deployment-error');
    failed.id = uniqueName('dlv');
    failed.payload.project.id = project;
    const raw = JSON.stringify(failed);
    const res = await post(at('/webhooks/vercel'), raw, vercelHeaders(raw));
    const id = incidentWorkflowId(`vercel:${project}:deployment.error`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ incidents: [id], accepted: 1 });

    const replay = await post(at('/webhooks/vercel'), raw, vercelHeaders(raw));
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ accepted: 0, ignored: expect.stringContaining(failed.id) });

    const ok = vercelFixture<VercelPayload>('vercel-deployment-succeeded');
    ok.id = uniqueName('dlv');
    ok.payload.project.id = project;
    const raw2 = JSON.stringify(ok);
    const res2 = await post(at('/webhooks/vercel'), raw2, vercelHeaders(raw2));
    expect(res2.status).toBe(202);
    expect(res2.body.incidents).toEqual([id]);

    const batches = await signalledAlerts(client, id);
    expect(batches).toHaveLength(2); // the replay recorded nothing
    expect(batches[0][0]).toMatchObject({
      source: 'vercel',
      status: 'firing',
      fingerprint: `vercel:${project}:production`,
      service: 'javari-web',
      labels: expect.objectContaining({ severity: 'error', deployment_id: 'dpl_4XbFqkZk9J2yUvW3cRtPmN8s', environment: 'production' }),
      url: 'https://vercel.com/javari/javari-web/4XbFqkZk9J2yUvW3cRtPmN8s',
    });
    expect(batches[1][0]).toMatchObject({ status: 'resolved', fingerprint: `vercel:${project}:production` });
  });

  test('generic JSON: one alert, or a list spanning several incidents', async () => {
    const one = { ...fixture('generic'), dedupKey: uniqueName('uptime') };
    const res = await post(at('/webhooks/generic'), one, bearer());
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ incidents: [incidentWorkflowId(one.dedupKey)], accepted: 1 });
    const [[alert]] = await signalledAlerts(client, incidentWorkflowId(one.dedupKey));
    expect(alert).toMatchObject({
      source: 'generic',
      fingerprint: one.dedupKey,
      severity: 'P1',
      customerFacing: true,
      labels: { probe: 'uptime-robot', region: 'eu-west' },
    });

    const a = uniqueName('k');
    const b = uniqueName('k');
    const list = {
      alerts: [
        { dedupKey: a, status: 'firing', summary: 'queue depth high', service: 'worker', fingerprint: 'q1' },
        { dedupKey: b, status: 'firing', summary: 'cron missed', labels: { severity: 'warning' } },
        { dedupKey: a, status: 'firing', summary: 'queue depth high', service: 'worker', fingerprint: 'q2' },
      ],
    };
    const res2 = await post(at('/webhooks/generic'), list, bearer());
    expect(res2.status).toBe(202);
    expect(res2.body.accepted).toBe(3);
    expect([...res2.body.incidents!].sort()).toEqual([incidentWorkflowId(a), incidentWorkflowId(b)].sort());
    expect((await signalledAlerts(client, incidentWorkflowId(a))).flat().map((x) => x.fingerprint)).toEqual(['q1', 'q2']);
  });
});

describe('bad requests are refused with a reason and start nothing', () => {
  test('missing or wrong bearer token → 401', async () => {
    for (const route of ['alertmanager', 'grafana', 'generic']) {
      const body =
        route === 'generic'
          ? { ...fixture('generic'), dedupKey: uniqueName('k') }
          : amPayload(route === 'grafana' ? 'grafana-firing' : 'alertmanager-firing');
      for (const headers of [{}, bearer('wrong-token'), { authorization: 'Basic dXNlcjpwYXNz' }]) {
        const res = await post(at(`/webhooks/${route}`), body, headers);
        expect(res.status).toBe(401);
        expect(res.body.error).toMatch(/bearer token/);
      }
    }
    const am = amPayload();
    await post(at('/webhooks/alertmanager'), am, bearer('nope'));
    expect(await workflowExists(client, incidentWorkflowId(`alertmanager:${am.groupKey}`))).toBe(false);
  });

  test('bad Sentry and Vercel signatures → 401', async () => {
    const sentry = fixture<SentryPayload>('sentry-event-alert');
    sentry.data.event.issue_id = uniqueName('issue');
    const raw = JSON.stringify(sentry);
    const wrongSecret = await post(at('/webhooks/sentry'), raw, sentryHeaders(raw, 'event_alert', 'another-secret'));
    const otherBody = await post(at('/webhooks/sentry'), raw, {
      ...sentryHeaders(raw),
      'sentry-hook-signature': sentryHeaders(`${raw} `)['sentry-hook-signature'],
    });
    const noSig = await post(at('/webhooks/sentry'), raw, { 'sentry-hook-resource': 'event_alert' });
    for (const r of [wrongSecret, otherBody, noSig]) {
      expect(r.status).toBe(401);
      expect(r.body.error).toMatch(/Sentry-Hook-Signature/);
    }
    expect(await workflowExists(client, incidentWorkflowId(`sentry:issue:${sentry.data.event.issue_id}`))).toBe(false);

    const vercel = vercelFixture<VercelPayload>('vercel-deployment-error');
    vercel.payload.project.id = uniqueName('prj');
    const vraw = JSON.stringify(vercel);
    const vres = await post(at('/webhooks/vercel'), vraw, vercelHeaders(vraw, 'wrong'));
    expect(vres.status).toBe(401);
    // A SHA-256 signature where SHA-1 is expected is refused too.
    const vres2 = await post(at('/webhooks/vercel'), vraw, {
      'x-vercel-signature': sentryHeaders(vraw, 'x', env.VERCEL_WEBHOOK_SECRET)['sentry-hook-signature'],
    });
    expect(vres2.status).toBe(401);
    expect(await workflowExists(client, incidentWorkflowId(`vercel:${vercel.payload.project.id}:deployment.error`))).toBe(false);
  });

  test('invalid bodies → 400 naming each bad field', async () => {
    const cases: { route: string; body: unknown; expected: RegExp[]; key: string; signed?: 'sentry' | 'vercel' }[] = [];

    const am = amPayload();
    am.alerts[0].status = 'burning';
    delete (am.alerts[1] as Partial<(typeof am.alerts)[number]>).fingerprint;
    cases.push({
      route: 'alertmanager',
      body: am,
      expected: [/^alerts\.0\.status: /, /^alerts\.1\.fingerprint: /],
      key: `alertmanager:${am.groupKey}`,
    });

    const am2 = amPayload();
    am2.version = '3';
    cases.push({ route: 'alertmanager', body: am2, expected: [/^version: /], key: `alertmanager:${am2.groupKey}` });

    const grafana = fixture<AmPayload>('grafana-firing');
    grafana.groupKey += uniqueName('g');
    grafana.orgId = 'one';
    cases.push({ route: 'grafana', body: grafana, expected: [/^orgId: /], key: `grafana:1:${grafana.groupKey}` });

    const generic = { dedupKey: uniqueName('k'), status: 'broken', severity: 'P9', labels: { n: 1 } };
    cases.push({
      route: 'generic',
      body: generic,
      expected: [/^status: /, /^severity: /, /^summary: /, /^labels\.n: /],
      key: generic.dedupKey,
    });

    const genericList = {
      alerts: [
        { dedupKey: uniqueName('k'), status: 'firing', summary: 'ok' },
        { dedupKey: '', status: 'firing', summary: 'x' },
      ],
    };
    cases.push({ route: 'generic', body: genericList, expected: [/^alerts\.1\.dedupKey: /], key: genericList.alerts[0].dedupKey });

    const sentry = fixture<SentryPayload>('sentry-event-alert');
    const issue = uniqueName('issue');
    delete (sentry.data.event as Partial<SentryPayload['data']['event']>).issue_id;
    cases.push({ route: 'sentry', body: sentry, expected: [/^data\.event\.issue_id: /], key: `sentry:issue:${issue}`, signed: 'sentry' });

    const vercel = vercelFixture<VercelPayload>('vercel-deployment-error');
    const project = uniqueName('prj');
    vercel.payload = {
      deployment: { id: 'dpl_1', url: 'x.vercel.app', name: 'web' },
      target: 'production',
    } as unknown as VercelPayload['payload'];
    cases.push({
      route: 'vercel',
      body: vercel,
      expected: [/^payload\.project: /],
      key: `vercel:${project}:deployment.error`,
      signed: 'vercel',
    });

    for (const c of cases) {
      const raw = JSON.stringify(c.body);
      const headers = c.signed === 'sentry' ? sentryHeaders(raw) : c.signed === 'vercel' ? vercelHeaders(raw) : bearer();
      const res = await post(at(`/webhooks/${c.route}`), raw, headers);
      expect({ route: c.route, status: res.status }).toEqual({ route: c.route, status: 400 });
      expect(res.body.error).toBe(`invalid ${c.route} payload`);
      for (const re of c.expected) expect(res.body.problems).toEqual(expect.arrayContaining([expect.stringMatching(re)]));
      expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/); // no stack traces
      expect(await workflowExists(client, incidentWorkflowId(c.key))).toBe(false);
    }
  });

  test('malformed JSON → 400; wrong content type → 415', async () => {
    const res = await post(at('/webhooks/alertmanager'), '{"version": "4", "alerts": [', bearer());
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'the body is not valid JSON', problems: ['(body): not valid JSON'] });
    const empty = await post(at('/webhooks/generic'), '', bearer());
    expect(empty.status).toBe(400);
    const text = await post(at('/webhooks/generic'), 'status=firing', { ...bearer(), 'content-type': 'application/x-www-form-urlencoded' });
    expect(text.status).toBe(415);
  });

  test('bodies over 1 MiB → 413', async () => {
    const big = amPayload();
    big.alerts[0].labels.padding = 'x'.repeat(1_100_000);
    const res = await post(at('/webhooks/alertmanager'), big, bearer());
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/larger than 1048576 bytes/);

    const sentry = fixture<SentryPayload>('sentry-event-alert');
    sentry.data.event.issue_id = uniqueName('issue');
    sentry.data.event.padding = 'y'.repeat(1_100_000);
    const raw = JSON.stringify(sentry);
    const res2 = await post(at('/webhooks/sentry'), raw, sentryHeaders(raw));
    expect(res2.status).toBe(413);
    expect(await workflowExists(client, incidentWorkflowId(`alertmanager:${big.groupKey}`))).toBe(false);
    expect(await workflowExists(client, incidentWorkflowId(`sentry:issue:${sentry.data.event.issue_id}`))).toBe(false);
  });

  test('resolutions with no open incident open none', async () => {
    const am = amPayload('alertmanager-resolved');
    const res = await post(at('/webhooks/alertmanager'), am, bearer());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ incidents: [], accepted: 0 });

    const ok = vercelFixture<VercelPayload>('vercel-deployment-succeeded');
    ok.payload.project.id = uniqueName('prj');
    const raw = JSON.stringify(ok);
    const res2 = await post(at('/webhooks/vercel'), raw, vercelHeaders(raw));
    expect(res2.status).toBe(200);

    const created = { ...vercelFixture<VercelPayload>('vercel-deployment-error'), type: 'deployment.created', id: uniqueName('dlv') };
    const raw3 = JSON.stringify(created);
    const res3 = await post(at('/webhooks/vercel'), raw3, vercelHeaders(raw3));
    expect(res3.status).toBe(200);
    expect(res3.body.ignored).toMatch(/deployment\.created/);

    expect(await workflowExists(client, incidentWorkflowId(`alertmanager:${am.groupKey}`))).toBe(false);
    expect(await workflowExists(client, incidentWorkflowId(`vercel:${ok.payload.project.id}:deployment.error`))).toBe(false);
  });
});

describe('repeats, HA duplicates and retries land in one incident', () => {
  test('Temporal unreachable → 503 with Retry-After; the retry, a repeat and an HA pair → one incident', async () => {
    const down = await unreachableClient();
    const cfg = receiverConfig({ temporalTimeout: '1s', retryAfter: '7s' });
    cfg.temporal.taskQueue = config.temporal.taskQueue;
    const broken = await startReceiver({ config: cfg, client: down.client, env, port: 0, host: '127.0.0.1', deliveryJournal: null });
    const body = amPayload();
    const id = incidentWorkflowId(`alertmanager:${body.groupKey}`);
    try {
      const refused = await post(`${broken.url}/webhooks/alertmanager`, body, bearer());
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('7');
      expect(refused.body.error).toMatch(/retry later/);
      expect(await workflowExists(client, id)).toBe(false);
    } finally {
      await broken.stop();
      await down.close();
    }

    const retry = await post(at('/webhooks/alertmanager'), body, bearer());
    const repeat = await post(at('/webhooks/alertmanager'), { ...body, alerts: body.alerts.slice(0, 1) }, bearer());
    const ha = await Promise.all([post(at('/webhooks/alertmanager'), body, bearer()), post(at('/webhooks/alertmanager'), body, bearer())]);
    for (const r of [retry, repeat, ...ha]) {
      expect(r.status).toBe(202);
      expect(r.body.incidents).toEqual([id]);
    }
    expect(await runsOf(client, id)).toBe(1);
    const batches = await signalledAlerts(client, id);
    // The repeat and the HA pair change nothing: the receiver answers them without a signal.
    expect(batches).toHaveLength(1);
    expect(new Set(batches.flat().map((a) => a.fingerprint))).toEqual(new Set(['5f1b2c3d4e5f6a7b', 'a9b8c7d6e5f40312']));
  });

  test('a storm on one key is coalesced: fewer signals than requests, no alert lost', async () => {
    const key = uniqueName('storm');
    const n = 60;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        post(at('/webhooks/generic'), { dedupKey: key, status: 'firing', summary: `shard ${i} down`, fingerprint: `shard-${i}` }, bearer()),
      ),
    );
    const id = incidentWorkflowId(key);
    for (const a of answers) expect(a).toMatchObject({ status: 202, body: { incidents: [id], accepted: 1 } });
    const batches = await signalledAlerts(client, id);
    expect(batches.length).toBeLessThan(n);
    expect(new Set(batches.flat().map((a) => a.fingerprint)).size).toBe(n);

    const metrics = await (await request(at('/metrics'))).body.text();
    const coalesced = Number(/^runbook_alerts_coalesced_total (\d+)/m.exec(metrics)?.[1]);
    expect(coalesced).toBeGreaterThanOrEqual(n - batches.length);
    expect(metrics).toMatch(/runbook_webhook_requests_total\{route="\/webhooks\/generic",status="202"\} \d+/);
    expect(metrics).toMatch(/runbook_temporal_call_seconds_count\{call="signalWithStart",outcome="ok"\} \d+/);
  });

  test('back-pressure: beyond maxQueuedAlerts requests get 503 at once instead of piling up', async () => {
    const down = await unreachableClient();
    const cfg = receiverConfig({ temporalTimeout: '500ms', maxQueuedAlerts: 3 });
    const r = await startReceiver({ config: cfg, client: down.client, env, port: 0, host: '127.0.0.1', deliveryJournal: null });
    try {
      const key = uniqueName('flood');
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          post(`${r.url}/webhooks/generic`, { dedupKey: key, status: 'firing', summary: 's', fingerprint: `f${i}` }, bearer()),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(503));
      // One call in flight and three waiting; the other six are refused without waiting for Temporal.
      expect(answers.filter((a) => /too many alerts waiting/.test(a.body.error ?? ''))).toHaveLength(6);
      expect(r.receiver.ingestor.stats()).toMatchObject({ queuedAlerts: 0, inFlight: 0, keys: 0, remembered: 0 });
    } finally {
      await r.stop();
      await down.close();
    }
  });
});

test('healthz, metrics and unknown routes', async () => {
  const health = await request(at('/healthz'));
  expect(health.statusCode).toBe(200);
  expect(await health.body.json()).toMatchObject({ status: 'ok' });
  const metrics = await request(at('/metrics'));
  expect(metrics.statusCode).toBe(200);
  expect(metrics.headers['content-type']).toContain('text/plain');
  expect(await metrics.body.text()).toContain('runbook_alerts_accepted_total');
  const missing = await post(at('/webhooks/nagios'), {}, bearer());
  expect(missing.status).toBe(404);
});

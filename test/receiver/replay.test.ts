/**
 * Replay windows and unset secrets, against the run's real Temporal: a stale or replayed Sentry delivery and
 * a Vercel delivery outside its window start nothing; a route whose secret is unset fails closed and says so
 * once in the log, not once per request.
 */
import type { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { startReceiver, type StartedReceiver } from '../../src/receiver/server';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';
import { testClient, uniqueName } from '../harness';
import {
  bearer,
  env,
  fixture,
  post,
  receiverConfig,
  sentryHeaders,
  signalledAlerts,
  vercelFixture,
  vercelHeaders,
  workflowExists,
} from './helpers';

type SentryPayload = { data: { event: { issue_id: string } } };
type VercelPayload = { id: string; createdAt: number; payload: { project: { id: string } } };

let client: Client;
let connection: Connection;
let rcv: StartedReceiver;
beforeAll(async () => {
  ({ client, connection } = await testClient());
  rcv = await startReceiver({ config: receiverConfig(), client, env, port: 0, host: '127.0.0.1', deliveryJournal: null });
});
afterAll(async () => {
  await rcv?.stop();
  await connection?.close();
});

function sentryBody(): { raw: string; id: string } {
  const body = fixture<SentryPayload>('sentry-event-alert');
  const issue = uniqueName('issue');
  body.data.event.issue_id = issue;
  return { raw: JSON.stringify(body), id: incidentWorkflowId(`sentry:issue:${issue}`) };
}

describe('Sentry: Sentry-Hook-Timestamp within the window, a signed body recorded once', () => {
  test('a correctly signed delivery with a stale, future or missing timestamp → 401, nothing started', async () => {
    const { raw, id } = sentryBody();
    const seconds = (offsetMs: number) => String(Math.floor((Date.now() + offsetMs) / 1000));
    for (const timestamp of [seconds(-10 * 60_000), seconds(10 * 60_000), undefined, 'yesterday']) {
      const headers: Record<string, string> = sentryHeaders(raw);
      if (timestamp === undefined) delete headers['sentry-hook-timestamp'];
      else headers['sentry-hook-timestamp'] = timestamp;
      const res = await post(`${rcv.url}/webhooks/sentry`, raw, headers);
      expect({ timestamp, status: res.status }).toEqual({ timestamp, status: 401 });
      expect(res.body.error).toMatch(/^Sentry-Hook-Timestamp: /);
    }
    expect(await workflowExists(client, id)).toBe(false);
    // Four minutes off is inside the default five-minute tolerance.
    const recent = await post(`${rcv.url}/webhooks/sentry`, raw, { ...sentryHeaders(raw), 'sentry-hook-timestamp': seconds(-4 * 60_000) });
    expect(recent.status).toBe(202);
  });

  test('the same signed body again, with a fresh timestamp and Request-ID → 200 ignored, one signal', async () => {
    const { raw, id } = sentryBody();
    const first = await post(`${rcv.url}/webhooks/sentry`, raw, sentryHeaders(raw));
    expect(first.status).toBe(202);
    const replay = await post(`${rcv.url}/webhooks/sentry`, raw, sentryHeaders(raw)); // new timestamp, new request-id
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ accepted: 0, ignored: expect.stringMatching(/already recorded/) });
    expect(await signalledAlerts(client, id)).toHaveLength(1);
  });
});

describe('Vercel: the signed createdAt inside the replay window (the window ids are remembered for)', () => {
  test('older than the window or ahead of the clock → 400 naming createdAt, nothing started', async () => {
    const cases: [string, number][] = [
      ['older than the 1d replay window', Date.now() - 25 * 3_600_000],
      ['ahead of this clock', Date.now() + 3_600_000],
    ];
    for (const [reason, createdAt] of cases) {
      const body = vercelFixture<VercelPayload>('vercel-deployment-error');
      body.id = uniqueName('dlv');
      body.createdAt = createdAt;
      body.payload.project.id = uniqueName('prj');
      const raw = JSON.stringify(body);
      const res = await post(`${rcv.url}/webhooks/vercel`, raw, vercelHeaders(raw));
      expect(res.status).toBe(400);
      expect(res.body.problems).toEqual([expect.stringContaining(reason)]);
      expect(res.body.problems![0]).toMatch(/^createdAt: /);
      expect(await workflowExists(client, incidentWorkflowId(`vercel:${body.payload.project.id}:deployment.error`))).toBe(false);
    }
    // An hour old is inside the window.
    const body = vercelFixture<VercelPayload>('vercel-deployment-error');
    body.id = uniqueName('dlv');
    body.createdAt = Date.now() - 3_600_000;
    body.payload.project.id = uniqueName('prj');
    const raw = JSON.stringify(body);
    expect((await post(`${rcv.url}/webhooks/vercel`, raw, vercelHeaders(raw))).status).toBe(202);
  });
});

test('unset secrets: every route fails closed with 503, and each unset variable is warned about once', async () => {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const bare = await startReceiver({
    config: receiverConfig(),
    client,
    env: {},
    port: 0,
    host: '127.0.0.1',
    deliveryJournal: null,
    logger,
  });
  try {
    const sentry = sentryBody();
    const vercel = vercelFixture<VercelPayload>('vercel-deployment-error');
    vercel.payload.project.id = uniqueName('prj');
    const vraw = JSON.stringify(vercel);
    const generic = { ...fixture('generic'), dedupKey: uniqueName('k') };
    for (let i = 0; i < 5; i++) {
      const answers = await Promise.all([
        post(`${bare.url}/webhooks/sentry`, sentry.raw, sentryHeaders(sentry.raw)),
        post(`${bare.url}/webhooks/vercel`, vraw, vercelHeaders(vraw)),
        post(`${bare.url}/webhooks/generic`, generic, bearer()),
        post(`${bare.url}/webhooks/alertmanager`, fixture('alertmanager-firing'), bearer()),
      ]);
      for (const a of answers) {
        expect(a.status).toBe(503);
        expect(a.body.error).toMatch(/not configured on this receiver/);
      }
    }
    const warnings = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(warnings.sort()).toEqual([
      'webhooks for bearer-authenticated are refused: environment variable RUNBOOK_WEBHOOK_TOKEN is not set',
      'webhooks for sentry are refused: environment variable SENTRY_CLIENT_SECRET is not set',
      'webhooks for vercel are refused: environment variable VERCEL_WEBHOOK_SECRET is not set',
    ]);
    expect(await workflowExists(client, sentry.id)).toBe(false);
    expect(await workflowExists(client, incidentWorkflowId(generic.dedupKey))).toBe(false);
  } finally {
    await bare.stop();
  }
});

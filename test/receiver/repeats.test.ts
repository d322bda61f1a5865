/**
 * Repeats answered by the receiver itself: a delivery that changes nothing for the incident gets 202 without a
 * Temporal call; a change of status always reaches the workflow; a run that closes is forgotten, so the next
 * firing opens the next run; a receiver restart in the middle of a storm loses nothing and opens no second incident.
 */
import type { StartedReceiver } from '../../src/receiver/server';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';
import { uniqueName } from '../harness';
import { fileTemporalClient } from '../harness/fixtures';
import { bearer, fixture, post, receiverConfig, runsOf, signalledAlerts, startTestReceiver } from './helpers';

type AmAlert = { status: string; startsAt: string; endsAt: string; fingerprint: string; labels: Record<string, string> };
type AmPayload = { groupKey: string; status: string; alerts: AmAlert[] };

const client = fileTemporalClient();

/** An Alertmanager delivery of one group with the given alerts (fingerprint, status, startsAt). */
function delivery(groupKey: string, alerts: [fingerprint: string, status: 'firing' | 'resolved', startsAt: string][]): AmPayload {
  const body = fixture<AmPayload>('alertmanager-firing');
  const template = body.alerts[0];
  body.groupKey = groupKey;
  body.alerts = alerts.map(([fingerprint, status, startsAt]) => ({
    ...template,
    labels: { ...template.labels, instance: fingerprint },
    fingerprint,
    status,
    startsAt,
    endsAt: status === 'resolved' ? '2025-11-20T15:00:00.000Z' : '0001-01-01T00:00:00Z',
  }));
  body.status = alerts.some(([, s]) => s === 'firing') ? 'firing' : 'resolved';
  return body;
}

const T1 = '2025-11-20T14:00:00.000Z';
const T2 = '2025-11-20T16:00:00.000Z';

async function metric(url: string, name: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function signalled(rcv: StartedReceiver): number {
  return rcv.receiver.ingestor.stats().temporalCalls;
}

test('repeats are answered without a Temporal call; every change of status reaches the incident', async () => {
  const config = receiverConfig();
  const rcv = await startTestReceiver({ config, client });
  const groupKey = `{}:{alertname="${uniqueName('repeat')}"}`;
  const id = incidentWorkflowId(`alertmanager:${groupKey}`);
  const url = `${rcv.url}/webhooks/alertmanager`;
  const send = async (alerts: Parameters<typeof delivery>[1]) => {
    const r = await post(url, delivery(groupKey, alerts), bearer());
    expect(r).toMatchObject({ status: 202, body: { incidents: [id], accepted: alerts.length } });
  };
  try {
    await send([
      ['a', 'firing', T1],
      ['b', 'firing', T1],
    ]);
    expect(signalled(rcv)).toBe(1);

    // repeat_interval, both HA peers, and a Sentry-like resend with only a new startsAt while still firing
    await send([
      ['a', 'firing', T1],
      ['b', 'firing', T1],
    ]);
    await Promise.all([send([['a', 'firing', T1]]), send([['a', 'firing', T1]])]);
    await send([['b', 'firing', T2]]);
    expect(signalled(rcv)).toBe(1);
    expect(await metric(rcv.url, 'runbook_alerts_duplicate_total')).toBe(5);

    // a resolution is a change; its repeat is not; the stale firing of the resolved episode is not either
    await send([['a', 'resolved', T1]]);
    expect(signalled(rcv)).toBe(2);
    await send([['a', 'resolved', T1]]);
    await send([['a', 'firing', T1]]);
    expect(signalled(rcv)).toBe(2);

    // firing again (a new episode), and a new alert of the group, each reach it; in one delivery with a repeat, only they go
    await send([
      ['a', 'firing', T2],
      ['b', 'firing', T1],
      ['c', 'firing', T2],
    ]);
    expect(signalled(rcv)).toBe(3);

    // a resolution and a re-fire of one alert in the same delivery both go, in order
    await send([
      ['b', 'resolved', T1],
      ['b', 'firing', T2],
    ]);
    expect(signalled(rcv)).toBe(4);
  } finally {
    await rcv.stop();
  }
  const batches = await signalledAlerts(client, id);
  expect(batches.map((b) => b.map((a) => `${a.fingerprint}:${a.status}:${a.startsAt.slice(11, 13)}`))).toEqual([
    ['a:firing:14', 'b:firing:14'],
    ['a:resolved:14'],
    ['a:firing:16', 'c:firing:16'],
    ['b:resolved:14', 'b:firing:16'],
  ]);
});

test('a resend byte for byte is answered from its bytes while the memory holds its run, and goes to Temporal once it does not', async () => {
  const config = receiverConfig({ repeatMemory: { keys: 100, alertsPerKey: 100, ttl: '2s' } });
  const rcv = await startTestReceiver({ config, client });
  const groupKey = `{}:{alertname="${uniqueName('resend')}"}`;
  const id = incidentWorkflowId(`alertmanager:${groupKey}`);
  const url = `${rcv.url}/webhooks/alertmanager`;
  const body = delivery(groupKey, [
    ['a', 'firing', T1],
    ['b', 'firing', T1],
  ]);
  try {
    expect(await post(url, body, bearer())).toMatchObject({ status: 202, body: { incidents: [id], accepted: 2 } });
    for (let i = 0; i < 4; i++)
      expect(await post(url, body, bearer())).toMatchObject({ status: 202, body: { incidents: [id], accepted: 2 } });
    expect(signalled(rcv)).toBe(1);
    expect(await metric(rcv.url, 'runbook_alerts_duplicate_total')).toBe(8);
    expect(await metric(rcv.url, 'runbook_alerts_accepted_total{source="alertmanager"}')).toBe(10);

    // The same bytes, but the alerts changed since (b resolved by another delivery): they are read afresh and
    // judged by the incident's rule; a firing of the resolved episode is a repeat.
    expect((await post(url, delivery(groupKey, [['b', 'resolved', T1]]), bearer())).status).toBe(202);
    expect(signalled(rcv)).toBe(2);
    expect((await post(url, body, bearer())).status).toBe(202);
    expect(signalled(rcv)).toBe(2);

    // Once the key's memory has expired, the bytes alone answer nothing: the resend goes to Temporal.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await post(url, body, bearer())).toMatchObject({ status: 202, body: { incidents: [id], accepted: 2 } });
    expect(signalled(rcv)).toBe(3);
  } finally {
    await rcv.stop();
  }
  expect(await runsOf(client, id)).toBe(1);
});

test('a restarted receiver sends the first delivery of each key to Temporal again', async () => {
  const config = receiverConfig();
  const groupKey = `{}:{alertname="${uniqueName('restart')}"}`;
  const id = incidentWorkflowId(`alertmanager:${groupKey}`);
  const body = delivery(groupKey, [['a', 'firing', T1]]);
  for (let i = 0; i < 2; i++) {
    const rcv = await startTestReceiver({ config, client });
    try {
      expect((await post(`${rcv.url}/webhooks/alertmanager`, body, bearer())).status).toBe(202);
      expect((await post(`${rcv.url}/webhooks/alertmanager`, body, bearer())).status).toBe(202);
      expect(signalled(rcv)).toBe(1);
    } finally {
      await rcv.stop();
    }
  }
  expect(await signalledAlerts(client, id)).toHaveLength(2);
  expect(await runsOf(client, id)).toBe(1);
});

test('when the incident run closes, a repeat answered meanwhile and the next firing reach the new run', async () => {
  const config = receiverConfig();
  const rcv = await startTestReceiver({ config, client });
  const groupKey = `{}:{alertname="${uniqueName('closed')}"}`;
  const id = incidentWorkflowId(`alertmanager:${groupKey}`);
  const url = `${rcv.url}/webhooks/alertmanager`;
  try {
    expect((await post(url, delivery(groupKey, [['a', 'firing', T1]]), bearer())).status).toBe(202);
    const first = await client.workflow.getHandle(id).describe();
    await client.workflow.getHandle(id).terminate('closed for the test');

    // Until the receiver sees the close, the repeat is answered from memory; then it is sent to a new run.
    expect((await post(url, delivery(groupKey, [['a', 'firing', T1]]), bearer())).status).toBe(202);
    const deadline = Date.now() + 15_000;
    while ((await runsOf(client, id, 2)) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await runsOf(client, id)).toBe(2);
    expect(await metric(rcv.url, 'runbook_alerts_forwarded_total')).toBe(1);

    // The next firing is not mistaken for a repeat of the closed run, and joins the new one.
    expect((await post(url, delivery(groupKey, [['b', 'firing', T2]]), bearer())).status).toBe(202);
    const now = await client.workflow.getHandle(id).describe();
    expect(now.runId).not.toBe(first.runId);
    expect(now.status.name).toBe('RUNNING');
    const batches = await signalledAlerts(client, id);
    expect(batches.map((b) => b.map((a) => a.fingerprint))).toEqual([['a'], ['b']]);
  } finally {
    await rcv.stop();
  }
  expect(await runsOf(client, id)).toBe(2);
});

test('a receiver restart in the middle of a storm loses no alert and opens no second incident', async () => {
  const config = receiverConfig();
  const groups = Array.from({ length: 8 }, (_, g) => `{}:{alertname="${uniqueName(`storm${g}`)}"}`);
  const deliveries = Array.from({ length: 240 }, (_, i) => delivery(groups[i % groups.length], [[`fp${i % 24}`, 'firing', T1]])); // each alert 10 times, groups interleaved
  let rcv = await startTestReceiver({ config, client });
  const port = rcv.port;
  let restarted = false;
  let next = 0;
  const answers: number[] = [];
  // Like Alertmanager: a delivery that was not answered 2xx (503, a refused connection) is sent again.
  const sender = async () => {
    for (let i = next++; i < deliveries.length; i = next++) {
      for (;;) {
        const status = await post(`http://127.0.0.1:${port}/webhooks/alertmanager`, deliveries[i], bearer()).then(
          (r) => r.status,
          () => 0,
        );
        if (status === 202) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      answers.push(i);
      if (answers.length === 100 && !restarted) {
        restarted = true;
        await rcv.stop();
        rcv = await startTestReceiver({ config, client, port });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: 8 }, sender));
  } finally {
    await rcv.stop();
  }
  expect(restarted).toBe(true);
  expect(new Set(answers).size).toBe(deliveries.length);
  for (const [g, groupKey] of groups.entries()) {
    const id = incidentWorkflowId(`alertmanager:${groupKey}`);
    expect(await runsOf(client, id)).toBe(1);
    const fingerprints = new Set((await signalledAlerts(client, id)).flat().map((a) => a.fingerprint));
    const expected = [...new Set(deliveries.filter((_, i) => i % groups.length === g).map((d) => d.alerts[0].fingerprint))];
    expect([...fingerprints].sort()).toEqual(expected.sort());
  }
});

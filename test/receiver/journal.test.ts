/**
 * Acknowledging from the alert journal: a 202 means the alerts are fsync'd on the receiver's disk; they reach
 * their incident even when Temporal was down when they came, through a restart of the receiver, in order.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';
import { uniqueName } from '../harness';
import { fileTemporalClient } from '../harness/fixtures';
import { bearer, post, receiverConfig, runsOf, signalledAlerts, startOfflineReceiver, startTestReceiver } from './helpers';

const client = fileTemporalClient();

const journalFile = () => path.join(mkdtempSync(path.join(os.tmpdir(), 'alert-journal-')), 'alerts.journal');
const generic = (dedupKey: string, fingerprint: string, status: 'firing' | 'resolved' = 'firing') => ({
  dedupKey,
  fingerprint,
  status,
  summary: `${fingerprint} ${status}`,
  severity: 'P3',
  startsAt: '2025-11-20T14:00:00.000Z',
});

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('alerts acknowledged while Temporal is down are on disk, and reach their incident in order after a restart', async () => {
  const config = receiverConfig({ temporalTimeout: '300ms' });
  const alertJournal = journalFile();
  const key = uniqueName('journal');
  const id = incidentWorkflowId(key);
  const offline = await startOfflineReceiver({ config, alertJournal });
  try {
    for (const body of [generic(key, 'a'), generic(key, 'b'), generic(key, 'a', 'resolved')]) {
      const r = await post(`${offline.url}/webhooks/generic`, body, bearer());
      expect(r).toMatchObject({ status: 202, body: { incidents: [id], accepted: 1 } });
    }
    expect(offline.receiver.ingestor.stats().journalBacklog).toBe(3);
  } finally {
    await offline.stop();
  }
  // Nothing reached Temporal; the three records are in the file.
  expect(await runsOf(client, id, 0)).toBe(0);
  expect(readFileSync(alertJournal, 'utf8').trim().split('\n')).toHaveLength(3);

  const online = await startTestReceiver({ config, client, alertJournal });
  try {
    await until('the journal sent on', async () => online.receiver.ingestor.stats().journalBacklog === 0);
  } finally {
    await online.stop();
  }
  const sent = (await signalledAlerts(client, id)).flat().map((a) => `${a.fingerprint}:${a.status}`);
  expect(sent).toEqual(['a:firing', 'b:firing', 'a:resolved']);
  expect(await runsOf(client, id)).toBe(1);

  // Done records are not sent again by the next start.
  const again = await startTestReceiver({ config, client, alertJournal });
  try {
    expect(again.receiver.ingestor.stats().journalBacklog).toBe(0);
  } finally {
    await again.stop();
  }
  expect((await signalledAlerts(client, id)).flat()).toHaveLength(3);
});

test('a storm of distinct alerts is acknowledged from the journal and coalesced on its way: none lost, one incident per key', async () => {
  const config = receiverConfig();
  const keys = Array.from({ length: 5 }, (_, k) => uniqueName(`jstorm${k}`));
  const rcv = await startTestReceiver({ config, client, alertJournal: journalFile() });
  try {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => post(`${rcv.url}/webhooks/generic`, generic(keys[i % keys.length], `f${i}`), bearer())),
    );
    expect(answers.every((a) => a.status === 202)).toBe(true);
    await until('the journal sent on', async () => rcv.receiver.ingestor.stats().journalBacklog === 0);
    expect(rcv.receiver.ingestor.stats().temporalCalls).toBeLessThan(200);
  } finally {
    await rcv.stop();
  }
  for (const [k, key] of keys.entries()) {
    const id = incidentWorkflowId(key);
    expect(await runsOf(client, id)).toBe(1);
    const got = (await signalledAlerts(client, id)).flat().map((a) => a.fingerprint);
    const want = Array.from({ length: 200 }, (_, i) => i)
      .filter((i) => i % keys.length === k)
      .map((i) => `f${i}`);
    expect(got.sort()).toEqual(want.sort());
  }
});

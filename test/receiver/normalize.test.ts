/** Normalizers, signatures and the delivery memory on their own: no HTTP, no Temporal. */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeliveryMemory } from '../../src/receiver/deliveries';
import { normalizeAlertmanager, normalizeGeneric, normalizeSentry, normalizeVercel, type Normalized } from '../../src/receiver/normalize';
import { hmacHex, verifyBearer, verifyHmac } from '../../src/receiver/signatures';
import { alertSchema, type Alert } from '../../src/workflows/common/alerts';
import { testConfig } from '../harness';
import { fixture } from './helpers';

const ctx = (incidents: Record<string, unknown> = {}) => {
  const base = testConfig();
  return { config: { ...base, incidents: { ...base.incidents, ...incidents } }, now: new Date('2025-11-20T15:00:00Z') };
};

function alertsOf(n: Normalized): Alert[] {
  if (!n.ok) throw new Error(`expected alerts, got problems: ${n.problems.join('; ')}`);
  return n.alerts;
}

describe('Alertmanager', () => {
  test('every alert valid under the shared schema, keyed on the group', () => {
    const alerts = alertsOf(normalizeAlertmanager(fixture('alertmanager-firing'), ctx()));
    expect(alerts).toHaveLength(2);
    for (const a of alerts) expect(alertSchema.safeParse(a).success).toBe(true);
    expect(new Set(alerts.map((a) => a.dedupKey))).toEqual(
      new Set(['alertmanager:{}/{severity=~"critical|page"}:{alertname="HighErrorRate"}']),
    );
    expect(alerts[0].receivedAt).toBe('2025-11-20T15:00:00.000Z');
  });

  test('resolved alerts carry endsAt; firing ones never the zero time', () => {
    const [r] = alertsOf(normalizeAlertmanager(fixture('alertmanager-resolved'), ctx()));
    expect(r).toMatchObject({ status: 'resolved', endsAt: '2025-11-20T14:31:01.000Z' });
  });

  test('configured dedup labels key each alert on their values, across sources', () => {
    const alerts = alertsOf(normalizeAlertmanager(fixture('alertmanager-firing'), ctx({ dedupLabels: ['alertname', 'instance'] })));
    expect(alerts.map((a) => a.dedupKey)).toEqual([
      'labels:alertname=HighErrorRate,instance=api-1.javariai.com:443',
      'labels:alertname=HighErrorRate,instance=api-2.javariai.com:443',
    ]);
  });

  test('truncated alerts are noted on every alert of the group', () => {
    const body = { ...fixture('alertmanager-firing'), truncatedAlerts: 3 };
    for (const a of alertsOf(normalizeAlertmanager(body, ctx())))
      expect(a.description).toMatch(/3 more alerts of this group were not sent/);
  });

  test('a group key too long for a dedup key is shortened stably', () => {
    const body = { ...fixture('alertmanager-firing'), groupKey: `{}:{${'x="y", '.repeat(80)}}` };
    const [a] = alertsOf(normalizeAlertmanager(body, ctx()));
    const [b] = alertsOf(normalizeAlertmanager(body, ctx()));
    expect(a.dedupKey.length).toBeLessThanOrEqual(255);
    expect(a.dedupKey).toBe(b.dedupKey);
    const [c] = alertsOf(normalizeAlertmanager({ ...body, groupKey: `${body.groupKey}z` }, ctx()));
    expect(c.dedupKey).not.toBe(a.dedupKey);
  });

  test('long texts are clipped rather than refused', () => {
    const body = fixture<{ alerts: { annotations: Record<string, string> }[] }>('alertmanager-firing');
    body.alerts[0].annotations.summary = 's'.repeat(5000);
    const [a] = alertsOf(normalizeAlertmanager(body, ctx()));
    expect(a.summary.length).toBe(1024);
  });
});

describe('Sentry and Vercel mapping', () => {
  test('Sentry levels become the severity words the config maps', () => {
    const body = fixture<{ data: { event: { level: string } } }>('sentry-event-alert');
    body.data.event.level = 'fatal';
    const [a] = alertsOf(normalizeSentry('event_alert', body, ctx()));
    expect(a.labels.severity).toBe('critical');
    expect(a.dedupKey).toBe('sentry:issue:5123456789');
    expect(normalizeSentry('installation', {}, ctx())).toEqual({
      ok: true,
      alerts: [],
      ignored: 'resource "installation" is not an alert',
    });
  });

  test('Vercel: preview failures are warnings; non-alert events are ignored', () => {
    const body = fixture<{ payload: { target: string | null } }>('vercel-deployment-error');
    body.payload.target = null;
    const [a] = alertsOf(normalizeVercel(body, ctx()));
    expect(a).toMatchObject({
      fingerprint: 'vercel:prj_9sDkR2mQxW7vLp4TbN1cYh6Z:preview',
      labels: expect.objectContaining({ severity: 'warning', environment: 'preview' }),
    });
    for (const type of ['deployment.created', 'deployment.canceled', 'deployment.rollback', 'project.created']) {
      const n = normalizeVercel({ ...fixture<Record<string, unknown>>('vercel-deployment-error'), type }, ctx());
      expect(n).toMatchObject({ ok: true, alerts: [], ignored: `event type "${type}" is not an alert` });
    }
  });

  test('generic list: problems name the index of the bad alert', () => {
    const n = normalizeGeneric(
      {
        alerts: [
          { dedupKey: 'a', status: 'firing', summary: 'x' },
          { dedupKey: 'b', status: 'on', summary: 'y' },
        ],
      },
      ctx(),
    );
    expect(n).toEqual({ ok: false, problems: [expect.stringMatching(/^alerts\.1\.status: /)] });
  });
});

describe('signatures', () => {
  const body = Buffer.from('{"a":1}');
  test('HMAC compared exactly, case-insensitively in hex', () => {
    const sig = hmacHex('sha256', 'k', body);
    expect(verifyHmac('sha256', 'k', body, sig)).toBe(true);
    expect(verifyHmac('sha256', 'k', body, sig.toUpperCase())).toBe(true);
    expect(verifyHmac('sha256', 'k', body, sig.slice(0, -1))).toBe(false);
    expect(verifyHmac('sha256', 'other', body, sig)).toBe(false);
    expect(verifyHmac('sha1', 'k', body, sig)).toBe(false);
    expect(verifyHmac('sha256', 'k', Buffer.from('{"a":2}'), sig)).toBe(false);
    expect(verifyHmac('sha256', 'k', body, undefined)).toBe(false);
  });
  test('bearer token', () => {
    expect(verifyBearer('t0k', 'Bearer t0k')).toBe(true);
    expect(verifyBearer('t0k', 'bearer t0k')).toBe(true);
    expect(verifyBearer('t0k', 'Bearer t0kk')).toBe(false);
    expect(verifyBearer('t0k', 't0k')).toBe(false);
    expect(verifyBearer('t0k', undefined)).toBe(false);
  });
});

describe('delivery memory', () => {
  test('replays within the window are recognised; after it, or beyond the size bound, forgotten', async () => {
    let now = 1_000_000;
    const mem = new DeliveryMemory({ max: 3, ttlMs: 60_000, now: () => now });
    const record = jest.fn(async () => 'ok');
    expect(await mem.once('a', record)).toEqual({ replayed: false, result: 'ok' });
    expect(await mem.once('a', record)).toEqual({ replayed: true });
    now += 61_000;
    expect(await mem.once('a', record)).toEqual({ replayed: false, result: 'ok' });
    for (const id of ['b', 'c', 'd']) await mem.once(id, record);
    expect(mem.size).toBe(3);
    expect(mem.has('a')).toBe(false); // the oldest made room
    expect(record).toHaveBeenCalledTimes(5);
  });

  test("a failed delivery is not remembered, so the sender's retry goes through; concurrent duplicates share one attempt", async () => {
    const mem = new DeliveryMemory({ max: 10, ttlMs: 60_000 });
    await expect(mem.once('x', async () => Promise.reject(new Error('temporal down')))).rejects.toThrow('temporal down');
    expect(mem.has('x')).toBe(false);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const record = jest.fn(async () => {
      await gate;
      return 'ok';
    });
    const first = mem.once('x', record);
    const dup = mem.once('x', record);
    release();
    expect(await first).toEqual({ replayed: false, result: 'ok' });
    expect(await dup).toEqual({ replayed: true });
    expect(record).toHaveBeenCalledTimes(1);
  });

  test('the journal carries live ids across a restart and is compacted', async () => {
    const journal = path.join(mkdtempSync(path.join(os.tmpdir(), 'deliveries-')), 'sub', 'vercel.log');
    let now = 5_000_000;
    const first = new DeliveryMemory({ max: 4, ttlMs: 60_000, journal, now: () => now });
    await first.once('old', async () => 1);
    now += 30_000;
    for (const id of ['k1', 'k2', 'k3', 'k4', 'k5']) await first.once(id, async () => 1);
    now += 40_000; // `old` has expired, k1 was evicted by the size bound
    const second = new DeliveryMemory({ max: 4, ttlMs: 60_000, journal, now: () => now });
    expect(['old', 'k1', 'k2', 'k3', 'k4', 'k5'].map((id) => second.has(id))).toEqual([false, false, true, true, true, true]);
    expect(readFileSync(journal, 'utf8').trim().split('\n')).toHaveLength(4);
  });
});

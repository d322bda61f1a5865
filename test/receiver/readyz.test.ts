/** GET /readyz follows Temporal's reachability; GET /healthz is liveness and stays 200 either way. */
import type { Client } from '@temporalio/client';
import { request } from 'undici';
import { temporalReadiness } from '../../src/receiver/readiness';
import { fileTemporalClient } from '../harness/fixtures';
import { receiverConfig, startOfflineReceiver, startTestReceiver } from './helpers';

async function get(url: string): Promise<{ status: number; headers: Record<string, unknown>; body: Record<string, unknown> }> {
  const res = await request(url);
  return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
}

const client = fileTemporalClient();

test('200 when Temporal answers', async () => {
  const rcv = await startTestReceiver({ config: receiverConfig(), client });
  try {
    expect(await get(`${rcv.url}/readyz`)).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect(await get(`${rcv.url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
  } finally {
    await rcv.stop();
  }
});

test('503 naming the address when Temporal does not answer; /healthz still 200', async () => {
  const config = receiverConfig({ retryAfter: '7s' });
  const rcv = await startOfflineReceiver({ config, readiness: { address: 'temporal.example:7233', timeoutMs: 300 } });
  try {
    const started = Date.now();
    const ready = await get(`${rcv.url}/readyz`);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(ready).toMatchObject({
      status: 503,
      headers: { 'retry-after': '7' },
      body: { status: 'unavailable', temporal: expect.stringMatching(/^Temporal unreachable at temporal\.example:7233: /) },
    });
    expect(await get(`${rcv.url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
  } finally {
    await rcv.stop();
  }
});

test('one RPC answers every check within the cache time, concurrent ones included', async () => {
  let calls = 0;
  let up = true;
  const fake = {
    connection: { withDeadline: <R>(_deadline: number, fn: () => Promise<R>) => fn() },
    workflowService: {
      getSystemInfo: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 20));
        if (!up) throw Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 });
        return {};
      },
    },
  } as unknown as Client;
  const readiness = temporalReadiness(fake, { cacheMs: 200 });
  expect(await Promise.all([readiness.check(), readiness.check(), readiness.check()])).toEqual([
    { ready: true },
    { ready: true },
    { ready: true },
  ]);
  expect(calls).toBe(1);
  up = false;
  expect(await readiness.check()).toEqual({ ready: true }); // cached
  await new Promise((r) => setTimeout(r, 250));
  expect(await readiness.check()).toEqual({ ready: false, reason: 'Temporal unreachable: 14 UNAVAILABLE: No connection established' });
  expect(calls).toBe(2);
});

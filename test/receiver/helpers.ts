import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { request } from 'undici';
import { startReceiver, type ReceiverOptions, type StartedReceiver } from '../../src/receiver/server';
import { hmacHex } from '../../src/receiver/signatures';
import type { RunbookConfig } from '../../src/config/schema';
import type { Alert } from '../../src/workflows/common/alerts';
import { freePort } from '../../src/stack/ports';
import { testConfig, uniqueName } from '../harness';

export const TOKEN = 'test-webhook-token-0123456789';
export const SENTRY_SECRET = 'sentry-client-secret-abcdef';
export const VERCEL_SECRET = 'vercel-webhook-secret-123456';
export const env = { RUNBOOK_WEBHOOK_TOKEN: TOKEN, SENTRY_CLIENT_SECRET: SENTRY_SECRET, VERCEL_WEBHOOK_SECRET: VERCEL_SECRET };

/** A fixture from test/receiver/fixtures, parsed, for a test to make unique and post. */
export function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(path.join(__dirname, 'fixtures', `${name}.json`), 'utf8')) as T;
}

/** A Vercel fixture stamped as created now, as a live delivery is (older than the replay window is refused). */
export function vercelFixture<T = Record<string, unknown>>(name: string): T {
  return { ...fixture<T>(name), createdAt: Date.now() };
}

/** The example config on a task queue of its own, so nothing else in the run polls these incidents. */
export function receiverConfig(webhooks: Record<string, unknown> = {}): RunbookConfig {
  return testConfig({ temporal: { taskQueue: uniqueName('receiver') }, webhooks });
}

export interface Posted {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown> & { incidents?: string[]; accepted?: number; problems?: string[]; error?: string };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Posted> {
  const raw = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await request(url, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', ...headers } });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? (JSON.parse(text) as Posted['body']) : {} };
}

export const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

export function sentryHeaders(raw: string, resource = 'event_alert', secret = SENTRY_SECRET) {
  return {
    'sentry-hook-resource': resource,
    'sentry-hook-timestamp': String(Math.floor(Date.now() / 1000)),
    'request-id': uniqueName('req'),
    'sentry-hook-signature': hmacHex('sha256', secret, raw),
  };
}

export const vercelHeaders = (raw: string, secret = VERCEL_SECRET) => ({ 'x-vercel-signature': hmacHex('sha1', secret, raw) });

/** The alert batches each `alerts` signal of the workflow's current run carried, in order. */
export async function signalledAlerts(client: Client, workflowId: string): Promise<Alert[][]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'alerts');
  // Through the client's codecs, so the suite also runs with payload encryption on.
  return Promise.all(
    signals.map((e) =>
      decodeFromPayloadsAtIndex<Alert[]>(
        client.options.loadedDataConverter,
        0,
        e.workflowExecutionSignaledEventAttributes!.input!.payloads,
      ),
    ),
  );
}

export async function workflowExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Runs (current and closed) of a workflow id, from visibility; waits out its short indexing lag. */
export async function runsOf(client: Client, workflowId: string, atLeast = 1): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { count } = await client.workflow.count(`WorkflowId = "${workflowId}"`);
    if (count >= atLeast || Date.now() > deadline) return count;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A client whose server is a closed port: every call fails as when Temporal is down. */
export async function unreachableClient(): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
  return { client: new Client({ connection }), close: () => connection.close() };
}

type TestReceiverOptions = Partial<ReceiverOptions> & Pick<ReceiverOptions, 'config' | 'client'> & { port?: number };

/** The receiver on a free port of 127.0.0.1 with the test secrets (`env`) and no delivery journal, unless `opts` say otherwise. */
export function startTestReceiver(opts: TestReceiverOptions): Promise<StartedReceiver> {
  return startReceiver({ env, port: 0, host: '127.0.0.1', deliveryJournal: null, ...opts });
}

/** startTestReceiver with an unreachableClient, as when Temporal is down; its stop() closes that client too. */
export async function startOfflineReceiver(opts: Omit<TestReceiverOptions, 'client'>): Promise<StartedReceiver> {
  const down = await unreachableClient();
  const receiver = await startTestReceiver({ ...opts, client: down.client }).catch(async (err: unknown) => {
    await down.close();
    throw err;
  });
  return {
    ...receiver,
    async stop() {
      await receiver.stop();
      await down.close();
    },
  };
}

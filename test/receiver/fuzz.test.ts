/**
 * Thousands of mutated bodies per route, correctly authenticated (signed bodies re-signed after mutation) so
 * they reach validation: every answer is 2xx, 4xx or 503, never a 500, and a body refused with 4xx makes no
 * Temporal call at all. The receiver talks to the run's real Temporal through a client that records every
 * call, attributed to the request in flight (requests go one at a time).
 */
import { Client, type Connection } from '@temporalio/client';
import { request } from 'undici';
import { startReceiver, type StartedReceiver } from '../../src/receiver/server';
import { hmacHex } from '../../src/receiver/signatures';
import { testClient, uniqueName } from '../harness';
import { env, fixture, receiverConfig } from './helpers';

const PER_ROUTE = Number(process.env.RUNBOOK_FUZZ_PER_ROUTE ?? 2000);
const SEED = Number(process.env.RUNBOOK_FUZZ_SEED ?? 20261130);

/** mulberry32: a seeded generator, so a failure can be replayed with RUNBOOK_FUZZ_SEED. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] };
}
type Rng = ReturnType<typeof rng>;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const STRANGE_KEYS = ['__proto__', 'constructor', 'prototype', '', 'toString', 'hasOwnProperty', '\u0000', '😀'];
const BAD_STRINGS = ['\ud800', '\udfff\ud800', '\u0000', '\uffff', 'a\u202ez', ' ', '', '0001-01-01T00:00:00Z', 'NaN', '😀'.repeat(300)];

function wrongValue(r: Rng): Json {
  switch (r.int(9)) {
    case 0:
      return null;
    case 1:
      return r.next() < 0.5;
    case 2:
      return r.pick([0, -1, 1e308, -0, 2 ** 53 + 1, 3.14]);
    case 3:
      return r.pick(BAD_STRINGS);
    case 4:
      return [];
    case 5:
      return {};
    case 6:
      return [r.pick(BAD_STRINGS), 1, null];
    case 7:
      return 'x'.repeat(r.pick([1_000, 100_000, 900_000]));
    default:
      return nested(r, 1 + r.int(r.next() < 0.1 ? 5_000 : 60));
  }
}

/** A marker swapped for `depth` nested arrays or objects once serialized (too deep for JSON.stringify's stack). */
const nested = (r: Rng, depth: number): Json => `\u0001deep:${depth}:${r.next() < 0.5 ? 'array' : 'object'}\u0001`;
const DEEP = /"\\u0001deep:(\d+):(array|object)\\u0001"/g;
const deepText = (depth: number, kind: string) =>
  kind === 'array' ? `${'['.repeat(depth)}"bottom"${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;

/** Every container in the tree with the key (or index) of one of its entries. */
function slots(root: Json): { holder: Json[] | Record<string, Json>; key: string | number }[] {
  const out: { holder: Json[] | Record<string, Json>; key: string | number }[] = [];
  const walk = (v: Json, depth: number) => {
    if (depth > 12 || v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      out.push({ holder: v, key: Array.isArray(v) ? Number(k) : k });
      walk(x, depth + 1);
    }
  };
  walk(root, 0);
  return out;
}

/** An own property, even one named __proto__ (plain assignment would set the prototype instead). */
const put = (o: object, key: string | number, value: Json) =>
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });

/** One structural change to a parsed body. */
function mutateTree(r: Rng, root: Json): Json {
  const all = slots(root);
  if (all.length === 0 || r.next() < 0.03) return wrongValue(r); // the whole body replaced
  const { holder, key } = r.pick(all);
  const h = holder as Record<string | number, Json>;
  switch (r.int(5)) {
    case 0: // missing field
      if (Array.isArray(holder)) holder.splice(key as number, 1);
      else delete h[key];
      break;
    case 1: // extra field, often with a name that means something to JavaScript
      if (!Array.isArray(holder)) put(holder, r.pick([...STRANGE_KEYS, 'extra']), wrongValue(r));
      else holder.push(wrongValue(r));
      break;
    case 2: // a string made strange
      put(holder, key, typeof h[key] === 'string' ? `${h[key] as string}${r.pick(BAD_STRINGS)}` : r.pick(BAD_STRINGS));
      break;
    default: // wrong type
      put(holder, key, wrongValue(r));
  }
  return root;
}

/** The bytes sent: the mutated tree serialized, sometimes damaged as text or bytes. */
function mutate(r: Rng, base: Json): Buffer {
  let tree = JSON.parse(JSON.stringify(base)) as Json;
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) tree = mutateTree(r, tree);
  let text = (JSON.stringify(tree) ?? 'null').replace(DEEP, (_, depth: string, kind: string) => deepText(Number(depth), kind));
  const roll = r.next();
  if (roll < 0.1)
    text = text.slice(0, r.int(text.length)); // truncated JSON
  else if (roll < 0.15) text = text.replace('{', '{"__proto__":{"polluted":true},');
  else if (roll < 0.2) text = `{"constructor":{"prototype":{"polluted":true}},${text.slice(1)}`;
  let bytes = Buffer.from(text, 'utf8');
  if (r.next() < 0.08) {
    // invalid UTF-8 (a lone continuation byte, an overlong form, a truncated sequence) at a random spot
    const at = r.int(bytes.length + 1);
    bytes = Buffer.concat([
      bytes.subarray(0, at),
      Buffer.from(r.pick([[0x80], [0xc0, 0xaf], [0xe2, 0x82], [0xff, 0xfe]])),
      bytes.subarray(at),
    ]);
  }
  return bytes;
}

let connection: Connection;
let rcv: StartedReceiver;
/** Workflow ids the receiver called Temporal for, per request index. */
const calls = new Map<number, string[]>();
let current = -1;

beforeAll(async () => {
  ({ connection } = await testClient());
  const record = (workflowId: string) => calls.set(current, [...(calls.get(current) ?? []), workflowId]);
  const client = new Client({
    connection,
    interceptors: {
      workflow: [
        {
          signalWithStart: (input, next) => (record(input.options.workflowId), next(input)),
          signal: (input, next) => (record(input.workflowExecution.workflowId), next(input)),
        },
      ],
    },
  });
  rcv = await startReceiver({ config: receiverConfig(), client, env, port: 0, host: '127.0.0.1', deliveryJournal: null });
});
afterAll(async () => {
  await rcv?.stop();
  await connection?.close();
});

function base(route: string): Json {
  const run = uniqueName('fz');
  switch (route) {
    case 'alertmanager':
    case 'grafana': {
      const b = fixture<{ groupKey: string }>(route === 'grafana' ? 'grafana-firing' : 'alertmanager-firing');
      b.groupKey += run;
      return b as unknown as Json;
    }
    case 'sentry': {
      const b = fixture<{ data: { event: { issue_id: string } } }>('sentry-event-alert');
      b.data.event.issue_id = run;
      return b as unknown as Json;
    }
    case 'vercel':
      return { ...fixture<Record<string, unknown>>('vercel-deployment-error'), createdAt: Date.now(), id: run } as unknown as Json;
    default:
      return { ...fixture<Record<string, unknown>>('generic'), dedupKey: run } as unknown as Json;
  }
}

function headers(route: string, body: Buffer): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  if (route === 'sentry') {
    h['sentry-hook-resource'] = 'event_alert';
    h['sentry-hook-timestamp'] = String(Math.floor(Date.now() / 1000));
    h['sentry-hook-signature'] = hmacHex('sha256', env.SENTRY_CLIENT_SECRET, body);
  } else if (route === 'vercel') {
    h['x-vercel-signature'] = hmacHex('sha1', env.VERCEL_WEBHOOK_SECRET, body);
  } else {
    h.authorization = `Bearer ${env.RUNBOOK_WEBHOOK_TOKEN}`;
  }
  return h;
}

let sent = 0;

test.each(['alertmanager', 'grafana', 'generic', 'sentry', 'vercel'])(
  '%s: mutated bodies get 2xx, 4xx or 503, and a refused one calls Temporal never',
  async (route) => {
    const r = rng(SEED + route.length * 7919 + route.charCodeAt(0));
    const seed = base(route);
    const statuses = new Map<number, number>();
    const problems: string[] = [];
    for (let i = 0; i < PER_ROUTE; i++) {
      // A fresh Vercel delivery id each time, so valid mutants are recorded rather than ignored as replays.
      const body = mutate(r, route === 'vercel' ? { ...(seed as Record<string, Json>), id: uniqueName('fz') } : seed);
      current = ++sent;
      const answer = await request(`${rcv.url}/webhooks/${route}`, { method: 'POST', body, headers: headers(route, body) });
      const res = { statusCode: answer.statusCode, body: await answer.body.text() };
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const ok =
        (res.statusCode >= 200 && res.statusCode < 300) || (res.statusCode >= 400 && res.statusCode < 500) || res.statusCode === 503;
      const refused = res.statusCode >= 400 && res.statusCode < 500;
      if (!ok || (refused && calls.has(current)) || /at .*\.[jt]s:\d+/.test(res.body)) {
        problems.push(
          `#${i} ${res.statusCode} ${res.body.slice(0, 200)} calls=${JSON.stringify(calls.get(current) ?? [])} body=${body.toString('utf8', 0, 300)}`,
        );
      }
    }
    current = -1;
    expect({ statuses: Object.fromEntries(statuses), problems: problems.slice(0, 5) }).toEqual({
      statuses: expect.anything(),
      problems: [],
    });
    // The mutations reach both sides: most bodies are refused, some still carry alerts that are recorded.
    const refusedCount = [...statuses].filter(([s]) => s >= 400 && s < 500).reduce((n, [, c]) => n + c, 0);
    expect(refusedCount).toBeGreaterThan(PER_ROUTE / 3);
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect((statuses.get(202) ?? 0) + (statuses.get(200) ?? 0)).toBeGreaterThan(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  },
  180_000,
);

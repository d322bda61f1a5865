/**
 * Payload encryption against the run's real Temporal server: with RUNBOOK_PAYLOAD_KEY set, the history holds
 * only ciphertext, it replays with the key, a rotated key (the old one kept in RUNBOOK_PAYLOAD_OLD_KEYS) still
 * reads it, and the codec server decodes for the UI and the `temporal` CLI only for those holding its token.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { request } from 'undici';
import { selfCheck } from '../../src/workflows';
import { ConfigError } from '../../src/config/load';
import { temporalCli } from '../../src/stack/binaries';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, PayloadKeyError, payloadCodecFromEnv } from '../../src/temporal/codec';
import { startCodecServer } from '../../src/temporal/codec-server';
import { clientOptions, temporalTargetFromEnv } from '../../src/temporal/connection';
import { scratchDatabase, startTestWorker, testConfig, testDeps, testEnv, uniqueName, type ScratchDatabase } from '../harness';

const run = promisify(execFile);
const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const K1 = key('k1');
const K2 = key('k2');
const first = { TEMPORAL_ADDRESS: testEnv.temporalAddress, RUNBOOK_PAYLOAD_KEY: K1 };
const rotated = { TEMPORAL_ADDRESS: testEnv.temporalAddress, RUNBOOK_PAYLOAD_KEY: K2, RUNBOOK_PAYLOAD_OLD_KEYS: K1 };
const SECRET = `jane.doe+${randomBytes(6).toString('hex')}@example.com`;

type History = temporal.api.history.v1.IHistory;
/** Every payload in a history: workflow input, activity inputs and results, the workflow's result. */
function payloadsOf(history: History): Payload[] {
  const out: Payload[] = [];
  const walk = (v: unknown) => {
    if (!v || typeof v !== 'object') return;
    if (v instanceof Uint8Array) return;
    if ('data' in v && 'metadata' in v && (v as Payload).metadata) out.push(v as Payload);
    for (const x of Object.values(v)) walk(x);
  };
  walk(history.events);
  return out;
}

let ops: ScratchDatabase;
let plain: { client: Client; connection: Connection };
let workflowId: string;
let history: History;

beforeAll(async () => {
  ops = await scratchDatabase('payload_enc', { ops: true });
  const connection = await Connection.connect({ address: testEnv.temporalAddress });
  plain = { connection, client: new Client({ connection }) };

  // The worker and client as the service builds them: codecs from the environment, through the shared target.
  const target = temporalTargetFromEnv(first);
  expect(target.dataConverter).toBeDefined();
  const worker = await startTestWorker({ deps: testDeps(testConfig(), ops), dataConverter: target.dataConverter });
  try {
    const client = new Client(clientOptions(connection, target));
    workflowId = uniqueName('enc');
    const result = await worker.run(() =>
      client.workflow.execute(selfCheck, { taskQueue: worker.taskQueue, workflowId, args: [{ requestedBy: SECRET }] }),
    );
    expect(result.database).toBe(ops.name);
  } finally {
    await worker.close();
  }
  history = await plain.client.workflow.getHandle(workflowId).fetchHistory();
});
afterAll(async () => {
  await plain?.connection.close();
  await ops?.drop();
});

test('the history holds ciphertext only: every payload encrypted under k1, the input nowhere in clear', async () => {
  const payloads = payloadsOf(history);
  expect(payloads.length).toBeGreaterThanOrEqual(4); // input, activity input, activity result, result
  for (const p of payloads) {
    expect(Buffer.from(p.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(p.metadata![KEY_ID_METADATA]!).toString()).toBe('k1');
  }
  const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
  expect(bytes.includes(SECRET)).toBe(false);
  expect(bytes.includes(ops.name)).toBe(false); // the result names the database
  // The row the activity wrote proves the secret went through the workflow.
  expect((await ops.pool.query('SELECT requested_by FROM self_checks')).rows).toEqual([{ requested_by: SECRET }]);
  // A client without the key cannot read the result.
  await expect(plain.client.workflow.getHandle(workflowId).result()).rejects.toThrow(/encoding/i);
});

test('the encrypted history replays with the key, and not without it', async () => {
  const bundle = { codePath: testEnv.workflowBundle };
  await Worker.runReplayHistory({ workflowBundle: bundle, dataConverter: temporalTargetFromEnv(first).dataConverter }, history, workflowId);
  await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowId)).rejects.toThrow();
});

test('after rotation (k2 encrypts, k1 kept for reading) old histories still read and replay; without k1 they do not', async () => {
  const target = temporalTargetFromEnv(rotated);
  const client = new Client(clientOptions(plain.connection, target));
  const result = await client.workflow.getHandle(workflowId).result();
  expect(result).toMatchObject({ database: ops.name });
  await Worker.runReplayHistory(
    { workflowBundle: { codePath: testEnv.workflowBundle }, dataConverter: target.dataConverter },
    history,
    workflowId,
  );

  // New payloads go out under k2.
  const [sealed] = await payloadCodecFromEnv(rotated)!.encode([defaultPayloadConverter.toPayload({ x: 1 })]);
  expect(Buffer.from(sealed.metadata![KEY_ID_METADATA]!).toString()).toBe('k2');

  const k2only = payloadCodecFromEnv({ RUNBOOK_PAYLOAD_KEY: K2 })!;
  await expect(k2only.decode(payloadsOf(history).slice(0, 1))).rejects.toThrow(/key "k1"/);
});

test('tampered ciphertext and malformed keys are refused with a reason that shows no key', async () => {
  const codec = payloadCodecFromEnv(first)!;
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(SECRET)]);
  const data = Buffer.from(sealed.data!);
  data[data.length - 20] ^= 1;
  await expect(codec.decode([{ ...sealed, data }])).rejects.toThrow(PayloadKeyError);
  // Same key bytes under another id: the id is authenticated too.
  const renamed = payloadCodecFromEnv({ RUNBOOK_PAYLOAD_KEY: `other:${K1.split(':')[1]}`, RUNBOOK_PAYLOAD_OLD_KEYS: K1 })!;
  const forged = { ...sealed, metadata: { ...sealed.metadata, [KEY_ID_METADATA]: Buffer.from('other') } };
  await expect(renamed.decode([forged])).rejects.toThrow(/failed authentication/);

  for (const [value, reason] of [
    ['k1', /expected <key id>:<base64 key>/],
    [`k1:${randomBytes(16).toString('base64')}`, /must be 32 random bytes/],
    ['bad id!:abc', /expected <key id>/],
  ] as const) {
    const err = (() => {
      try {
        payloadCodecFromEnv({ RUNBOOK_PAYLOAD_KEY: value });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems[0]).toMatch(/^RUNBOOK_PAYLOAD_KEY: /);
    expect(err!.problems[0]).toMatch(reason);
    expect(err!.message).not.toContain(value.split(':')[1] ?? '\u0000');
  }
  expect(() => payloadCodecFromEnv({ RUNBOOK_PAYLOAD_OLD_KEYS: K1 })).toThrow(/RUNBOOK_PAYLOAD_KEY is not/);
  expect(payloadCodecFromEnv({})).toBeUndefined();
});

describe('codec server', () => {
  const TOKEN = randomBytes(18).toString('base64url');
  const UI = 'http://localhost:8233';
  let server: Awaited<ReturnType<typeof startCodecServer>>;
  beforeAll(async () => {
    server = await startCodecServer({ codec: payloadCodecFromEnv(rotated)!, token: TOKEN, origins: [UI], port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => server?.stop());

  const json = (p: Payload) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
    data: Buffer.from(p.data!).toString('base64'),
  });
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${server.url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
    return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Record<string, unknown> };
  };

  test('decodes the history for the token holder (header, or in the path for the UI), refuses everyone else', async () => {
    const body = { payloads: payloadsOf(history).map(json) };
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }] as Record<string, string>[]) {
      const res = await post('/decode', body, headers);
      expect(res.status).toBe(401);
      expect(JSON.stringify(res.body)).not.toContain(SECRET);
    }
    expect((await post('/not-the-token/decode', body)).status).toBe(401);

    for (const [path, headers] of [
      ['/decode', { authorization: `Bearer ${TOKEN}` }],
      [`/${TOKEN}/decode`, {}],
    ] as const) {
      const res = await post(path, body, headers);
      expect(res.status).toBe(200);
      const decoded = (res.body.payloads as { data: string }[]).map((p) => Buffer.from(p.data, 'base64').toString());
      expect(decoded).toContainEqual(JSON.stringify({ requestedBy: SECRET }));
    }

    // encode then decode round-trips, under the current key
    const enc = await post(
      '/encode',
      { payloads: [json(defaultPayloadConverter.toPayload('hello'))] },
      { authorization: `Bearer ${TOKEN}` },
    );
    const [sealed] = enc.body.payloads as { metadata: Record<string, string> }[];
    expect(Buffer.from(sealed.metadata[KEY_ID_METADATA], 'base64').toString()).toBe('k2');
    const dec = await post('/decode', enc.body, { authorization: `Bearer ${TOKEN}` });
    expect(Buffer.from((dec.body.payloads as { data: string }[])[0].data, 'base64').toString()).toBe('"hello"');

    const bad = await post('/decode', { payloads: [{ data: 'not base64!' }] }, { authorization: `Bearer ${TOKEN}` });
    expect(bad.status).toBe(400);
    expect(bad.body.problems).toEqual([expect.stringMatching(/^payloads\.0\.data: /)]);
  });

  test("CORS: the UI's origin may call it from the browser, another origin may not", async () => {
    const preflight = (origin: string) =>
      request(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-namespace',
        },
      });
    const ok = await preflight(UI);
    expect(ok.statusCode).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(UI);
    expect(String(ok.headers['access-control-allow-headers'])).toMatch(/authorization/);
    const other = await preflight('https://evil.example');
    expect(other.statusCode).toBe(403);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const res = await post('/decode', { payloads: [] }, { origin: UI, authorization: `Bearer ${TOKEN}` });
    expect(res.headers['access-control-allow-origin']).toBe(UI);
  });

  test('no token configured → 503 for everyone', async () => {
    const closed = await startCodecServer({
      codec: payloadCodecFromEnv(first)!,
      token: undefined,
      origins: [UI],
      port: 0,
      host: '127.0.0.1',
    });
    try {
      const res = await request(`${closed.url}/decode`, {
        method: 'POST',
        body: '{"payloads":[]}',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode).toBe(503);
      await res.body.dump();
    } finally {
      await closed.stop();
    }
  });

  test('the temporal CLI shows the history decoded through it with --codec-auth, and encrypted without', async () => {
    const args = [
      'workflow',
      'show',
      '--address',
      testEnv.temporalAddress,
      '--workflow-id',
      workflowId,
      '--output',
      'json',
      '--codec-endpoint',
      server.url,
    ];
    // JSON output keeps payload bytes in base64: look inside them.
    const clear = (out: string) =>
      [...out.matchAll(/"data": "([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1], 'base64').toString()).join('\n');
    const decoded = await run(temporalCli(), [...args, '--codec-auth', `Bearer ${TOKEN}`]);
    expect(clear(decoded.stdout)).toContain(JSON.stringify({ requestedBy: SECRET }));
    const refused = await run(temporalCli(), args).then(
      (r) => r.stdout,
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    expect(clear(refused)).not.toContain(SECRET);
    expect(refused).not.toContain(SECRET);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { classifyStatus } from '../../src/platforms/classify';
import { toActivityFailure } from '../../src/platforms/activity-errors';
import { PlatformError } from '../../src/platforms/errors';
import { PlatformHttp } from '../../src/platforms/http';
import { redactSecrets, redactUrl } from '../../src/platforms/redact';
import { parseRetryAfter, retryAfterMs } from '../../src/platforms/retry-after';
import { identityFromName, nameWithIdentity } from '../../src/platforms/statuspage';
import { deploymentUrl } from '../../src/platforms/urls';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('Retry-After parsing', () => {
  test('seconds, HTTP date, Telegram retry_after and X-RateLimit-Reset, in that order', () => {
    expect(parseRetryAfter('2', NOW)).toBe(2000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(retryAfterMs({}, { ok: false, parameters: { retry_after: 7 } }, NOW)).toBe(7000);
    expect(retryAfterMs({ 'x-ratelimit-reset': String(NOW / 1000 + 45) }, undefined, NOW)).toBe(45_000);
    expect(retryAfterMs({ 'retry-after': '3', 'x-ratelimit-reset': String(NOW / 1000 + 45) }, undefined, NOW)).toBe(3000);
    expect(retryAfterMs({}, {}, NOW)).toBeUndefined();
  });
});

describe('classification', () => {
  const base = {
    platform: 'vercel' as const,
    endpoint: 'POST /v13/deployments',
    headers: {},
    credential: { env: 'VERCEL_TOKEN', noun: 'token' },
    now: NOW,
  };

  test('429 and 420 are rate limits retried after the named delay; 5xx retryable', () => {
    const e429 = classifyStatus({ ...base, status: 429, headers: { 'retry-after': '2' } });
    expect(e429).toMatchObject({ kind: 'rate-limited', retryable: true, retryAfterMs: 2000 });
    const e420 = classifyStatus({ ...base, platform: 'statuspage', status: 420 });
    expect(e420).toMatchObject({ kind: 'rate-limited', retryable: true, retryAfterMs: undefined });
    expect(classifyStatus({ ...base, status: 429, defaultRetryAfterMs: 60_000 }).retryAfterMs).toBe(60_000);
    for (const status of [500, 502, 503, 504])
      expect(classifyStatus({ ...base, status })).toMatchObject({ kind: 'unavailable', retryable: true });
  });

  test('other 4xx are final and say what to fix, naming the env var and never its value', () => {
    const forbidden = classifyStatus({ ...base, status: 403, vendorCode: 'forbidden', resource: 'project crav-javari' });
    expect(forbidden.retryable).toBe(false);
    expect(forbidden.message).toMatch(
      /^Vercel answered 403 forbidden to POST \/v13\/deployments: the token in VERCEL_TOKEN lacks access to project crav-javari/,
    );
    expect(classifyStatus({ ...base, status: 401 }).message).toContain('put a valid one in VERCEL_TOKEN');
    expect(classifyStatus({ ...base, status: 404, resource: 'deployment dpl_1' })).toMatchObject({ kind: 'not-found', retryable: false });
    for (const status of [400, 409, 410, 422]) expect(classifyStatus({ ...base, status }).retryable).toBe(false);
  });

  test('Temporal mapping: nextRetryDelay for rate limits, nonRetryable for final errors', () => {
    const limited = toActivityFailure(classifyStatus({ ...base, status: 429, headers: { 'retry-after': '2' } })) as ApplicationFailure;
    expect(limited).toBeInstanceOf(ApplicationFailure);
    expect(limited).toMatchObject({ type: 'PlatformRateLimited', nonRetryable: false, nextRetryDelay: 2000 });
    const outage = toActivityFailure(classifyStatus({ ...base, status: 503 })) as ApplicationFailure;
    expect(outage).toMatchObject({ type: 'PlatformUnavailable', nonRetryable: false });
    expect(outage.nextRetryDelay).toBeUndefined();
    const auth = toActivityFailure(classifyStatus({ ...base, status: 401 })) as ApplicationFailure;
    expect(auth).toMatchObject({ type: 'PlatformAuth', nonRetryable: true });
    expect(auth.details?.[0]).toMatchObject({ platform: 'vercel', endpoint: 'POST /v13/deployments', status: 401 });
    const other = new Error('not a platform error');
    expect(toActivityFailure(other)).toBe(other);
  });
});

describe('redaction', () => {
  test('Telegram bot token in the path, Slack webhook path, token query parameters and known values', () => {
    expect(redactUrl('https://api.telegram.org/bot123456:AAE-secret/sendMessage')).toBe(
      'https://api.telegram.org/bot<redacted>/sendMessage',
    );
    expect(redactUrl('https://hooks.slack.com/services/T00/B00/XXXX')).toBe('https://hooks.slack.com/services/<redacted>');
    expect(redactUrl('https://api.example.com/x?token=abc&teamId=t1')).toBe('https://api.example.com/x?token=<redacted>&teamId=t1');
    expect(redactSecrets('bad token tok_abcdef123 given', ['tok_abcdef123'])).toBe('bad token <redacted> given');
  });

  test('identity round-trips through a Statuspage incident name', () => {
    const name = nameWithIdentity('Elevated error rates', 'incident-javari-web-20260301-1200');
    expect(identityFromName(name)).toBe('incident-javari-web-20260301-1200');
    expect(identityFromName('Elevated error rates')).toBeUndefined();
  });

  test('deployment URLs: scheme kept, loopback over http, everything else https', () => {
    expect(deploymentUrl('app-abc.vercel.app')).toBe('https://app-abc.vercel.app');
    expect(deploymentUrl('127.0.0.1:4123/_apps/dpl_1')).toBe('http://127.0.0.1:4123/_apps/dpl_1');
    expect(deploymentUrl('localhost:3000')).toBe('http://localhost:3000');
    expect(deploymentUrl('http://example.com/')).toBe('http://example.com');
  });
});

describe('request policy over the wire', () => {
  let server: Server;
  let base: string;
  let answer: { status: number; body: string; delayMs?: number; hang?: boolean } = { status: 200, body: '{}' };
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        if (answer.hang) res.write(answer.body);
        else res.end(answer.body);
      }, answer.delayMs ?? 0);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const http = () =>
    new PlatformHttp({
      platform: 'telegram',
      baseUrl: base,
      timeoutMs: 300,
      env: { TG_TOKEN: '123456:secret-bot-token' },
      credential: { env: 'TG_TOKEN', noun: 'bot token', pathParam: 'token' },
    });
  const schema = z.object({ ok: z.literal(true), result: z.object({ message_id: z.number() }) });
  const call = () => http().request({ method: 'POST', path: '/bot{token}/sendMessage', body: { chat_id: 1, text: 'hi' }, schema });

  test('an answer that does not match names the endpoint and the field path, never the token', async () => {
    answer = { status: 200, body: JSON.stringify({ ok: true, result: { message_id: 'seven' } }) };
    const err = (await call().catch((e: unknown) => e)) as PlatformError;
    expect(err).toBeInstanceOf(PlatformError);
    expect(err).toMatchObject({ kind: 'contract', retryable: false, endpoint: 'POST /bot{token}/sendMessage' });
    expect(err.message).toContain('result.message_id');
    expect(err.message).not.toContain('secret-bot-token');
    expect(seen.at(-1)).toContain('/bot123456:secret-bot-token/sendMessage');
  });

  test('malformed JSON is a retryable error naming the endpoint', async () => {
    answer = { status: 200, body: '{"ok": tru' };
    const err = (await call().catch((e: unknown) => e)) as PlatformError;
    expect(err).toMatchObject({ kind: 'unavailable', retryable: true });
    expect(err.message).toMatch(/POST \/bot\{token\}\/sendMessage: the answer is not readable JSON/);
  });

  test('no answer within the timeout is a retryable error naming the config field', async () => {
    answer = { status: 200, body: '{}', delayMs: 1500 };
    const err = (await call().catch((e: unknown) => e)) as PlatformError;
    expect(err).toMatchObject({ kind: 'unavailable', retryable: true, status: undefined });
    expect(err.message).toContain('no answer within 300 ms (platforms.requestTimeout)');
  });

  test('a vendor error echoing the token is redacted; a missing token names the variable', async () => {
    answer = { status: 401, body: JSON.stringify({ ok: false, error_code: 401, description: 'Unauthorized: 123456:secret-bot-token' }) };
    const err = (await call().catch((e: unknown) => e)) as PlatformError;
    expect(err).toMatchObject({ kind: 'auth', retryable: false, status: 401 });
    expect(err.message).toContain('the bot token in TG_TOKEN was rejected');
    expect(err.message).not.toContain('secret-bot-token');

    const missing = new PlatformHttp({
      platform: 'vercel',
      baseUrl: base,
      timeoutMs: 300,
      env: {},
      credential: { env: 'VERCEL_TOKEN', noun: 'token' },
    });
    const before = seen.length;
    const e2 = (await missing.send({ method: 'GET', path: '/v9/projects/x' }).catch((e: unknown) => e)) as PlatformError;
    expect(e2).toMatchObject({ kind: 'auth', retryable: false });
    expect(e2.message).toContain('VERCEL_TOKEN is not set');
    expect(seen.length).toBe(before);
  });

  test('a log stream still open at the timeout yields its complete lines; maxLines stops reading early', async () => {
    const line = (i: number) => JSON.stringify({ level: 'info', message: `m${i}`, timestampInMs: i });
    const logs = new PlatformHttp({ platform: 'vercel', baseUrl: base, timeoutMs: 300, env: {} });
    const read = (maxLines: number) =>
      logs.request({ method: 'GET', path: '/logs', read: 'ndjson', maxLines, schema: z.array(z.object({ message: z.string() })) });
    answer = { status: 200, body: `${line(1)}\n${line(2)}\n{"level":"in`, hang: true };
    expect((await read(100)).map((l) => l.message)).toEqual(['m1', 'm2']);
    answer = { status: 200, body: [1, 2, 3, 4, 5].map(line).join('\n') };
    expect((await read(3)).map((l) => l.message)).toEqual(['m1', 'm2', 'm3']);
  });
});

import { startSandbox, type Sandbox } from '../../src/sandbox';
import { bearer, call } from './http';

/** Fault injection per route and the call log, in-process and over HTTP. */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('sandbox fault injection and call log', () => {
  let sb: Sandbox;
  const v = (path: string) => `${sb.baseUrls.vercel}${path}`;

  beforeAll(async () => {
    sb = await startSandbox({ timing: 5 });
  });
  afterAll(() => sb.stop());
  beforeEach(() => {
    sb.clearFaults();
    sb.clearCalls();
  });

  it('N× 429 with Retry-After and X-RateLimit-Reset (Vercel), then the real answer; the log marks each', async () => {
    sb.inject({ vendor: 'vercel', method: 'GET', path: '/v9/projects/*', kind: '429', times: 2, retryAfterSeconds: 2 });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await call(v('/v9/projects/web'), { headers: bearer }));
    expect(answers.map((a) => a.status)).toEqual([429, 429, 200]);
    expect(answers[0].headers.get('retry-after')).toBe('2');
    const reset = Number(answers[0].headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
    expect((answers[0].json as Json).error).toMatchObject({ code: 'rate_limited', limit: { remaining: 0 } });
    expect(sb.calls({ vendor: 'vercel', pathPrefix: '/v9/projects' }).map((c) => [c.status, c.fault])).toEqual([
      [429, '429'],
      [429, '429'],
      [200, undefined],
    ]);
    expect(sb.faults()).toEqual([]);
  });

  it('a fault only hits its vendor, method and path; glob and RegExp patterns', async () => {
    sb.inject({
      vendor: 'vercel',
      method: 'POST',
      path: /^\/v1\d\/projects\/[^/]+\/promote\/.+$/,
      kind: '5xx',
      status: 503,
      times: Infinity,
    });
    expect((await call(v('/v9/projects/web'), { headers: bearer })).status).toBe(200);
    const promote = await call(v('/v10/projects/web/promote/dpl_x'), { method: 'POST', headers: bearer });
    expect(promote.status).toBe(503);
    expect((promote.json as Json).error.code).toBe('internal_server_error');
    expect((await call(v('/v10/projects/web/promote/dpl_y'), { method: 'POST', headers: bearer })).status).toBe(503);
    expect(sb.faults()[0].hits).toBe(2);
    sb.clearFaults();
    expect((await call(v('/v10/projects/web/promote/dpl_y'), { method: 'POST', headers: bearer })).status).toBe(404);
  });

  it('Netlify 429 carries X-RateLimit-Reset but no Retry-After, as the contract says', async () => {
    sb.inject({ vendor: 'netlify', path: '/sites/**', kind: '429', retryAfterSeconds: 5 });
    const res = await call(`${sb.baseUrls.netlify}/sites/s1/deploys`, { headers: bearer });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(res.json).toEqual({ code: 429, message: 'API rate limit exceeded' });
  });

  it('malformed answers 200 with a body that is not JSON, and the side effect does not happen', async () => {
    sb.inject({ vendor: 'vercel', method: 'POST', path: '/v13/deployments', kind: 'malformed' });
    const res = await call(v('/v13/deployments'), {
      method: 'POST',
      headers: bearer,
      body: { name: 'web', meta: { runbookWorkflowId: 'wf-malformed' } },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/json/);
    expect(() => JSON.parse(res.text)).toThrow();
    const list = (await call(v('/v7/deployments?meta-runbookWorkflowId=wf-malformed'), { headers: bearer })).json as Json;
    expect(list.deployments).toEqual([]);
  });

  it('a delay outlasts the client timeout; the request is logged and its side effect still happens afterwards', async () => {
    sb.inject({ vendor: 'vercel', method: 'POST', path: '/v13/deployments', kind: 'delay', delayMs: 400 });
    await expect(
      fetch(v('/v13/deployments'), {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'web', meta: { runbookWorkflowId: 'wf-delayed' } }),
        signal: AbortSignal.timeout(100),
      }),
    ).rejects.toThrow();
    const logged = sb.calls({ vendor: 'vercel', method: 'POST' });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ fault: 'delay', body: { name: 'web' } });
    await new Promise((r) => setTimeout(r, 500));
    const list = (await call(v('/v7/deployments?meta-runbookWorkflowId=wf-delayed'), { headers: bearer })).json as Json;
    expect(list.deployments).toHaveLength(1);
  });

  it("401 in each vendor's own error format", async () => {
    for (const vendor of ['vercel', 'netlify', 'supabase', 'statuspage', 'telegram'] as const)
      sb.inject({ vendor, path: '**', kind: '401' });
    expect((await call(v('/v9/projects/web'), { headers: bearer })).json).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await call(`${sb.baseUrls.netlify}/deploys/x`, { headers: bearer })).json).toMatchObject({ code: 401 });
    expect((await call(`${sb.baseUrls.supabase}/v1/projects/abcdefghijklmnopqrst`, { headers: bearer })).json).toEqual({
      message: 'Unauthorized',
    });
    expect((await call(`${sb.baseUrls.statuspage}/pages/p/incidents/unresolved`, { headers: { authorization: 'OAuth k' } })).json).toEqual({
      error: 'Could not authenticate',
    });
    const tg = await call(`${sb.baseUrls.telegram}/bot1:abc/sendMessage`, { method: 'POST', body: { chat_id: 1, text: 'x' } });
    expect(tg.status).toBe(401);
    expect(tg.json).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
  });

  it('rejects a bad fault with a message naming the field', () => {
    expect(() => sb.inject({ vendor: 'vercel', path: '/x', kind: 'boom' as never })).toThrow(/^kind: must be one of/);
    expect(() => sb.inject({ vendor: 'vercel', path: '', kind: '429' })).toThrow(/^path: required/);
    expect(() => sb.inject({ vendor: 'vercel', path: '/x', kind: '429', times: 0 })).toThrow(/^times:/);
  });

  it('over HTTP: inject a fault, read and clear the call log, secrets redacted', async () => {
    const created = await call(`${sb.url}/_sandbox/faults`, {
      method: 'POST',
      body: { vendor: 'pagerduty', path: '/v2/enqueue', kind: '5xx', status: 502, times: 1 },
    });
    expect(created.status).toBe(201);
    const event = { routing_key: 'rk', event_action: 'trigger', dedup_key: 'd1', payload: { summary: 's', source: 'x', severity: 'info' } };
    expect((await call(sb.baseUrls.pagerduty, { method: 'POST', body: event })).status).toBe(502);
    expect((await call(sb.baseUrls.pagerduty, { method: 'POST', body: event })).status).toBe(202);
    await call(v('/v9/projects/web'), { headers: { authorization: 'Bearer very-secret-token' } });

    const pd = (await call(`${sb.url}/_sandbox/calls?vendor=pagerduty`)).json as Json[];
    expect(pd.map((c) => [c.method, c.path, c.status])).toEqual([
      ['POST', '/v2/enqueue', 502],
      ['POST', '/v2/enqueue', 202],
    ]);
    expect(pd[1].body).toEqual(event);
    expect(typeof pd[1].time).toBe('number');
    const vercelCalls = (await call(`${sb.url}/_sandbox/calls?vendor=vercel&method=GET&pathPrefix=/v9/`)).json as Json[];
    expect(vercelCalls).toHaveLength(1);
    expect(vercelCalls[0].headers.authorization).toBe('[redacted]');
    expect(JSON.stringify(await call(`${sb.url}/_sandbox/calls`))).not.toContain('very-secret-token');

    const bad = await call(`${sb.url}/_sandbox/faults`, { method: 'POST', body: { vendor: 'vercel', kind: '429' } });
    expect(bad.status).toBe(400);
    expect((bad.json as Json).error).toMatch(/^path: required/);

    expect((await call(`${sb.url}/_sandbox/calls`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`${sb.url}/_sandbox/calls`)).json).toEqual([]);
  });

  it('over HTTP: degrade an app and read the state', async () => {
    await call(v('/v9/projects/api-app'), { headers: bearer });
    const res = await call(`${sb.url}/_sandbox/apps/degrade`, {
      method: 'POST',
      body: { target: 'production/api-app', errorRate: 7.5, p99Ms: 12000 },
    });
    expect(res.status).toBe(200);
    const metrics = (await call(`${sb.apps.productionUrl('api-app')}/api/metrics`)).json as Json;
    expect(metrics).toMatchObject({ errorRate: 7.5, p99Ms: 12000 });
    const unknown = await call(`${sb.url}/_sandbox/apps/degrade`, { method: 'POST', body: { target: 'dpl_nope', errorRate: 1 } });
    expect(unknown.status).toBe(400);
    expect((unknown.json as Json).error).toMatch(/^target:/);
    const state = (await call(`${sb.url}/_sandbox/state`)).json as Json;
    expect(state.vercel.projects.map((p: Json) => p.name)).toContain('api-app');
  });
});

describe('sandbox control API over HTTP for the other vendors', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ timing: 5 });
  });
  afterAll(() => sb.stop());

  it('sets Supabase service health, starts a Netlify build, lists PagerDuty events, removes one fault', async () => {
    const ref = 'qwertyuiopasdfghjklz';
    expect((await call(`${sb.url}/_sandbox/supabase/${ref}`, { method: 'POST', body: { services: { auth: 'UNHEALTHY' } } })).status).toBe(
      204,
    );
    const health = (await call(`${sb.baseUrls.supabase}/v1/projects/${ref}/health?services=auth,db`, { headers: bearer })).json as Json[];
    expect(health.map((h) => [h.name, h.status])).toEqual([
      ['auth', 'UNHEALTHY'],
      ['db', 'ACTIVE_HEALTHY'],
    ]);
    expect((await call(`${sb.baseUrls.supabaseProject}/${ref}/auth/v1/health`, { headers: { apikey: 'k' } })).status).toBe(503);
    const bad = await call(`${sb.url}/_sandbox/supabase/${ref}`, { method: 'POST', body: { services: { graphql: 'UNHEALTHY' } } });
    expect((bad.json as Json).error).toMatch(/^service: must be one of/);

    const d = (await call(`${sb.url}/_sandbox/netlify/site-z/deploys`, { method: 'POST', body: { branch: 'main', fail: true } }))
      .json as Json;
    await sb.idle();
    expect(((await call(`${sb.baseUrls.netlify}/deploys/${d.id}`, { headers: bearer })).json as Json).state).toBe('error');

    await call(sb.baseUrls.pagerduty, {
      method: 'POST',
      body: { routing_key: 'rk', event_action: 'trigger', dedup_key: 'k1', payload: { summary: 's', source: 'x', severity: 'info' } },
    });
    expect(((await call(`${sb.url}/_sandbox/pagerduty/events?dedup_key=k1`)).json as Json[]).map((e) => e.event_action)).toEqual([
      'trigger',
    ]);

    const f = (await call(`${sb.url}/_sandbox/faults`, { method: 'POST', body: { vendor: 'slack', path: '**', kind: '5xx', times: null } }))
      .json as Json;
    expect(f.remaining).toBeNull(); // Infinity has no JSON form
    expect((await call(`${sb.url}/_sandbox/faults/${f.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`${sb.url}/_sandbox/faults`)).json).toEqual([]);
  });
});

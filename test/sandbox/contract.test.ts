import type { z } from 'zod';
import * as S from '../../src/platforms/schemas';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { bearer, call, type Answer } from './http';

/**
 * Every sandbox endpoint answers in the shape the platform clients validate: the same zod schemas
 * (src/platforms/schemas), applied to raw responses. Request bodies are checked against the clients'
 * request schemas too, so the two halves agree on both directions.
 */

const REF = 'kteobfyferrukqeolofj';

function valid<T extends z.ZodType>(schema: T, a: Answer | unknown): z.infer<T> {
  const value = a && typeof a === 'object' && 'json' in a && 'status' in a ? (a as Answer).json : a;
  const r = schema.safeParse(value);
  if (!r.success)
    throw new Error(`response does not match the client schema: ${JSON.stringify(r.error.issues)}\n${JSON.stringify(value).slice(0, 800)}`);
  return r.data;
}

describe("sandbox contract: responses validate with the clients' schemas", () => {
  let sb: Sandbox;
  const v = (path: string) => `${sb.baseUrls.vercel}${path}`;
  const n = (path: string) => `${sb.baseUrls.netlify}${path}`;
  const s = (path: string) => `${sb.baseUrls.supabase}${path}`;

  beforeAll(async () => {
    sb = await startSandbox({ timing: 5, autoProvision: false });
    sb.vercel.seedProject('crav-javari');
    sb.netlify.seedSite('aiqueryhub-site');
    sb.supabase.seedProject(REF, { functions: ['ai-query'] });
  });
  afterAll(() => sb.stop());

  it('Vercel: deployments, list (v6 and v7), project, promote, both rollback paths, errors', async () => {
    const body = S.vercelCreateDeploymentBody.parse({
      name: 'crav-javari',
      target: 'production',
      gitSource: { type: 'github', org: 'CR-AudioViz-AI', repo: 'crav-javari', ref: 'main', sha: 'abc1234' },
      meta: { runbookWorkflowId: 'deploy-crav-javari-abc1234' },
    });
    const created = valid(S.vercelDeployment, await call(v('/v13/deployments'), { method: 'POST', headers: bearer, body }));
    expect(created).toMatchObject({ readyState: 'QUEUED', target: 'production', meta: body.meta });
    expect(created.url).not.toMatch(/^https?:/);
    await sb.idle();
    const byId = valid(S.vercelDeployment, await call(v(`/v13/deployments/${created.id}`), { headers: bearer }));
    expect(byId).toMatchObject({ readyState: 'READY', readySubstate: 'STAGED' });
    valid(S.vercelDeployment, await call(v(`/v13/deployments/${encodeURIComponent(created.url)}`), { headers: bearer }));

    for (const version of ['v6', 'v7']) {
      const list = valid(
        S.vercelDeploymentList,
        await call(v(`/${version}/deployments?projectId=crav-javari&meta-runbookWorkflowId=deploy-crav-javari-abc1234`), {
          headers: bearer,
        }),
      );
      expect(list.deployments.map((d) => d.uid)).toEqual([created.id]);
    }

    expect((await call(v(`/v10/projects/crav-javari/promote/${created.id}`), { method: 'POST', headers: bearer })).status).toBe(202);
    await sb.idle();
    const project = valid(S.vercelProject, await call(v('/v9/projects/crav-javari'), { headers: bearer }));
    expect(project.lastAliasRequest).toMatchObject({ type: 'promote', jobStatus: 'succeeded', toDeploymentId: created.id });

    const candidates = valid(
      S.vercelDeploymentList,
      await call(v('/v7/deployments?projectId=crav-javari&target=production&state=READY'), { headers: bearer }),
    );
    const previous = candidates.deployments.find((d) => d.uid !== created.id && d.isRollbackCandidate)!;
    for (const version of ['v1', 'v9']) {
      const rb = await call(v(`/${version}/projects/crav-javari/rollback/${previous.uid}?description=test`), {
        method: 'POST',
        headers: bearer,
      });
      expect(rb.status).toBe(201);
      expect(rb.text).toBe('');
      await sb.idle();
    }

    const missing = await call(v('/v13/deployments/dpl_missing'), { headers: bearer });
    expect(missing.status).toBe(404);
    valid(S.vercelError, missing);
    const noToken = await call(v('/v9/projects/crav-javari'));
    expect(noToken.status).toBe(403);
    expect(valid(S.vercelError, noToken).error.code).toBe('forbidden');
    const bad = await call(v('/v13/deployments'), { method: 'POST', headers: bearer, body: { target: 'production' } });
    expect(bad.status).toBe(400);
    expect(valid(S.vercelError, bad).error.message).toMatch(/name/);
    const unknownProject = await call(v('/v9/projects/no-such-project'), { headers: bearer });
    expect(unknownProject.status).toBe(404);
  });

  it('Vercel: rolling release config, start, approve-stage, complete', async () => {
    const config = S.vercelRollingReleaseConfigBody.parse({
      enabled: true,
      advancementType: 'manual-approval',
      stages: [{ targetPercentage: 10 }, { targetPercentage: 50 }, { targetPercentage: 100 }],
    });
    expect(
      (await call(v('/v1/projects/crav-javari/rolling-release/config'), { method: 'PATCH', headers: bearer, body: config })).status,
    ).toBe(200);
    const canary = valid(
      S.vercelDeployment,
      await call(v('/v13/deployments'), { method: 'POST', headers: bearer, body: { name: 'crav-javari', target: 'production' } }),
    );
    await sb.idle();
    const started = valid(
      S.vercelRollingReleaseResponse,
      await call(v('/v1/projects/crav-javari/rolling-release/start'), {
        method: 'POST',
        headers: bearer,
        body: { canaryDeploymentId: canary.id },
      }),
    );
    expect(started.rollingRelease).toMatchObject({
      state: 'ACTIVE',
      activeStage: { index: 0, targetPercentage: 10 },
      canaryDeployment: { id: canary.id },
    });
    const got = valid(
      S.vercelRollingReleaseResponse,
      await call(v('/v1/projects/crav-javari/rolling-release?state=ACTIVE'), { headers: bearer }),
    );
    expect(got.rollingRelease?.nextStage).toMatchObject({ index: 1, targetPercentage: 50 });
    const approved = valid(
      S.vercelRollingReleaseResponse,
      await call(v('/v1/projects/crav-javari/rolling-release/approve-stage'), {
        method: 'POST',
        headers: bearer,
        body: { nextStageIndex: 1, canaryDeploymentId: canary.id },
      }),
    );
    expect(approved.rollingRelease?.activeStage?.targetPercentage).toBe(50);
    const done = valid(
      S.vercelRollingReleaseResponse,
      await call(v('/v1/projects/crav-javari/rolling-release/complete'), {
        method: 'POST',
        headers: bearer,
        body: { canaryDeploymentId: canary.id },
      }),
    );
    expect(done.rollingRelease?.state).toBe('COMPLETE');
    const none = valid(
      S.vercelRollingReleaseResponse,
      await call(v('/v1/projects/crav-javari/rolling-release?state=ACTIVE'), { headers: bearer }),
    );
    expect(none.rollingRelease).toBeNull();
    await call(v('/v1/projects/crav-javari/rolling-release/config'), { method: 'PATCH', headers: bearer, body: { enabled: false } });
  });

  it('Vercel: env list, upsert (one and many), patch, 409 without upsert, runtime logs', async () => {
    const envs = valid(S.vercelEnvList, await call(v('/v10/projects/crav-javari/env?decrypt=true'), { headers: bearer }));
    expect(envs.envs.map((e) => e.key)).toContain('OPENAI_API_KEY');
    const one = S.vercelEnvInput.parse({ key: 'FEATURE_FLAG', value: 'on', type: 'plain', target: ['production'] });
    const created = await call(v('/v10/projects/crav-javari/env?upsert=true'), { method: 'POST', headers: bearer, body: one });
    expect(created.status).toBe(201);
    const res = valid(S.vercelEnvUpsertResult, created);
    const many = await call(v('/v10/projects/crav-javari/env?upsert=true'), {
      method: 'POST',
      headers: bearer,
      body: [one, { key: 'OTHER', value: 'x', type: 'encrypted', target: ['production', 'preview'] }].map((e) => S.vercelEnvInput.parse(e)),
    });
    expect(Array.isArray(valid(S.vercelEnvUpsertResult, many).created)).toBe(true);
    const dup = await call(v('/v10/projects/crav-javari/env'), { method: 'POST', headers: bearer, body: one });
    expect(dup.status).toBe(409);
    const id = Array.isArray(res.created) ? res.created[0].id : res.created.id;
    const patched = valid(
      S.vercelEnvVar,
      await call(v(`/v9/projects/crav-javari/env/${id}`), {
        method: 'PATCH',
        headers: bearer,
        body: S.vercelEnvPatch.parse({ value: 'off' }),
      }),
    );
    expect(patched.value).toBe('off');

    const prod = sb.apps.production('crav-javari')!.current!;
    await call(`${sb.apps.deploymentUrl(prod)}/api/health`);
    await call(`${sb.apps.deploymentUrl(prod)}/pricing`);
    const logs = await call(v(`/v1/projects/crav-javari/deployments/${prod}/runtime-logs`), {
      headers: { ...bearer, accept: 'application/stream+json' },
    });
    expect(logs.headers.get('content-type')).toMatch(/application\/stream\+json/);
    const lines = logs.text
      .trim()
      .split('\n')
      .map((l) => valid(S.vercelRuntimeLog, JSON.parse(l)));
    expect(lines.map((l) => l.requestPath)).toEqual(expect.arrayContaining(['/api/health', '/pricing']));
  });

  it('Netlify: list with Link pages, get both ways, restore, rollback, cancel, errors', async () => {
    const first = await call(n('/sites/aiqueryhub-site/deploys?per_page=1'), { headers: bearer });
    const page1 = valid(S.netlifyDeployList, first);
    expect(page1).toHaveLength(1);
    expect(first.headers.get('link')).toMatch(/page=2.*rel="next"/);
    const all = valid(S.netlifyDeployList, await call(n('/sites/aiqueryhub-site/deploys?production=true'), { headers: bearer }));
    expect(all.length).toBe(2);
    valid(S.netlifyDeploy, await call(n(`/sites/aiqueryhub-site/deploys/${all[1].id}`), { headers: bearer }));
    valid(S.netlifyDeploy, await call(n(`/deploys/${all[1].id}`), { headers: bearer }));

    const restored = await call(n(`/sites/aiqueryhub-site/deploys/${all[1].id}/restore`), { method: 'POST', headers: bearer });
    expect(restored.status).toBe(201);
    expect(valid(S.netlifyDeploy, restored).published_at).toBeTruthy();
    expect(sb.apps.production('aiqueryhub-site')!.current).toBe(all[1].id);
    const rb = await call(n('/sites/aiqueryhub-site/rollback'), { method: 'PUT', headers: bearer });
    expect(rb.status).toBe(204);

    const building = sb.netlify.createDeploy('aiqueryhub-site', { branch: 'main', commitRef: 'f00' });
    const cancelled = await call(n(`/deploys/${building.id}/cancel`), { method: 'POST', headers: bearer });
    expect(cancelled.status).toBe(201);
    expect(valid(S.netlifyDeploy, cancelled)).toMatchObject({ state: 'error', error_message: 'Canceled build' });

    const missing = await call(n('/deploys/nope'), { headers: bearer });
    expect(missing.status).toBe(404);
    valid(S.netlifyError, missing);
    expect((await call(n('/sites/aiqueryhub-site/deploys'))).status).toBe(401);
  });

  it('Supabase: project, health, backups, PITR, query, functions, deploy, gateway', async () => {
    expect(valid(S.supabaseProject, await call(s(`/v1/projects/${REF}`), { headers: bearer })).status).toBe('ACTIVE_HEALTHY');
    const health = valid(
      S.supabaseHealth,
      await call(s(`/v1/projects/${REF}/health?services=db&services=auth&services=rest,storage`), { headers: bearer }),
    );
    expect(health.map((h) => h.name)).toEqual(['db', 'auth', 'rest', 'storage']);
    const noServices = await call(s(`/v1/projects/${REF}/health`), { headers: bearer });
    expect(noServices.status).toBe(400);
    valid(S.supabaseError, noServices);
    const backups = valid(S.supabaseBackups, await call(s(`/v1/projects/${REF}/database/backups`), { headers: bearer }));
    expect(backups.pitr_enabled).toBe(true);

    const target = S.supabasePitrRestoreBody.parse({
      recovery_time_target_unix: backups.physical_backup_data.latest_physical_backup_date_unix! - 600,
    });
    const restore = await call(s(`/v1/projects/${REF}/database/backups/restore-pitr`), { method: 'POST', headers: bearer, body: target });
    expect(restore.status).toBe(201);
    expect(restore.text).toBe('');
    await sb.idle();

    const rows = await call(s(`/v1/projects/${REF}/database/query`), {
      method: 'POST',
      headers: bearer,
      body: S.supabaseQueryBody.parse({ query: 'select 1' }),
    });
    expect(rows.status).toBe(201);
    expect(valid(S.supabaseQueryResult, rows)).toEqual([{ '?column?': 1 }]);

    const fns = valid(S.supabaseFunctions, await call(s(`/v1/projects/${REF}/functions`), { headers: bearer }));
    expect(fns.map((f) => f.slug)).toEqual(['ai-query']);
    const form = new FormData();
    form.append('metadata', JSON.stringify({ entrypoint_path: 'index.ts', name: 'telegram-webhook' }));
    form.append('file', new Blob(['Deno.serve(() => new Response("ok"))']), 'index.ts');
    const deployed = await fetch(s(`/v1/projects/${REF}/functions/deploy?slug=telegram-webhook`), {
      method: 'POST',
      headers: bearer,
      body: form,
    });
    expect(deployed.status).toBe(201);
    expect(valid(S.supabaseFunction, await deployed.json())).toMatchObject({ slug: 'telegram-webhook', version: 1, status: 'ACTIVE' });

    const gw = `${sb.baseUrls.supabaseProject}/${REF}`;
    valid(S.supabaseAuthHealth, await call(`${gw}/auth/v1/health`, { headers: { apikey: 'anon' } }));
    expect((await call(`${gw}/auth/v1/health`)).status).toBe(401);
    const fn = await call(`${gw}/functions/v1/ai-query`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-a-jwt', apikey: 'anon' },
      body: {},
    });
    expect(fn.status).toBe(401);
    expect(fn.json).toEqual({ code: 401, message: 'Invalid JWT' });
  });

  it('provider status pages: status.json and summary.json for OpenAI and Anthropic', async () => {
    sb.providers.set('anthropic', { indicator: 'major' });
    for (const name of ['openai', 'anthropic'] as const) {
      const status = valid(S.providerStatus, await call(sb.baseUrls.providers[name]));
      expect(status.status.indicator).toBe(name === 'anthropic' ? 'major' : 'none');
      const summary = valid(S.providerSummary, await call(sb.baseUrls.providers[name].replace(/status\.json$/, 'summary.json')));
      expect(summary.incidents.length).toBe(name === 'anthropic' ? 1 : 0);
    }
    sb.providers.set('anthropic', { indicator: 'none', incidents: [{ name: 'Monitoring a fix', status: 'monitoring' }] });
    const monitoring = valid(S.providerSummary, await call(sb.baseUrls.providers.anthropic.replace(/status\.json$/, 'summary.json')));
    expect(monitoring.status.indicator).toBe('none');
    expect(monitoring.incidents[0].status).toBe('monitoring');
  });

  it('Statuspage: create 201, patch, unresolved list, 422 on a blank name', async () => {
    const auth = { authorization: 'OAuth sandbox-key' };
    const body = S.statuspageIncidentBody.parse({
      incident: {
        name: 'API errors',
        status: 'investigating',
        impact_override: 'major',
        body: 'Looking into it',
        deliver_notifications: true,
      },
    });
    const created = await call(`${sb.baseUrls.statuspage}/pages/javariai/incidents`, { method: 'POST', headers: auth, body });
    expect(created.status).toBe(201);
    const inc = valid(S.statuspageIncident, created);
    expect(inc).toMatchObject({ status: 'investigating', impact: 'major' });
    expect(inc.shortlink).toBeTruthy();
    const unresolved = valid(
      S.statuspageIncidentList,
      await call(`${sb.baseUrls.statuspage}/pages/javariai/incidents/unresolved`, { headers: auth }),
    );
    expect(unresolved.map((i) => i.id)).toContain(inc.id);
    const patch = S.statuspageIncidentPatchBody.parse({ incident: { status: 'resolved', body: 'Fixed' } });
    const resolved = valid(
      S.statuspageIncident,
      await call(`${sb.baseUrls.statuspage}/pages/javariai/incidents/${inc.id}`, { method: 'PATCH', headers: auth, body: patch }),
    );
    expect(resolved.resolved_at).toBeTruthy();
    expect(
      valid(S.statuspageIncidentList, await call(`${sb.baseUrls.statuspage}/pages/javariai/incidents/unresolved`, { headers: auth })),
    ).toEqual([]);
    const blank = await call(`${sb.baseUrls.statuspage}/pages/javariai/incidents`, {
      method: 'POST',
      headers: auth,
      body: { incident: { name: '' } },
    });
    expect(blank.status).toBe(422);
    valid(S.statuspageError, blank);
  });

  it('PagerDuty: 202 with dedup_key, 400 naming the invalid field', async () => {
    const event = S.pagerdutyEventBody.parse({
      routing_key: 'sandbox-routing-key',
      event_action: 'trigger',
      dedup_key: 'incident-42',
      payload: { summary: 'API error rate 6%', source: 'javari-web', severity: 'critical' },
    });
    const ok = await call(sb.baseUrls.pagerduty, { method: 'POST', body: event });
    expect(ok.status).toBe(202);
    expect(valid(S.pagerdutyEventResult, ok).dedup_key).toBe('incident-42');
    for (const [broken, field] of [
      [{ ...event, routing_key: undefined }, 'routing_key'],
      [{ ...event, payload: { ...event.payload, summary: '' } }, 'payload.summary'],
      [{ ...event, payload: { ...event.payload, severity: 'sev1' } }, 'payload.severity'],
      [{ routing_key: 'k', event_action: 'resolve' }, 'dedup_key'],
    ] as const) {
      const res = await call(sb.baseUrls.pagerduty, { method: 'POST', body: broken });
      expect(res.status).toBe(400);
      expect(valid(S.pagerdutyError, res).errors!.join(' ')).toContain(`'${field}'`);
    }
    expect(sb.pagerduty.events('incident-42')).toHaveLength(1);
  });

  it('Slack and Telegram: accepted messages, revoked hook, Telegram failures', async () => {
    const hook = `${sb.baseUrls.slack}/services/T0/B0/secret`;
    const ok = await call(hook, { method: 'POST', body: S.slackMessageBody.parse({ text: 'Deploy started' }) });
    expect(ok.status).toBe(200);
    valid(S.slackWebhookResult, ok.text);
    sb.slack.revoke('/services/T0/B0/revoked');
    expect((await call(`${sb.baseUrls.slack}/services/T0/B0/revoked`, { method: 'POST', body: { text: 'x' } })).status).toBe(404);

    const tg = `${sb.baseUrls.telegram}/bot123456:sandbox-token/sendMessage`;
    const sent = await call(tg, {
      method: 'POST',
      body: S.telegramSendMessageBody.parse({ chat_id: '-1001234567890', text: '<b>P1</b> incident', parse_mode: 'HTML' }),
    });
    expect(valid(S.telegramResponse, sent).ok).toBe(true);
    const empty = await call(tg, { method: 'POST', body: { chat_id: 1 } });
    expect(empty.status).toBe(400);
    expect(valid(S.telegramResponse, empty)).toMatchObject({ ok: false, error_code: 400 });
    sb.inject({ vendor: 'telegram', path: '/bot*/sendMessage', kind: '429', retryAfterSeconds: 3 });
    const limited = await call(tg, { method: 'POST', body: { chat_id: 1, text: 'x' } });
    expect(limited.status).toBe(429);
    expect(valid(S.telegramFailure, limited.json).parameters?.retry_after).toBe(3);
  });

  it('sample app: /api/health in the runbook shape and /api/metrics', async () => {
    const url = sb.apps.productionUrl('crav-javari');
    const health = valid(S.appHealth, await call(`${url}/api/health`));
    expect(health.status).toBe('healthy');
    expect(health.checks.ai_providers).toMatchObject({ status: 'healthy', openai: 'operational', anthropic: 'operational' });
    const metrics = valid(S.appMetrics, await call(`${url}${S.APP_METRICS_PATH}`));
    expect(metrics.requests).toBeGreaterThan(0);
  });
});

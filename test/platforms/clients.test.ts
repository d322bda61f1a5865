import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPlatformClients, deploymentUrl, PlatformError, type PlatformClients } from '../../src/platforms';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { sandboxConfigOverrides } from '../../src/sandbox/config';
import type { RunbookConfig } from '../../src/config/schema';
import { testConfig } from '../harness';

/** Each client against the sandbox: the calls it makes (call log) and what it makes of the answers. */

const PROJECT = 'crav-javari';
const REF = 'kteobfyferrukqeolofj';
let sandbox: Sandbox;
let config: RunbookConfig;
let env: Record<string, string>;
let p: PlatformClients;

beforeAll(async () => {
  sandbox = await startSandbox({ timing: { buildStepMs: 20, aliasStepMs: 20, restoreStepMs: 1500, stageMinuteMs: 20 } });
  const base = testConfig({
    notifications: {
      slack: { webhookUrlEnv: 'SLACK_WEBHOOK_URL' },
      telegram: { botTokenEnv: 'TELEGRAM_BOT_TOKEN', chatId: 4242 },
      statuspage: { pageId: 'javariai', apiKeyEnv: 'STATUSPAGE_API_KEY' },
    },
  });
  ({ config, env } = sandboxConfigOverrides(sandbox, base, { requestTimeoutMs: 2000 }));
  p = createPlatformClients(config, env);
});
afterAll(() => sandbox?.stop());
beforeEach(() => {
  sandbox.clearFaults();
  sandbox.clearCalls();
});

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as PlatformError,
  );

describe('Vercel', () => {
  test('listing follows until=pagination.next across pages', async () => {
    for (let i = 0; i < 5; i++) await p.vercel.createDeployment({ name: PROJECT, project: PROJECT });
    sandbox.clearCalls();
    const all = await p.vercel.listAllDeployments({ projectId: PROJECT, limit: 2 });
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect(new Set(all.map((d) => d.uid)).size).toBe(all.length);
    const calls = sandbox.calls({ vendor: 'vercel', method: 'GET', pathPrefix: '/v7/deployments' });
    expect(calls.length).toBeGreaterThanOrEqual(Math.ceil(all.length / 2));
    expect(calls[0].query.until).toBeUndefined();
    // Each next page starts below the last item of the page before.
    calls.slice(1).forEach((c, i) => expect(Number(c.query.until)).toBe(all[2 * i + 1].created));
  });

  test('a deployment goes READY, promote finishes its alias job, production serves it', async () => {
    const created = await p.vercel.createDeployment({ name: PROJECT, project: PROJECT, target: 'production' });
    const ready = await p.vercel.waitForDeployment(created.id, { intervalMs: 20, timeoutMs: 5000 });
    expect(ready.readyState).toBe('READY');
    await p.vercel.promote(PROJECT, created.id);
    const project = await p.vercel.waitForAliasJob(PROJECT, created.id, { intervalMs: 20, timeoutMs: 5000 });
    expect(project.lastAliasRequest).toMatchObject({ toDeploymentId: created.id, jobStatus: 'succeeded', type: 'promote' });
    expect(sandbox.apps.production(PROJECT)?.current).toBe(created.id);
    const health = await p.probe.health(deploymentUrl(created.url));
    expect(health).toMatchObject({ status: 200, health: { status: 'healthy' } });
  });

  test('env upsert and runtime logs parse', async () => {
    const upserted = await p.vercel.upsertEnv(PROJECT, [{ key: 'FEATURE_X', value: 'on', type: 'encrypted', target: ['production'] }]);
    expect(upserted.failed).toEqual([]);
    const keys = (await p.vercel.listEnv(PROJECT)).map((e) => e.key);
    expect(keys).toEqual(expect.arrayContaining(['FEATURE_X', 'OPENAI_API_KEY']));
    const [dep] = await p.vercel.listAllDeployments({ projectId: PROJECT, state: ['READY'] }, 1);
    await p.probe.get(`${deploymentUrl(dep.url)}/api/health`);
    const logs = await p.vercel.runtimeLogs(PROJECT, dep.uid);
    expect(Array.isArray(logs)).toBe(true);
    expect(sandbox.calls({ vendor: 'vercel', pathPrefix: `/v1/projects/${PROJECT}/deployments` })[0].headers.accept).toBe(
      'application/stream+json',
    );
  });
});

describe('rate limits per vendor', () => {
  test('Netlify 429 without Retry-After: the wait comes from X-RateLimit-Reset', async () => {
    sandbox.netlify.seedSite('javari-site');
    sandbox.inject({ vendor: 'netlify', method: 'GET', path: '/sites/*/deploys', kind: '429', retryAfterSeconds: 3 });
    const err = await failure(p.netlify.listDeploys('javari-site', { page: 1, perPage: 10 }));
    expect(err).toMatchObject({ kind: 'rate-limited', retryable: true, status: 429 });
    expect(err!.retryAfterMs).toBeGreaterThan(1000);
    expect(err!.retryAfterMs).toBeLessThanOrEqual(4000);
    expect(sandbox.calls({ vendor: 'netlify' })[0].query).toMatchObject({ page: '1', per_page: '10' });
  });

  test('Telegram 429: parameters.retry_after, and the bot token never in the message', async () => {
    sandbox.inject({ vendor: 'telegram', path: '/bot*/sendMessage', kind: '429', retryAfterSeconds: 5 });
    const err = await failure(p.telegram.sendMessage('P1 incident opened'));
    expect(err).toMatchObject({ kind: 'rate-limited', retryAfterMs: 5000, endpoint: 'POST /bot{token}/sendMessage' });
    expect(err!.message).not.toContain(env.TELEGRAM_BOT_TOKEN);
    const sent = await p.telegram.sendMessage('P1 incident opened');
    expect(sent.message_id).toBeGreaterThan(0);
    expect(sandbox.telegram.messages(4242).map((m) => m.text)).toContain('P1 incident opened');
  });

  test('Supabase 429: Retry-After honoured (60 s assumed only when the answer names no wait)', async () => {
    sandbox.inject({ vendor: 'supabase', path: '/v1/projects/*', kind: '429', retryAfterSeconds: 4 });
    const err = await failure(p.supabase.getProject());
    expect(err).toMatchObject({ kind: 'rate-limited', retryable: true, retryAfterMs: 4000 });
  });
});

describe('Supabase', () => {
  test('health sends services repeated; PITR restore moves the project through RESTORING', async () => {
    const health = await p.supabase.health(['db', 'auth', 'storage']);
    expect(health.map((h) => h.name).sort()).toEqual(['auth', 'db', 'storage']);
    expect(sandbox.calls({ vendor: 'supabase', pathPrefix: `/v1/projects/${REF}/health` })[0].query.services).toEqual([
      'db',
      'auth',
      'storage',
    ]);
    const target = Math.floor(Date.now() / 1000) - 120;
    await p.supabase.restorePitr(target);
    expect(sandbox.supabase.restores(REF).map((r) => r.recovery_time_target_unix)).toEqual([target]);
    expect((await p.supabase.getProject()).status).toBe('RESTORING');
    await sandbox.idle();
    expect((await p.supabase.getProject()).status).toBe('ACTIVE_HEALTHY');
  });

  test('edge function: 401 to an invalid JWT is "up", a function that fails to boot is "down"', async () => {
    sandbox.supabase.seedProject(REF, { functions: ['ai-query'] });
    expect(await p.supabase.edgeFunction('ai-query')).toMatchObject({ status: 401, up: true });
    sandbox.supabase.setFunctionDown(REF, 'ai-query', true);
    expect(await p.supabase.edgeFunction('ai-query')).toMatchObject({ status: 503, up: false });
  });
});

describe('notifications', () => {
  test('Statuspage: the same identity opens one incident; a new one after it resolves', async () => {
    const identity = 'incident-javari-web-20261122-0312';
    const first = await p.statuspage.findOrCreateIncident({
      identity,
      name: 'Elevated errors',
      status: 'investigating',
      body: 'Investigating',
    });
    const again = await p.statuspage.findOrCreateIncident({
      identity,
      name: 'Elevated errors',
      status: 'investigating',
      body: 'Investigating',
    });
    expect(first.created).toBe(true);
    expect(again).toMatchObject({ created: false, incident: { id: first.incident.id } });
    expect(sandbox.calls({ vendor: 'statuspage', method: 'POST' })).toHaveLength(1);
    expect(sandbox.calls({ vendor: 'statuspage', method: 'POST' })[0].headers.authorization).toBe('[redacted]');
    await p.statuspage.updateIncident(first.incident.id, { status: 'resolved', body: 'Resolved' });
    const later = await p.statuspage.findOrCreateIncident({ identity, name: 'Elevated errors', status: 'investigating' });
    expect(later.created).toBe(true);
  });

  test('PagerDuty: trigger, acknowledge and resolve share the dedup key; a missing routing key names the variable', async () => {
    await p.pagerduty.trigger({ dedupKey: 'incident-42', summary: 'API down', source: 'javari-web', severity: 'critical' });
    await p.pagerduty.acknowledge('incident-42');
    await p.pagerduty.resolve('incident-42');
    const events = sandbox.pagerduty.events('incident-42');
    expect(events.map((e) => e.event_action)).toEqual(['trigger', 'acknowledge', 'resolve']);
    expect(events[0].routing_key).toBe(env.PAGERDUTY_ROUTING_KEY);
    expect(sandbox.pagerduty.alerts()['incident-42']).toBe('resolved');

    const noKey = createPlatformClients(config, { ...env, PAGERDUTY_ROUTING_KEY: '' });
    sandbox.clearCalls();
    const err = await failure(noKey.pagerduty.trigger({ dedupKey: 'x', summary: 's', source: 's', severity: 'info' }));
    expect(err).toMatchObject({ retryable: false });
    expect(err!.message).toContain('PAGERDUTY_ROUTING_KEY is not set');
    expect(sandbox.calls({ vendor: 'pagerduty' })).toHaveLength(0);
  });

  test('Slack: posts the text; a revoked webhook is final and says which variable to replace', async () => {
    await p.slack.post({ text: 'Deploy of javari-web promoted' });
    expect(sandbox.slack.messages().map((m) => m.text)).toContain('Deploy of javari-web promoted');
    const hook = new URL(env.SLACK_WEBHOOK_URL).pathname.replace(/^\/slack/, '');
    sandbox.slack.revoke(hook);
    const err = await failure(p.slack.post({ text: 'again' }));
    expect(err).toMatchObject({ status: 404, retryable: false, kind: 'not-found' });
    expect(err!.message).toContain('the webhook URL in SLACK_WEBHOOK_URL was revoked');
    expect(err!.message).not.toContain(hook);
  });
});

describe('provider pages and app probes', () => {
  test('provider indicator as the sandbox sets it', async () => {
    sandbox.providers.set('openai', { indicator: 'major', description: 'Partial outage' });
    expect((await p.providers.status('openai')).status).toEqual({ indicator: 'major', description: 'Partial outage' });
    expect((await p.providers.summary('openai')).status.indicator).toBe('major');
    sandbox.providers.set('openai', { indicator: 'none' });
    const err = await failure(p.providers.status('mistral'));
    expect(err!.message).toContain('platforms.providers');
  });

  test('a degraded release shows in health and metrics; a hung app is an observation, not an exception', async () => {
    const prod = config.services[0].productionUrl;
    const live = sandbox.apps.production(PROJECT)!.current!;
    sandbox.apps.degrade(live, { healthy: false, errorRate: 7.5, p99Ms: 12_000 });
    const health = await p.probe.health(prod);
    expect(health).toMatchObject({ status: 503, health: { status: 'degraded' } });
    expect(await p.probe.metrics(prod)).toMatchObject({ errorRate: 7.5, p99Ms: 12_000 });
    sandbox.apps.degrade(live, { delayMs: 3000 });
    const hung = await p.probe.health(prod);
    expect(hung).toMatchObject({ status: null, error: 'no answer within 2000 ms' });
    sandbox.apps.restore(live);
  });
});

describe('cancellation and heartbeats inside an activity', () => {
  test('a poll heartbeats each observation and stops when the activity is cancelled', async () => {
    const activity = new MockActivityEnvironment();
    const beats: unknown[] = [];
    activity.on('heartbeat', (d: unknown) => {
      beats.push(d);
      if (beats.length === 3) activity.cancel();
    });
    // No alias job ever targets this id, so only cancellation ends the poll.
    const err = await activity.run(() => p.vercel.waitForAliasJob(PROJECT, 'dpl_never', { intervalMs: 30 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(beats).toHaveLength(3);
    const polls = sandbox.calls({ vendor: 'vercel', method: 'GET', pathPrefix: `/v9/projects/${PROJECT}` }).length;
    await new Promise((r) => setTimeout(r, 150));
    expect(sandbox.calls({ vendor: 'vercel', method: 'GET', pathPrefix: `/v9/projects/${PROJECT}` }).length).toBe(polls);
  });

  test('an in-flight request is aborted by cancellation instead of waiting for its timeout', async () => {
    sandbox.inject({ vendor: 'vercel', method: 'GET', path: '/v9/projects/*', kind: 'delay', delayMs: 5000 });
    const activity = new MockActivityEnvironment();
    const started = Date.now();
    setTimeout(() => activity.cancel(), 200);
    const err = await activity.run(() => p.vercel.getProject(PROJECT)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

import { createNotificationActivities } from '../../src/activities/incident/notifications';
import { createPlaybookActivities } from '../../src/activities/incident/playbooks';
import { uniqueName } from '../harness';
import { incidentConfig, incidentStack, type IncidentStack } from './helpers';

/**
 * The incident's side effects against the sandbox and a real ops database: a chat post or a status page update is
 * made once even when two attempts overlap or an attempt dies between the call and its record, and a playbook reads
 * the one production variable it needs, not all of them decrypted.
 */
describe('incident side effects: once, and least secrets', () => {
  let stack: IncidentStack;
  const base = incidentConfig();
  // Both chats, as in the second runbook.
  const config = {
    ...base,
    notifications: { ...base.notifications, telegram: { botTokenEnv: 'TELEGRAM_BOT_TOKEN', chatId: '-1001234567890' } },
  };
  beforeAll(async () => {
    stack = await incidentStack(config);
  });
  afterAll(async () => {
    await stack?.close();
  });
  const posts = (vendor: 'slack' | 'telegram') => stack.sandbox.calls({ vendor, method: 'POST' }).filter((c) => c.status === 200).length;
  const notifications = () => createNotificationActivities(stack.deps);

  it('two overlapping attempts of one chat post make one post per channel; the second waits, then finds it done', async () => {
    const chainId = uniqueName('chain');
    const [slack, telegram] = [posts('slack'), posts('telegram')];
    // The first attempt's Slack post is slow, so the second attempt arrives while it is in flight.
    stack.sandbox.inject({ vendor: 'slack', path: '**', kind: 'delay', delayMs: 500 });
    const args = { chainId, effect: 'chat-7', text: 'Incident opened' };
    const attempts = await Promise.allSettled([notifications().postToChat(args), notifications().postToChat(args)]);
    expect(attempts.find((a) => a.status === 'fulfilled')).toMatchObject({ value: { channels: ['Slack', 'Telegram'] } });
    expect(attempts.find((a) => a.status === 'rejected')).toMatchObject({ reason: { type: 'SideEffectInProgress' } });
    // Temporal retries the second attempt: nothing is posted again.
    await notifications().postToChat(args);
    expect([posts('slack') - slack, posts('telegram') - telegram]).toEqual([1, 1]);
  });

  it('an attempt that died between posting and recording is not repeated: the post is recorded as uncertain', async () => {
    const chainId = uniqueName('chain');
    const [slack, telegram] = [posts('slack'), posts('telegram')];
    // The dead attempt claimed the Slack post two minutes ago (longer than the activity timeout) and never recorded it.
    await stack.ops.pool.query(
      `INSERT INTO incident_side_effects (effect_id, incident_id, kind, claim, claimed_at, done_at)
       VALUES ($1, $2, 'chat', 'dead-attempt', now() - interval '2 minutes', NULL)`,
      [`${chainId}:chat-9:slack`, chainId],
    );
    await notifications().postToChat({ chainId, effect: 'chat-9', text: 'Escalated' });
    expect([posts('slack') - slack, posts('telegram') - telegram]).toEqual([0, 1]);
    const { rows } = await stack.ops.pool.query<{ effect_id: string; outcome: string; done: boolean }>(
      `SELECT effect_id, outcome, done_at IS NOT NULL AS done FROM incident_side_effects WHERE incident_id = $1 ORDER BY effect_id`,
      [chainId],
    );
    expect(rows).toEqual([
      { effect_id: `${chainId}:chat-9:slack`, outcome: 'uncertain', done: true },
      { effect_id: `${chainId}:chat-9:telegram`, outcome: 'done', done: true },
    ]);
  });

  it('a failed post releases its claim, so the retry posts', async () => {
    const chainId = uniqueName('chain');
    const slack = posts('slack');
    stack.sandbox.inject({ vendor: 'slack', path: '**', kind: '5xx', status: 503, times: 20 });
    await expect(notifications().postToChat({ chainId, effect: 'chat-3', text: 'Mitigated' })).rejects.toThrow();
    stack.sandbox.clearFaults();
    await notifications().postToChat({ chainId, effect: 'chat-3', text: 'Mitigated' });
    expect(posts('slack') - slack).toBe(1);
  });

  it('the ops database lost for a moment right after a post: the record waits for it, so the retry finds the post done', async () => {
    const chainId = uniqueName('chain');
    const slack = posts('slack');
    // PostgreSQL restarting as the post is recorded: the first two tries of the record fail as pg reports a shutdown.
    let refused = 0;
    const ops = new Proxy(stack.deps.ops, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver) as unknown;
        return (text: string, values?: unknown[]) => {
          if (/^UPDATE incident_side_effects/.test(text) && refused < 2) {
            refused++;
            return Promise.reject(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }));
          }
          return target.query(text, values);
        };
      },
    });
    const during = createNotificationActivities({ ...stack.deps, ops });
    await expect(during.postToChat({ chainId, effect: 'chat-5', text: 'Investigating' })).resolves.toMatchObject({
      channels: ['Slack', 'Telegram'],
    });
    expect(refused).toBe(2);
    // Temporal's next attempt (or a replay of this one) finds both posts done at once, with no lease to wait out.
    await expect(notifications().postToChat({ chainId, effect: 'chat-5', text: 'Investigating' })).resolves.toBeDefined();
    expect(posts('slack') - slack).toBe(1);
    const { rows } = await stack.ops.pool.query<{ done: boolean }>(
      `SELECT done_at IS NOT NULL AS done FROM incident_side_effects WHERE incident_id = $1`,
      [chainId],
    );
    expect(rows.map((r) => r.done)).toEqual([true, true]);
  });

  it('a status page update is made once: after a crash past the update, in overlapping attempts, and without an effect id', async () => {
    const incidentId = uniqueName('inc');
    const chainId = uniqueName('chain');
    const sp = await notifications().openStatuspage({ incidentId, title: 'API errors', severity: 'P1', body: 'Investigating.' });
    const patches = () =>
      stack.sandbox.calls({ vendor: 'statuspage', method: 'PATCH' }).filter((c) => c.path.endsWith(`/incidents/${sp.id}`)).length;
    const updates = () => stack.sandbox.statuspage.incidents().find((i) => i.id === sp.id)!.incident_updates.length;
    const before = updates();

    stack.sandbox.inject({ vendor: 'statuspage', method: 'PATCH', path: '**', kind: 'delay', delayMs: 500 });
    const identified = { statuspageId: sp.id, status: 'identified' as const, body: 'Cause found.', chainId, effect: 'statuspage-5' };
    const [a, b] = await Promise.allSettled([notifications().updateStatuspage(identified), notifications().updateStatuspage(identified)]);
    expect([a.status, b.status].sort()).toEqual(['fulfilled', 'rejected']);
    await notifications().updateStatuspage(identified); // the retry of the refused attempt
    expect(patches()).toBe(1);

    // A crash after the update but before its record: the claim is stale, and the page already says monitoring.
    await notifications().updateStatuspage({ statuspageId: sp.id, status: 'monitoring', body: 'Fix deployed.' });
    await stack.ops.pool.query(
      `INSERT INTO incident_side_effects (effect_id, incident_id, kind, claim, claimed_at, done_at)
       VALUES ($1, $2, 'statuspage', 'dead-attempt', now() - interval '2 minutes', NULL)`,
      [`${chainId}:statuspage-8`, chainId],
    );
    await notifications().updateStatuspage({
      statuspageId: sp.id,
      status: 'monitoring',
      body: 'Fix deployed.',
      chainId,
      effect: 'statuspage-8',
    });
    // A workflow started before effect ids were passed retries too: the page is read before posting.
    await notifications().updateStatuspage({ statuspageId: sp.id, status: 'monitoring', body: 'Fix deployed.' });
    expect(patches()).toBe(2);
    expect(updates() - before).toBe(2);
  });

  it('a playbook reads the one production variable it restores, decrypted alone', async () => {
    const playbooks = createPlaybookActivities(stack.deps);
    const from = stack.sandbox.calls({ vendor: 'vercel' }).length;
    const service = config.services.find((s) => s.platform === 'vercel')!;
    expect(await playbooks.readProductionEnv({ service: service.name, key: 'OPENAI_API_KEY' })).toEqual({
      value: 'sandbox-openai_api_key',
    });
    expect(await playbooks.readProductionEnv({ service: service.name, key: 'NOT_THERE' })).toEqual({ value: null });
    const calls = stack.sandbox.calls({ vendor: 'vercel' }).slice(from);
    expect(calls.filter((c) => c.query.decrypt !== undefined)).toEqual([]);
    expect(calls.map((c) => `${c.method} ${c.path.replace(/env\/[^/]+$/, 'env/{id}')}`)).toEqual([
      `GET /v10/projects/${service.projectId}/env`,
      `GET /v1/projects/${service.projectId}/env/{id}`,
      `GET /v10/projects/${service.projectId}/env`,
    ]);
  });
});

/**
 * End to end, as it runs in production: Alertmanager POSTs to the webhook receiver, the incident workflow runs on a
 * worker against the sandbox, a person acknowledges and approves a rollback, Alertmanager reports the group resolved,
 * the flap guard passes, and the post-mortem draft lands in the ops database.
 */
import { startReceiver, type StartedReceiver } from '../../src/receiver/server';
import { incidentWorkflowId } from '../../src/workflows/common/alerts';
import { acknowledgeUpdate, approveMitigationUpdate, requestMitigationUpdate } from '../../src/workflows/incident/contract';
import { startTestWorker, uniqueName, type TestWorker } from '../harness';
import { bearer, env as receiverEnv, fixture, post } from '../receiver/helpers';
import { incidentConfig, incidentStack, pdTriggers, waitForState, type IncidentStack } from './helpers';

type AmPayload = { groupKey: string; status: string; alerts: { status: string; endsAt: string }[] };

describe('from an Alertmanager POST to a post-mortem draft', () => {
  let stack: IncidentStack;
  let worker: TestWorker;
  let receiver: StartedReceiver;
  const config = incidentConfig({ flapGuard: 1_500 });
  config.temporal.taskQueue = uniqueName('incident_e2e');

  beforeAll(async () => {
    stack = await incidentStack({ ...config, deploy: { ...config.deploy, pollInterval: 100 } });
    worker = await startTestWorker({ deps: stack.deps, taskQueue: config.temporal.taskQueue });
    receiver = await startReceiver({ config, client: worker.client, env: receiverEnv, port: 0, host: '127.0.0.1', deliveryJournal: null });
  });
  afterAll(async () => {
    await receiver?.stop();
    await worker?.close();
    await stack?.close();
  });

  it('pages, is acknowledged, rolls back, resolves through the flap guard and drafts the post-mortem', async () => {
    const { sandbox, ops } = stack;
    const firing = fixture<AmPayload>('alertmanager-firing');
    firing.groupKey = `${firing.groupKey}{run="${uniqueName('e2e')}"}`;
    const id = incidentWorkflowId(`alertmanager:${firing.groupKey}`);
    const url = `${receiver.url}/webhooks/alertmanager`;

    await worker.run(async () => {
      expect(await post(url, firing, bearer())).toMatchObject({ status: 202, body: { incidents: [id] } });
      const handle = worker.client.workflow.getHandle(id);
      let s = await waitForState(handle, (x) => x.escalation.pages.length === 1 && Boolean(x.statuspage), 'paged and on the status page');
      expect(s).toMatchObject({ severity: 'P0', service: 'javari-web', title: 'API error rate above 5% for 5 minutes' });
      expect(pdTriggers(sandbox, id)).toHaveLength(1);

      await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'roy' }] });
      const m = await handle.executeUpdate(requestMitigationUpdate, {
        args: [{ playbook: { kind: 'rollback' }, by: 'roy', reason: 'error rate since the last deploy' }],
      });
      expect((await handle.executeUpdate(approveMitigationUpdate, { args: [{ mitigationId: m.id, by: 'dana' }] })).status).toBe(
        'succeeded',
      );
      expect(sandbox.calls({ vendor: 'vercel', method: 'POST' }).filter((c) => /\/rollback\//.test(c.path))).toHaveLength(1);

      // Alertmanager reports the whole group resolved.
      const resolved = {
        ...firing,
        status: 'resolved',
        alerts: firing.alerts.map((a) => ({ ...a, status: 'resolved', endsAt: new Date().toISOString() })),
      };
      expect(await post(url, resolved, bearer())).toMatchObject({ status: 202, body: { incidents: [id] } });
      s = await waitForState(handle, (x) => x.status === 'postmortem', 'resolution and the post-mortem draft', 20_000);
      expect(s.resolvedBy).toBe('runbook');
      expect(sandbox.pagerduty.alerts()[id]).toBe('resolved');
      expect(sandbox.statuspage.incidents().find((i) => i.name.includes(id))?.status).toBe('resolved');

      const { rows } = await ops.pool.query(
        'SELECT p.markdown FROM incident_postmortems p JOIN incidents i ON i.id = p.incident_id WHERE i.workflow_id = $1',
        [id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0].markdown).toMatch(/Time to acknowledge: \d+s \(by roy\)/);
      expect(rows[0].markdown).toContain('| Alerts | 2 (4 deliveries) |');
      await handle.terminate('test over');
    });
  });
});

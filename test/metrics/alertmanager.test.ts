import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { startReceiver, type StartedReceiver } from '../../src/receiver/server';
import { PROMETHEUS_CONFIG_DIR, startAlertmanager, startPrometheus, type RunningServer } from '../../src/stack/prometheus';
import { acknowledgeUpdate, approveMitigationUpdate, requestMitigationUpdate } from '../../src/workflows/incident/contract';
import { startTestWorker, uniqueName, type TestWorker } from '../harness';
import { incidentConfig, incidentStack, pdTriggers, waitForState, type IncidentStack } from '../incident/helpers';
import { TOKEN, env as receiverEnv } from '../receiver/helpers';

/**
 * The alert path with real parts: the sandbox's sample app degrades, a real Prometheus scrapes it and
 * fires the shipped CriticalErrorRate rule (its window shortened), a real Alertmanager with the shipped
 * routing (short group_wait) POSTs to this receiver with its bearer token, one incident opens; its
 * rollback heals the app, the rule resolves, Alertmanager sends resolved, and the incident resolves
 * through the flap guard.
 */
describe('Prometheus → Alertmanager → receiver → incident, with the real components', () => {
  let stack: IncidentStack;
  let worker: TestWorker;
  let receiver: StartedReceiver;
  let prom: RunningServer;
  let am: RunningServer;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alertmanager-test-'));
  const config = incidentConfig({ flapGuard: 3_000 });
  config.temporal.taskQueue = uniqueName('am_e2e');

  beforeAll(async () => {
    stack = await incidentStack(config);
    worker = await startTestWorker({ deps: stack.deps, taskQueue: config.temporal.taskQueue });
    receiver = await startReceiver({ config, client: worker.client, env: receiverEnv, port: 0, host: '127.0.0.1', deliveryJournal: null });
    am = await startAlertmanager({
      dir,
      receiverUrl: `${receiver.url}/webhooks/alertmanager`,
      token: TOKEN,
      groupWait: '1s',
      groupInterval: '1s',
    });
    // The shipped critical error-rate rule, over 3 s instead of 5 minutes, naming the configured service.
    const shipped = parse(readFileSync(path.join(PROMETHEUS_CONFIG_DIR, 'rules.yml'), 'utf8'));
    const rule = shipped.groups[0].rules.find((r: { alert: string }) => r.alert === 'CriticalErrorRate');
    const rules = path.join(dir, 'rules.yml');
    writeFileSync(
      rules,
      stringify({
        groups: [
          {
            name: 'test',
            rules: [{ ...rule, expr: rule.expr.replaceAll('[5m]', '[3s]'), for: '1s', labels: { ...rule.labels, service: 'javari-web' } }],
          },
        ],
      }),
    );
    prom = await startPrometheus({
      dir,
      targets: [new URL(stack.sandbox.url).host],
      scrapeInterval: '1s',
      rulesFile: rules,
      alertmanager: new URL(am.url).host,
    });
  });
  afterAll(async () => {
    await prom?.stop();
    await am?.stop();
    await receiver?.stop();
    await worker?.close();
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const incidents = async () =>
    (await stack.ops.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM incidents ORDER BY opened_at')).rows.map(
      (r) => r.workflow_id,
    );

  it('fires once, opens exactly one incident, the rollback heals the app, and Alertmanager resolves it through the flap guard', async () => {
    const { sandbox } = stack;
    const route = sandbox.apps.production('crav-javari')!;
    sandbox.apps.degrade(route.current!, { errorRate: 30 });

    await worker.run(async () => {
      let ids: string[] = [];
      for (const until = Date.now() + 30_000; !ids.length && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 250));
        ids = await incidents();
      }
      expect(ids).toHaveLength(1);
      const [id] = ids;
      const handle = worker.client.workflow.getHandle(id);
      let s = await waitForState(handle, (x) => x.escalation.pages.length === 1, 'paged');
      expect(s).toMatchObject({ severity: 'P0', service: 'javari-web' });
      expect(s.title).toMatch(/API error rate [\d.]+% on .* \(above 5%\)/);

      await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'roy' }] });
      const m = await handle.executeUpdate(requestMitigationUpdate, {
        args: [{ playbook: { kind: 'rollback' }, by: 'roy', reason: 'errors since the last deploy' }],
      });
      expect((await handle.executeUpdate(approveMitigationUpdate, { args: [{ mitigationId: m.id, by: 'dana' }] })).status).toBe(
        'succeeded',
      );
      expect(sandbox.apps.production('crav-javari')!.current).not.toBe(route.current);

      // The healed app's error rate falls, the rule resolves, Alertmanager says so, the flap guard passes.
      s = await waitForState(handle, (x) => x.status === 'postmortem' || x.status === 'resolved', 'resolved by Alertmanager', 60_000);
      expect(s.resolvedBy).toBe('runbook');
      // Resolved because Alertmanager said so: every tracked alert resolved, the incident waited out the flap guard after it.
      const alerts = Object.values(s.alerts);
      expect(alerts.length).toBeGreaterThan(0);
      for (const a of alerts) expect(a.status).toBe('resolved');
      expect(Date.parse(s.resolvedAt!) - Date.parse(s.allClearSince ?? s.impactEndedAt!)).toBeGreaterThanOrEqual(3_000);
      // Repeated notifications of the group went to the same incident: still one, paged once.
      expect(await incidents()).toEqual([id]);
      expect(pdTriggers(sandbox, id)).toHaveLength(1);
      await handle.terminate('test over');
    });
  });
});

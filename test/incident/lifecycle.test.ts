import type { WorkflowHandle } from '@temporalio/client';
import {
  acknowledgeUpdate,
  approveMitigationUpdate,
  assignCommanderUpdate,
  completePostmortemUpdate,
  noteSignal,
  requestMitigationUpdate,
  alertsSignal,
  type TimelineKind,
} from '../../src/workflows/incident/contract';
import type { incident } from '../../src/workflows';
import { useStackWithWorker } from '../harness/fixtures';
import { alert, incidentConfig, incidentStack, key, pdTriggers, raise, recordHistory, rejection, waitForState } from './helpers';

/**
 * The whole incident against the sandbox and a real Temporal server: paged once, acknowledged, mitigated by a
 * rollback, resolved through the flap guard (status page and PagerDuty resolved), post-mortem drafted and done.
 */
describe('incident lifecycle against the sandbox', () => {
  const config = incidentConfig({ flapGuard: 1_500, postmortemReminder: 60_000, postmortemDeadline: 120_000 });
  const t = useStackWithWorker(() => incidentStack(config), { workerPer: 'file' });

  it('pages once, escalates nothing once acknowledged, rolls back on approval, resolves and drafts the post-mortem', async () => {
    const { sandbox, ops } = t.stack;
    const dedupKey = key('outage');
    const firing = alert({ dedupKey, summary: 'javariai.com /api/health returns 500', service: 'javari-web', customerFacing: true });

    await t.worker.run(async () => {
      const handle = (await raise(t.worker.client, t.worker.taskQueue, [firing])) as WorkflowHandle<typeof incident>;
      const incidentId = handle.workflowId;

      // Detection and initial response: P0 from the severity label, paged, chat, status page.
      let s = await waitForState(
        handle,
        (x) => x.escalation.pages.length === 1 && Boolean(x.statuspage) && x.chatOpened,
        'the initial response',
      );
      expect(s.severity).toBe('P0');
      expect(s.service).toBe('javari-web');

      // An Alertmanager repeat and an HA duplicate join the incident; nobody is paged twice.
      await handle.signal(alertsSignal, [firing]);
      await handle.signal(alertsSignal, [{ ...firing, receivedAt: new Date().toISOString() }]);
      s = await waitForState(handle, (x) => x.alerts['f-1']?.deliveries === 3, 'the repeats');

      const triggers = pdTriggers(sandbox, incidentId);
      expect(triggers).toHaveLength(1);
      expect(triggers[0].routing_key).toBe('sandbox-pagerduty_routing_key');
      expect(triggers[0].payload).toMatchObject({ severity: 'critical', source: 'javari-web' });
      const spIncidents = sandbox.statuspage.incidents();
      expect(spIncidents).toHaveLength(1);
      expect(spIncidents[0].name).toContain(incidentId);
      expect(spIncidents[0].status).toBe('investigating');
      expect(sandbox.slack.messages().some((m) => String(m.body?.text ?? m.text ?? '').includes(incidentId))).toBe(true);

      // Acknowledge, assign a commander, note.
      s = await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'roy', note: 'looking' }] });
      expect(s.status).toBe('acknowledged');
      expect(await rejection(handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'roy' }] }))).toMatch(/already acknowledged by roy/);
      expect(await rejection(handle.executeUpdate(acknowledgeUpdate, { args: [{ by: '' }] }))).toMatch(/by: must name who acts/);
      await handle.executeUpdate(assignCommanderUpdate, { args: [{ commander: 'dana', by: 'roy' }] });
      await handle.signal(noteSignal, { by: 'roy', text: 'error rate started with the last deploy' });
      expect(sandbox.pagerduty.alerts()[incidentId]).toBe('acknowledged');

      // Mitigation: a person asks for the rollback playbook, another approves it; the update answers when it is done.
      const proposed = await handle.executeUpdate(requestMitigationUpdate, {
        args: [{ playbook: { kind: 'rollback' }, by: 'roy', reason: 'bad deploy' }],
      });
      expect(proposed.status).toBe('awaiting-approval');
      expect(sandbox.calls({ vendor: 'vercel', method: 'POST', pathPrefix: '/v1/projects/' })).toHaveLength(0);
      const done = await handle.executeUpdate(approveMitigationUpdate, { args: [{ mitigationId: proposed.id, by: 'dana' }] });
      expect(done).toMatchObject({ status: 'succeeded', approvedBy: 'dana' });
      const rollbacks = sandbox.calls({ vendor: 'vercel', method: 'POST' }).filter((c) => /\/rollback\//.test(c.path));
      expect(rollbacks).toHaveLength(1);
      expect(rollbacks[0].path).toContain(String(done.result?.to));
      // The deploy runbook's own `rollback` workflow did it, as a child of the incident.
      const child = await t.worker.client.workflow.getHandle(String(done.result?.rollbackWorkflowId)).describe();
      expect(child).toMatchObject({ type: 'rollback', status: { name: 'COMPLETED' }, parentExecution: { workflowId: incidentId } });
      s = await waitForState(handle, (x) => x.statuspage?.status === 'monitoring', 'status page monitoring');
      expect(s.status).toBe('mitigating');

      // Resolution: the alert resolves and stays resolved through the flap guard.
      await handle.signal(alertsSignal, [{ ...firing, status: 'resolved', endsAt: new Date().toISOString() }]);
      s = await waitForState(handle, (x) => x.status === 'postmortem', 'resolution and the post-mortem draft', 30_000);
      expect(s.resolvedBy).toBe('runbook');
      expect(sandbox.statuspage.incidents()[0].status).toBe('resolved');
      expect(sandbox.pagerduty.alerts()[incidentId]).toBe('resolved');
      expect(pdTriggers(sandbox, incidentId)).toHaveLength(1);

      const { rows: drafts } = await ops.pool.query('SELECT markdown, action_items FROM incident_postmortems');
      expect(drafts).toHaveLength(1);
      const md: string = drafts[0].markdown;
      for (const section of [
        '## Summary',
        '## Impact window',
        '## Timeline',
        '## Mitigations',
        'Time to acknowledge',
        'Time to resolve',
        '## Open action items',
      ]) {
        expect(md).toContain(section);
      }
      expect(md).toContain('roll back javari-web');
      expect(md).toContain('error rate started with the last deploy');
      expect(md).toMatch(/Time to acknowledge: \d+s \(by roy\)/);

      // Post-mortem done: the workflow ends and the record says closed.
      await handle.executeUpdate(completePostmortemUpdate, {
        args: [{ by: 'dana', link: 'https://wiki/pm/1', actionItems: ['Add a smoke test for /api/health'] }],
      });
      const final = await handle.result();
      expect(final.status).toBe('closed');
      await recordHistory(handle, 'lifecycle');

      const kinds = final.timeline.map((e) => e.kind);
      expect(kinds[0]).toBe('detected');
      const order: TimelineKind[] = [
        'detected',
        'page',
        'statuspage',
        'acknowledged',
        'commander',
        'note',
        'mitigation',
        'resolution',
        'postmortem',
        'closed',
      ];
      let at = -1;
      for (const kind of order) {
        const next = kinds.indexOf(kind, at + 1);
        expect({ kind, found: next > at }).toEqual({ kind, found: true });
        at = next;
      }
      const { rows: incidents } = await ops.pool.query(
        'SELECT workflow_id, status, severity, acknowledged_by, resolved_at, closed_at, statuspage_id FROM incidents',
      );
      expect(incidents).toEqual([
        expect.objectContaining({
          workflow_id: incidentId,
          status: 'closed',
          severity: 'P0',
          acknowledged_by: 'roy',
          statuspage_id: s.statuspage!.id,
        }),
      ]);
      const { rows: events } = await ops.pool.query('SELECT seq, kind FROM incident_events ORDER BY seq');
      expect(events.map((e) => e.kind)).toEqual(kinds);
      const { rows: pm } = await ops.pool.query('SELECT done_by, link FROM incident_postmortems');
      expect(pm).toEqual([{ done_by: 'dana', link: 'https://wiki/pm/1' }]);
    });
  });
});

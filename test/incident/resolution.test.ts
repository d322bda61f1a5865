import { alertsSignal, completePostmortemUpdate, noteSignal, resolveUpdate } from '../../src/workflows/incident/contract';
import { useStackWithWorker } from '../harness/fixtures';
import { alert, incidentConfig, incidentStack, key, pdTriggers, raise, recordHistory, rejection, waitForState } from './helpers';

const FLAP_GUARD = 2_500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolution with the flap guard, reopening after resolution, and a new incident once the last one closed. */
describe('incident resolution', () => {
  const t = useStackWithWorker(() => incidentStack(incidentConfig({ flapGuard: FLAP_GUARD })), { workerPer: 'test' });

  it('a flapping alert inside the flap guard keeps one incident open; it resolves once the alert stays resolved', async () => {
    const dedupKey = key('flap');
    const episode = (n: number) =>
      alert({
        dedupKey,
        fingerprint: 'disk',
        severity: 'P1',
        summary: 'Disk usage above 90%',
        startsAt: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString(),
      });
    await t.worker.run(async () => {
      const handle = await raise(t.worker.client, t.worker.taskQueue, [episode(0)]);
      await waitForState(handle, (s) => s.escalation.pages.length === 1, 'the page');

      // Three flaps, each re-firing well inside the guard window.
      for (let n = 0; n < 3; n++) {
        await handle.signal(alertsSignal, [{ ...episode(n), status: 'resolved' }]);
        await waitForState(handle, (s) => Boolean(s.allClearSince), `all clear #${n}`);
        await sleep(FLAP_GUARD / 3);
        await handle.signal(alertsSignal, [episode(n + 1)]);
        const s = await waitForState(handle, (x) => !x.allClearSince, `re-fire #${n}`);
        expect(s.resolvedAt).toBeUndefined();
      }
      await sleep(FLAP_GUARD + 500);
      let s = await waitForState(handle, () => true, 'the state');
      expect(s.status).toBe('open');
      expect(s.resolvedAt).toBeUndefined();
      expect(s.alerts.disk.refires).toBe(3);
      expect(s.timeline.filter((e) => /resolution cancelled/.test(e.text))).toHaveLength(3);

      // Now it stays resolved: resolution after the guard, not before.
      await handle.signal(alertsSignal, [{ ...episode(3), status: 'resolved' }]);
      s = await waitForState(handle, (x) => Boolean(x.allClearSince), 'the last all clear');
      const allClear = Date.parse(s.allClearSince!);
      s = await waitForState(handle, (x) => x.status === 'postmortem', 'resolution', 15_000);
      expect(Date.parse(s.resolvedAt!) - allClear).toBeGreaterThanOrEqual(FLAP_GUARD);
      expect(s.impactEndedAt).toBe(new Date(allClear).toISOString());

      // One incident, one page, one workflow run.
      expect(pdTriggers(t.stack.sandbox, handle.workflowId)).toHaveLength(1);
      const { rows } = await t.stack.ops.pool.query('SELECT count(*)::int AS n FROM incidents WHERE workflow_id = $1', [handle.workflowId]);
      expect(rows[0].n).toBe(1);
      await recordHistory(handle, 'flapping');
      await handle.terminate('test over');
    });
  });

  it('a new firing after resolution reopens the incident while its post-mortem is pending; after it closes, the next one is a new incident', async () => {
    const dedupKey = key('reopen');
    const first = alert({ dedupKey, fingerprint: 'api', severity: 'P1', summary: 'API p99 above 10 s', startsAt: '2026-01-01T00:00:00Z' });
    await t.worker.run(async () => {
      const handle = await raise(t.worker.client, t.worker.taskQueue, [first]);
      await waitForState(handle, (s) => s.escalation.pages.length === 1 && Boolean(s.statuspage), 'the initial response');
      await handle.executeUpdate(resolveUpdate, { args: [{ by: 'roy', reason: 'fixed by restart' }] });
      let s = await waitForState(handle, (x) => x.status === 'postmortem', 'resolution by a person');
      expect(s.resolvedBy).toBe('roy');
      expect(t.stack.sandbox.pagerduty.alerts()[handle.workflowId]).toBe('resolved');
      // Resolved by a person while the alert still fired: its repeats do not reopen anything.
      await handle.signal(alertsSignal, [first]);
      await sleep(500);
      expect((await waitForState(handle, () => true, 'state')).status).toBe('postmortem');
      expect(await rejection(handle.executeUpdate(resolveUpdate, { args: [{ by: 'roy' }] }))).toMatch(
        /cannot resolve the incident: it is postmortem/,
      );

      // The alert resolves, then fires again (a new episode): reopened, paged again, status page investigating.
      await handle.signal(alertsSignal, [{ ...first, status: 'resolved' }]);
      await handle.signal(alertsSignal, [{ ...first, startsAt: '2026-01-01T01:00:00Z' }]);
      s = await waitForState(
        handle,
        (x) => x.reopened === 1 && x.escalation.pages.length === 2 && x.statuspage?.status === 'investigating',
        'the reopened incident',
      );
      expect(s.status).toBe('open');
      expect(s.escalation.pages[1].reason).toBe('reopened');
      expect(pdTriggers(t.stack.sandbox, handle.workflowId)).toHaveLength(2);
      expect(t.stack.sandbox.statuspage.incidents().filter((i) => i.name.includes(handle.workflowId))).toHaveLength(1);

      await handle.signal(alertsSignal, [{ ...first, status: 'resolved', startsAt: '2026-01-01T01:00:00Z' }]);
      await waitForState(handle, (x) => x.status === 'postmortem', 'the second resolution', 15_000);
      await handle.executeUpdate(completePostmortemUpdate, { args: [{ by: 'dana' }] });
      const closed = await handle.result();
      expect(closed.status).toBe('closed');

      // The workflow ended: the same alert group firing again opens a new incident (same workflow id, new run, new record).
      const again = await raise(t.worker.client, t.worker.taskQueue, [{ ...first, startsAt: '2026-01-02T00:00:00Z' }]);
      s = await waitForState(again, (x) => x.escalation.pages.length === 1, 'the new incident');
      expect(s.reopened).toBe(0);
      const { rows } = await t.stack.ops.pool.query('SELECT status FROM incidents WHERE workflow_id = $1 ORDER BY opened_at', [
        handle.workflowId,
      ]);
      expect(rows.map((r) => r.status)).toEqual(['closed', 'open']);
      await again.terminate('test over');
    });
  });

  it('resolved-only alerts of a group with no open incident open nothing', async () => {
    const dedupKey = key('late-resolve');
    await t.worker.run(async () => {
      const handle = await raise(t.worker.client, t.worker.taskQueue, [alert({ dedupKey, status: 'resolved' })]);
      const result = await handle.result();
      expect(result.status).toBe('closed');
      expect(result.timeline).toEqual([]);
      expect(pdTriggers(t.stack.sandbox, handle.workflowId)).toHaveLength(0);
      const { rows } = await t.stack.ops.pool.query('SELECT count(*)::int AS n FROM incidents WHERE workflow_id = $1', [handle.workflowId]);
      expect(rows[0].n).toBe(0);
    });
  });

  it('notes a malformed alert or note in the timeline and carries on', async () => {
    const dedupKey = key('malformed');
    await t.worker.run(async () => {
      const handle = await raise(t.worker.client, t.worker.taskQueue, [alert({ dedupKey, severity: 'P2' })]);
      await waitForState(handle, (s) => s.chatOpened, 'the initial response');
      await handle.signal(alertsSignal, [{ ...alert({ dedupKey }), startsAt: 'yesterday', fingerprint: '' } as never]);
      await handle.signal(noteSignal, { by: '', text: 'anonymous' } as never);
      const s = await waitForState(handle, (x) => x.timeline.filter((e) => e.kind === 'error').length === 2, 'the two errors');
      const errors = s.timeline.filter((e) => e.kind === 'error').map((e) => e.text);
      expect(errors[0]).toMatch(/^Ignored an invalid alert: .*fingerprint: .*startsAt: /);
      expect(errors[1]).toMatch(/^Ignored an invalid note: by: must name who acts/);
      expect(Object.keys(s.alerts)).toEqual(['f-1']);
      await handle.executeUpdate(resolveUpdate, { args: [{ by: 'roy' }] });
      expect((await waitForState(handle, (x) => x.status === 'postmortem', 'resolution')).resolvedBy).toBe('roy');
      await handle.terminate('test over');
    });
  });
});

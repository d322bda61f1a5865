import {
  acknowledgeUpdate,
  alertsSignal,
  noteSignal,
  resolveUpdate,
  completePostmortemUpdate,
} from '../../src/workflows/incident/contract';
import { startTestWorker, type TestWorker } from '../harness';
import { alert, incidentConfig, incidentStack, key, pdTriggers, raise, waitForState, type IncidentStack } from './helpers';

/** A long incident continues as new before its history grows large, carrying its state; nothing is lost or repeated. */
describe('long incidents', () => {
  let stack: IncidentStack;
  let worker: TestWorker;

  beforeAll(async () => {
    stack = await incidentStack(incidentConfig());
    worker = await startTestWorker({ deps: stack.deps });
  });
  afterAll(async () => {
    await worker?.close();
    await stack?.close();
  });

  it('continues as new with its timeline, alerts and pages carried; the ops record holds every event once', async () => {
    const dedupKey = key('long');
    await worker.run(async () => {
      const handle = await raise(
        worker.client,
        worker.taskQueue,
        [alert({ dedupKey, severity: 'P1', summary: 'Major feature unavailable' })],
        {
          input: { historyLimit: 100 },
        },
      );
      const firstRunId = (await handle.describe()).runId;
      await waitForState(handle, (s) => s.escalation.pages.length === 1, 'the page');

      const NOTES = 40;
      for (let i = 0; i < NOTES; i++) {
        await handle.signal(noteSignal, { by: 'roy', text: `note ${i}` });
        if (i % 10 === 9) await handle.signal(alertsSignal, [alert({ dedupKey, severity: 'P1', summary: 'Major feature unavailable' })]);
      }
      const s = await waitForState(
        handle,
        (x) => x.runs >= 2 && x.timeline.filter((e) => e.kind === 'note' && /^note /.test(e.text)).length + x.timelineOffset >= NOTES,
        'continue-as-new',
        30_000,
      );
      const desc = await handle.describe();
      expect(desc.runId).not.toBe(firstRunId);
      expect(s.escalation.pages).toHaveLength(1);
      expect(s.alerts['f-1'].deliveries).toBe(5);

      // The new run still answers: acknowledge, resolve, post-mortem, close.
      await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'roy' }] });
      await handle.executeUpdate(resolveUpdate, { args: [{ by: 'roy' }] });
      await waitForState(handle, (x) => x.status === 'postmortem', 'resolution');
      await handle.executeUpdate(completePostmortemUpdate, { args: [{ by: 'roy' }] });
      const final = await handle.result();
      expect(final.status).toBe('closed');
      expect(pdTriggers(stack.sandbox, handle.workflowId)).toHaveLength(1);

      // One incident row (keyed by the first run), every event exactly once, in order, notes included.
      const { rows: incidents } = await stack.ops.pool.query('SELECT id, status FROM incidents');
      expect(incidents).toEqual([{ id: firstRunId, status: 'closed' }]);
      const { rows: events } = await stack.ops.pool.query<{ seq: number; text: string }>(
        'SELECT seq, text FROM incident_events WHERE incident_id = $1 ORDER BY seq',
        [firstRunId],
      );
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.length).toBe(final.nextSeq - 1);
      expect(events.filter((e) => /^note \d+$/.test(e.text)).map((e) => e.text)).toEqual(
        Array.from({ length: NOTES }, (_, i) => `note ${i}`),
      );
      expect(events.some((e) => /continuing as a new run/.test(e.text))).toBe(true);
    });
  });
});

import type { Severity } from '../../src/config/schema';
import {
  acknowledgeUpdate,
  completePostmortemUpdate,
  resolveUpdate,
  setSeverityUpdate,
  type IncidentState,
} from '../../src/workflows/incident/contract';
import { timeSkippingEnv } from '../harness';
import { oncePerFile, wallClock } from '../harness/fixtures';
import { alert, incidentStacksForFile, key, pdTriggers, waitForState, withTimeSkippedIncidents } from './helpers';

/**
 * Without an escalation matrix (config `incidents.escalation` unset; the matrix is tested in escalation.test.ts):
 * response SLAs from both runbooks' tables, with time skipped: not acknowledged in time → the next on-call level
 * is paged, and again one SLA later, until no level is left. Runs on the time-skipping test server, which knows
 * no custom search attributes, so these incidents start without them (the workflow then does not upsert them).
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const cases: {
  example: 'vercel-supabase' | 'netlify-supabase';
  severity: Severity;
  sla: number | 'next-business-day';
  pagedAtOnce: boolean;
}[] = [
  { example: 'vercel-supabase', severity: 'P0', sla: 15 * MINUTE, pagedAtOnce: true },
  { example: 'vercel-supabase', severity: 'P1', sla: HOUR, pagedAtOnce: true },
  { example: 'vercel-supabase', severity: 'P2', sla: 4 * HOUR, pagedAtOnce: false },
  { example: 'vercel-supabase', severity: 'P3', sla: 'next-business-day', pagedAtOnce: false },
  { example: 'netlify-supabase', severity: 'P0', sla: 5 * MINUTE, pagedAtOnce: true },
  { example: 'netlify-supabase', severity: 'P1', sla: 15 * MINUTE, pagedAtOnce: true },
  { example: 'netlify-supabase', severity: 'P2', sla: 2 * HOUR, pagedAtOnce: false },
  { example: 'netlify-supabase', severity: 'P3', sla: 24 * HOUR, pagedAtOnce: false },
];

describe('SLA escalation with time skipped', () => {
  const env = oncePerFile(timeSkippingEnv, (e) => e.teardown());
  const stacks = incidentStacksForFile({ escalation: undefined });

  it.each(cases)(
    '$example $severity: unacknowledged after $sla → next level paged, then the one after',
    async ({ example, severity, sla, pagedAtOnce }) => {
      const stack = stacks.get(example)!;
      const config = stack.deps.config;
      const levels = config.oncall.levels;
      await withTimeSkippedIncidents(env, stack.deps, async (raiseHere) => {
        const dedupKey = key(`sla-${example}-${severity}`);
        const handle = await raiseHere([alert({ dedupKey, severity, summary: `${severity} incident` })]);
        const incidentId = handle.workflowId;
        let s = await waitForState(handle, (x) => Boolean(x.detectedAt) && x.chatOpened, 'the initial response');
        expect(s.severity).toBe(severity);
        expect(pdTriggers(stack.sandbox, incidentId)).toHaveLength(pagedAtOnce ? 1 : 0);

        // The clock starts at the initial page (or at detection, when this severity does not page at once).
        const startMs = Date.parse(pagedAtOnce ? s.escalation.pages[0].at : s.detectedAt!);
        const dueMs = Date.parse(s.escalation.dueAt!);
        if (sla === 'next-business-day') {
          const due = wallClock(dueMs, config.timezone);
          expect(due.time).toBe(config.businessHours.end);
          expect(['mon', 'tue', 'wed', 'thu', 'fri']).toContain(due.weekday);
          expect(due.day).not.toBe(wallClock(startMs, config.timezone).day);
          expect(dueMs - startMs).toBeGreaterThan(0);
          expect(dueMs - startMs).toBeLessThanOrEqual(4 * 24 * HOUR);
        } else {
          expect(dueMs - startMs).toBe(sla);
        }
        const slaMs = dueMs - startMs;

        // One minute before the SLA runs out nothing has happened yet.
        await env.sleep(slaMs - MINUTE);
        s = await waitForState(handle, (x) => x.escalation.level === (pagedAtOnce ? 0 : -1), 'no escalation yet');
        expect(pdTriggers(stack.sandbox, incidentId)).toHaveLength(pagedAtOnce ? 1 : 0);

        // The SLA runs out: the next level is paged.
        await env.sleep(2 * MINUTE);
        const firstEscalation = pagedAtOnce ? 1 : 0;
        s = await waitForState(handle, (x) => x.escalation.pages.length === firstEscalation + 1, 'the first escalation');
        const page = s.escalation.pages[firstEscalation];
        expect(page).toMatchObject({ level: firstEscalation, reason: 'escalation', name: levels[firstEscalation].name });
        const escalatedAfter = Date.parse(page.at) - startMs;
        expect(escalatedAfter).toBeGreaterThanOrEqual(slaMs);
        expect(escalatedAfter).toBeLessThan(slaMs + 2 * MINUTE);
        const triggers = pdTriggers(stack.sandbox, incidentId);
        expect(triggers).toHaveLength(firstEscalation + 1);
        expect(triggers.at(-1)!.routing_key).toBe(`sandbox-${levels[firstEscalation].pagerdutyRoutingKeyEnv!.toLowerCase()}`);

        // Another SLA later: the level after that, or — when none is left — the escalation is exhausted.
        const restartMs = Date.parse(page.at);
        const nextDue = Date.parse(s.escalation.dueAt!);
        await env.sleep(nextDue - restartMs + MINUTE);
        s = await waitForState(
          handle,
          (x) => x.escalation.pages.length === firstEscalation + 2 || x.escalation.exhausted,
          'the second escalation',
        );
        if (firstEscalation + 1 < levels.length) {
          expect(s.escalation.pages[firstEscalation + 1]).toMatchObject({ level: firstEscalation + 1, reason: 'escalation' });
          expect(pdTriggers(stack.sandbox, incidentId)).toHaveLength(firstEscalation + 2);
        } else {
          expect(s.escalation.exhausted).toBe(true);
          expect(s.timeline.at(-1)?.text ?? '').toMatch(/no further on-call level|Posted to/);
          expect(pdTriggers(stack.sandbox, incidentId)).toHaveLength(firstEscalation + 1);
        }
      });
    },
  );

  it('an acknowledgement inside the SLA stops the escalation', async () => {
    const stack = stacks.get('vercel-supabase')!;
    await withTimeSkippedIncidents(env, stack.deps, async (raiseHere) => {
      const handle = await raiseHere([alert({ dedupKey: key('sla-ack'), severity: 'P1' })]);
      await waitForState(handle, (x) => x.escalation.pages.length === 1, 'the initial page');
      await env.sleep(30 * MINUTE);
      const acked: IncidentState = await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'roy' }] });
      expect(acked.escalation.dueAt).toBeUndefined();
      await env.sleep(3 * HOUR);
      const s = await waitForState(handle, (x) => x.status === 'acknowledged', 'still acknowledged');
      expect(s.escalation.pages).toHaveLength(1);
      expect(pdTriggers(stack.sandbox, handle.workflowId)).toHaveLength(1);
      expect(s.timeline.filter((e) => e.kind === 'escalation')).toHaveLength(0);
    });
  });

  it("raising the severity pages at once and re-arms the SLA with the new severity's time", async () => {
    const stack = stacks.get('vercel-supabase')!;
    await withTimeSkippedIncidents(env, stack.deps, async (raiseHere) => {
      const handle = await raiseHere([alert({ dedupKey: key('sla-raise'), severity: 'P2' })]);
      let s = await waitForState(handle, (x) => x.chatOpened, 'the initial response');
      expect(s.escalation.pages).toHaveLength(0);
      await env.sleep(HOUR);
      s = await handle.executeUpdate(setSeverityUpdate, { args: [{ severity: 'P0', by: 'roy', reason: 'revenue impact' }] });
      const raisedAt = Date.parse(s.timeline.at(-1)!.at);
      s = await waitForState(handle, (x) => x.escalation.pages.length === 1, 'the page for P0');
      expect(s.escalation.pages[0].reason).toBe('severity-raised');
      expect(Date.parse(s.escalation.dueAt!) - Date.parse(s.escalation.pages[0].at)).toBe(15 * MINUTE);
      expect(Date.parse(s.escalation.pages[0].at) - raisedAt).toBeLessThan(MINUTE);
      await env.sleep(16 * MINUTE);
      s = await waitForState(handle, (x) => x.escalation.pages.length === 2, 'the P0 escalation');
      expect(pdTriggers(stack.sandbox, handle.workflowId)).toHaveLength(2);
    });
  });

  it('reminds about the post-mortem at 24 h, marks it overdue at 48 h, and closes only when it is done', async () => {
    const stack = stacks.get('vercel-supabase')!;
    await withTimeSkippedIncidents(env, stack.deps, async (raiseHere) => {
      const handle = await raiseHere([alert({ dedupKey: key('pm'), severity: 'P1' })]);
      await waitForState(handle, (x) => x.escalation.pages.length === 1, 'the page');
      await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'roy' }] });
      await handle.executeUpdate(resolveUpdate, { args: [{ by: 'roy' }] });
      let s = await waitForState(handle, (x) => x.status === 'postmortem', 'the draft');
      const resolvedMs = Date.parse(s.resolvedAt!);
      expect(Date.parse(s.postmortem.reminderAt!) - resolvedMs).toBe(24 * HOUR);
      expect(Date.parse(s.postmortem.deadlineAt!) - resolvedMs).toBe(48 * HOUR);

      await env.sleep(23 * HOUR);
      s = await waitForState(handle, () => true, 'state');
      expect(s.postmortem.reminded).toBeUndefined();
      await env.sleep(2 * HOUR);
      s = await waitForState(handle, (x) => x.postmortem.reminded === true, 'the reminder');
      expect(s.postmortem.overdue).toBeUndefined();
      await env.sleep(24 * HOUR);
      s = await waitForState(handle, (x) => x.postmortem.overdue === true, 'overdue');
      const texts = s.timeline.filter((e) => e.kind === 'postmortem').map((e) => e.text);
      expect(texts).toEqual([
        expect.stringMatching(/^Post-mortem draft stored/),
        expect.stringMatching(/^Reminder: /),
        expect.stringMatching(/overdue/),
      ]);
      const slack = stack.sandbox.slack
        .messages()
        .map((m) => String(m.text ?? ''))
        .filter((t) => t.includes(handle.workflowId));
      expect(slack.filter((t) => /post-mortem due by/.test(t))).toHaveLength(1);
      expect(slack.filter((t) => /post-mortem is overdue/.test(t))).toHaveLength(1);

      await handle.executeUpdate(completePostmortemUpdate, { args: [{ by: 'dana' }] });
      expect((await handle.result()).status).toBe('closed');
    });
  });
});

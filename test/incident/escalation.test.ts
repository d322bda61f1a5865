import { parseConfig } from '../../src/config/load';
import type { RunbookConfig, Severity } from '../../src/config/schema';
import { acknowledgeUpdate, setSeverityUpdate, type IncidentState } from '../../src/workflows/incident/contract';
import { testConfig, timeSkippingEnv } from '../harness';
import { oncePerFile, wallClock } from '../harness/fixtures';
import { alert, incidentStacksForFile, key, pdTriggers, waitForState, withTimeSkippedIncidents } from './helpers';

/**
 * The escalation matrix (config `incidents.escalation`) of both example configs, with time skipped: per
 * severity, which on-call levels are paged, when (counted from detection), and that each is paged once.
 * The second runbook's table: Critical — System Admin + Technical Lead at once; High — Technical Lead at
 * 30 min, System Admin at 1 h; Medium — Technical Lead next business day; Low — the weekly review.
 */
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type When = number | 'next-business-day' | 'weekly-review';
interface Case {
  example: 'vercel-supabase' | 'netlify-supabase';
  severity: Severity;
  /** Expected steps, written from the runbook's table rather than read back from the config. */
  steps: { after: When; targets: string[] }[];
}
const cases: Case[] = [
  { example: 'netlify-supabase', severity: 'P0', steps: [{ after: 0, targets: ['system-admin', 'technical-lead'] }] },
  {
    example: 'netlify-supabase',
    severity: 'P1',
    steps: [
      { after: 30 * MINUTE, targets: ['technical-lead'] },
      { after: HOUR, targets: ['system-admin'] },
    ],
  },
  { example: 'netlify-supabase', severity: 'P2', steps: [{ after: 'next-business-day', targets: ['technical-lead'] }] },
  { example: 'netlify-supabase', severity: 'P3', steps: [{ after: 'weekly-review', targets: [] }] },
  {
    example: 'vercel-supabase',
    severity: 'P0',
    steps: [
      { after: 0, targets: ['primary'] },
      { after: 15 * MINUTE, targets: ['vendor-support'] },
    ],
  },
  {
    example: 'vercel-supabase',
    severity: 'P1',
    steps: [
      { after: 0, targets: ['primary'] },
      { after: HOUR, targets: ['vendor-support'] },
    ],
  },
  { example: 'vercel-supabase', severity: 'P2', steps: [{ after: 4 * HOUR, targets: ['primary'] }] },
  { example: 'vercel-supabase', severity: 'P3', steps: [{ after: 'next-business-day', targets: ['primary'] }] },
];

describe('escalation matrix with time skipped', () => {
  const env = oncePerFile(timeSkippingEnv, (e) => e.teardown());
  const stacks = incidentStacksForFile({});

  const routingKey = (config: RunbookConfig, name: string) =>
    `sandbox-${config.oncall.levels.find((l) => l.name === name)!.pagerdutyRoutingKeyEnv!.toLowerCase()}`;

  it.each(cases)(
    '$example $severity: pages $steps.length step(s) as the matrix says, each target once',
    async ({ example, severity, steps }) => {
      const stack = stacks.get(example)!;
      const config = stack.deps.config;
      await withTimeSkippedIncidents(env, stack.deps, async (raiseHere) => {
        const handle = await raiseHere([alert({ dedupKey: key(`esc-${example}-${severity}`), severity, summary: `${severity} down` })]);
        const id = handle.workflowId;
        let s: IncidentState = await waitForState(handle, (x) => Boolean(x.detectedAt) && x.chatOpened, 'the initial response');
        expect(s.severity).toBe(severity);
        const detectedMs = Date.parse(s.detectedAt!);
        let expectedPages: string[] = [];

        for (const [i, step] of steps.entries()) {
          let dueMs: number;
          if (typeof step.after === 'number') {
            dueMs = detectedMs + step.after;
            if (step.after > 0) expect(Date.parse(s.escalation.dueAt!)).toBe(dueMs);
          } else {
            dueMs = Date.parse(s.escalation.dueAt!);
            const due = wallClock(dueMs, config.timezone);
            expect(due.date).not.toBe(wallClock(detectedMs, config.timezone).date);
            expect(dueMs - detectedMs).toBeLessThanOrEqual(7 * DAY);
            if (step.after === 'next-business-day') {
              expect(due.time).toBe(config.businessHours.start);
              expect(config.businessHours.days).toContain(due.weekday);
              expect(dueMs - detectedMs).toBeLessThanOrEqual(4 * DAY);
            } else {
              expect(due).toMatchObject({ weekday: 'mon', time: '09:00' });
            }
          }
          if (dueMs > (await env.currentTimeMs()) + MINUTE) {
            // One minute before the step: nobody new has been paged.
            await env.sleep(dueMs - MINUTE - (await env.currentTimeMs()));
            s = await waitForState(handle, () => true, 'before the step');
            expect(s.escalation.pages.map((p) => p.name)).toEqual(expectedPages);
            await env.sleep(2 * MINUTE);
          }
          expectedPages = [...expectedPages, ...step.targets];
          s = await waitForState(
            handle,
            (x) => x.escalation.pages.length === expectedPages.length && x.escalation.steps!.next === i + 1,
            `step ${i + 1}`,
          );
          expect(s.escalation.pages.map((p) => p.name)).toEqual(expectedPages);
          for (const p of s.escalation.pages.slice(expectedPages.length - step.targets.length)) {
            expect(Date.parse(p.at) - dueMs).toBeGreaterThanOrEqual(0);
            expect(Date.parse(p.at) - dueMs).toBeLessThan(2 * MINUTE);
            expect(p.reason).toBe(step.after === 0 ? 'initial' : 'escalation');
          }
          if (!step.targets.length) {
            const listed = s.timeline.filter((e) => e.kind === 'escalation');
            expect(listed).toHaveLength(1);
            expect(listed[0].text).toMatch(/weekly review.*nobody paged/);
            expect(Date.parse(listed[0].at) - dueMs).toBeLessThan(2 * MINUTE);
            const slack = stack.sandbox.slack.messages().map((m) => String(m.text ?? ''));
            expect(slack.filter((t) => t.includes(id) && t.includes('for the review'))).toHaveLength(1);
          }
        }

        // Long after the last step: nothing more, and PagerDuty got exactly one trigger per target, on its routing key.
        expect(s.escalation.dueAt).toBeUndefined();
        await env.sleep(8 * DAY);
        s = await waitForState(handle, () => true, 'long after');
        expect(s.escalation.pages.map((p) => p.name)).toEqual(expectedPages);
        const triggers = pdTriggers(stack.sandbox, id);
        expect(triggers.map((t) => t.routing_key)).toEqual(expectedPages.map((n) => routingKey(config, n)));
      });
    },
  );

  it('an acknowledgement between the steps stops the matrix: High paged the technical lead, never the system admin', async () => {
    const stack = stacks.get('netlify-supabase')!;
    await withTimeSkippedIncidents(env, stack.deps, async (raiseHere) => {
      const handle = await raiseHere([alert({ dedupKey: key('esc-ack'), severity: 'P1' })]);
      await waitForState(handle, (x) => x.chatOpened, 'the initial response');
      await env.sleep(31 * MINUTE);
      await waitForState(handle, (x) => x.escalation.pages.length === 1, 'the technical lead paged');
      const acked: IncidentState = await handle.executeUpdate(acknowledgeUpdate, { args: [{ by: 'lead' }] });
      expect(acked.escalation.dueAt).toBeUndefined();
      await env.sleep(3 * HOUR);
      const s = await waitForState(handle, () => true, 'state');
      expect(s.escalation.pages.map((p) => p.name)).toEqual(['technical-lead']);
      expect(pdTriggers(stack.sandbox, handle.workflowId)).toHaveLength(1);
    });
  });

  it('a severity raised to Critical pages the Critical row at once, without paging anyone twice', async () => {
    const stack = stacks.get('netlify-supabase')!;
    await withTimeSkippedIncidents(env, stack.deps, async (raiseHere) => {
      const handle = await raiseHere([alert({ dedupKey: key('esc-raise'), severity: 'P1' })]);
      await waitForState(handle, (x) => x.chatOpened, 'the initial response');
      await env.sleep(40 * MINUTE);
      await waitForState(handle, (x) => x.escalation.pages.length === 1, 'the technical lead paged at 30 min');
      await handle.executeUpdate(setSeverityUpdate, { args: [{ severity: 'P0', by: 'lead', reason: 'system down' }] });
      let s = await waitForState(handle, (x) => x.escalation.pages.length === 2, 'the system admin paged at once');
      expect(s.escalation.pages.map((p) => [p.name, p.reason])).toEqual([
        ['technical-lead', 'escalation'],
        ['system-admin', 'severity-raised'],
      ]);
      await env.sleep(2 * HOUR);
      s = await waitForState(handle, () => true, 'state');
      expect(s.escalation.pages).toHaveLength(2);
      expect(pdTriggers(stack.sandbox, handle.workflowId)).toHaveLength(2);
    });
  });
});

describe('escalation matrix configuration', () => {
  it('refuses a target that is not an on-call level, naming the field', () => {
    const base = testConfig({}, 'netlify-supabase');
    const raw = {
      ...base,
      incidents: { ...base.incidents, escalation: { ...base.incidents.escalation!, P1: [{ after: '30m', targets: ['cto'] }] } },
    };
    expect(() => parseConfig(raw)).toThrow(/incidents\.escalation\.P1\.0\.targets\.0.*no on-call level "cto"/);
  });

  it('refuses an `after` that is neither a duration nor a known moment', () => {
    const base = testConfig({}, 'netlify-supabase');
    const raw = {
      ...base,
      incidents: { ...base.incidents, escalation: { ...base.incidents.escalation!, P2: [{ after: 'someday', targets: [] }] } },
    };
    expect(() => parseConfig(raw)).toThrow(/incidents\.escalation\.P2\.0\.after/);
  });

  it('fills both examples from their runbooks', () => {
    expect(testConfig({}, 'netlify-supabase').incidents.escalation).toEqual({
      P0: [{ after: 0, targets: ['system-admin', 'technical-lead'] }],
      P1: [
        { after: 30 * MINUTE, targets: ['technical-lead'] },
        { after: HOUR, targets: ['system-admin'] },
      ],
      P2: [{ after: 'next-business-day', targets: ['technical-lead'] }],
      P3: [{ after: 'weekly-review', targets: [] }],
    });
    expect(testConfig({}, 'vercel-supabase').incidents.escalation?.P0).toEqual([
      { after: 0, targets: ['primary'] },
      { after: 15 * MINUTE, targets: ['vendor-support'] },
    ]);
  });
});

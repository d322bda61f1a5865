import type { Severity } from '../../config/schema';
import type { Scenario } from '../types';
import { closeIncident, formatMs, measureIncident, sendAlert, shortId, waitFor, waitForIncident } from '../util';

/**
 * Escalation: a P1 that nobody acknowledges. Expected: the first on-call level is paged at once, the next
 * level when the response SLA runs out (shortened by --sla-scale), each with its own PagerDuty routing key.
 * Runs on a worker of the drill's own, whose configuration has the scaled SLAs.
 */
export const escalation: Scenario = {
  name: 'escalation',
  description: 'nobody acknowledges a P1 → the next on-call level is paged when the (shortened) response SLA runs out',
  async run(run) {
    const { world, opts } = run;
    const levels = world.config.oncall.levels;
    if (levels.length < 2) throw new Error(`needs two on-call levels in the configuration (oncall.levels has ${levels.length})`);
    const severity: Severity = 'P1';
    const scale = (ms: number) => (ms === 0 ? 0 : Math.max(2_000, Math.round(ms * opts.slaScale)));
    const matrix = world.config.incidents.escalation;
    let scaled: number;
    let worker: Awaited<ReturnType<typeof world.scaledWorker>>;
    if (matrix) {
      // The escalation matrix decides who is paged when: its first two P1 steps, their waits scaled.
      const [a, b] = matrix[severity];
      if (!a || !b || typeof a.after !== 'number' || typeof b.after !== 'number' || !a.targets.length || !b.targets.length)
        throw new Error(`incidents.escalation.${severity} needs two steps with durations and targets for the drill`);
      scaled = scale(b.after) - scale(a.after);
      worker = await world.scaledWorker((c) => ({
        ...c,
        incidents: {
          ...c.incidents,
          escalation: {
            ...matrix,
            [severity]: matrix[severity].map((st) => ({ ...st, after: typeof st.after === 'number' ? scale(st.after) : st.after })),
          },
        },
      }));
      run.note(
        `${severity} escalation steps scaled: ${a.targets.join('+')} at ${formatMs(scale(a.after))}, ${b.targets.join('+')} at ${formatMs(scale(b.after))}`,
      );
    } else {
      const fullSla = world.config.incidents.sla[severity];
      if (typeof fullSla !== 'number') throw new Error(`incidents.sla.${severity} is ${fullSla}; the drill needs a duration`);
      scaled = scale(fullSla);
      worker = await world.scaledWorker((c) => ({
        ...c,
        incidents: { ...c.incidents, sla: { ...c.incidents.sla, [severity]: scaled } },
      }));
      run.note(`${severity} SLA ${formatMs(fullSla)} scaled to ${formatMs(scaled)}`);
    }
    run.cleanup.push({ what: 'stop the drill worker', run: () => worker.close() });
    const firstName = matrix ? matrix[severity][0].targets[0] : levels[0].name;
    const secondName = matrix ? matrix[severity][1].targets[0] : levels[1].name;

    const dedupKey = `drill:escalation:${shortId()}`;
    run.injectedAt = Date.now();
    const { incidentId } = await sendAlert(
      world,
      {
        dedupKey,
        status: 'firing',
        severity,
        summary: 'Game day: checkout latency p99 above 10 s, nobody answers the page',
        service: world.config.services[0]?.name,
      },
      worker.taskQueue,
    );
    run.incidentId = incidentId;
    run.cleanup.push({ what: `close incident ${incidentId}`, run: async () => void (await closeIncident(world, incidentId, opts.actor)) });

    const first = await waitForIncident(world, incidentId, (s) => s.escalation.pages.length >= 1, 'the first page', opts.scenarioTimeoutMs);
    run.firstPage.slaMs = scaled;
    run.firstPage.sla = `${severity} response ${formatMs(scaled)} (scaled)`;
    const s = await waitForIncident(
      world,
      incidentId,
      (x) => x.escalation.pages.length >= 2,
      `the escalation to ${secondName}`,
      scaled * 3 + 30_000,
    );
    measureIncident(run, s);
    const [p0, p1] = s.escalation.pages;
    const after = Date.parse(p1.at) - Date.parse(p0.at);
    run.check(first.escalation.pages[0].name === firstName, `first page to ${firstName} (got ${first.escalation.pages[0].name})`);
    run.check(
      p1.name === secondName && p1.reason === 'escalation',
      `second page to ${secondName} by escalation (got ${p1.name}, ${p1.reason})`,
    );
    run.check(after >= scaled - 100, `escalated no earlier than the SLA (${formatMs(after)} ≥ ${formatMs(scaled)})`);
    run.check(after <= scaled + 5_000, `escalated within 5 s of the SLA (${formatMs(after)} after the first page)`);
    const keys = new Set(
      (
        await waitFor(
          'both PagerDuty triggers',
          async () => {
            const t = (await world.sandbox.pagerdutyEvents(incidentId)).filter((e) => e.event_action === 'trigger');
            return t.length >= 2 ? t : undefined;
          },
          10_000,
        )
      ).map((e) => e.routing_key),
    );
    run.check(keys.size === 2, `two PagerDuty routing keys paged (got ${keys.size})`);
    run.note(`paged ${p0.name}, then ${p1.name} ${formatMs(after)} later (SLA ${formatMs(scaled)})`);
    const final = await closeIncident(world, incidentId, opts.actor);
    if (final) measureIncident(run, final);
  },
};

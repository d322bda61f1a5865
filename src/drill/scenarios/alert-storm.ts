import { incidentWorkflowId } from '../../workflows/common/alerts';
import type { Scenario } from '../types';
import { closeIncident, measureIncident, postJson, shortId, sleep, slaMs, waitFor, waitForIncident } from '../util';

/**
 * Alert storm: an Alertmanager HA pair delivers the same group (two alerts) many times, concurrently.
 * Expected: every delivery lands in one incident, PagerDuty is triggered once.
 */
export const alertStorm: Scenario = {
  name: 'alert-storm',
  description: 'HA duplicate deliveries of one Alertmanager group → exactly one incident, one PagerDuty page',
  async run(run) {
    const { world, opts } = run;
    if (!world.receiver?.token)
      throw new Error('needs the webhook receiver and its bearer token (RUNBOOK_WEBHOOK_TOKEN in the stack and the drill)');
    const id = shortId();
    const service = world.config.services[0]?.name;
    const groupKey = `{}/{severity=~"critical|page"}:{alertname="DrillHighErrorRate",drill="${id}"}`;
    const startsAt = new Date().toISOString();
    const alertOf = (n: number, status: 'firing' | 'resolved') => ({
      status,
      labels: { alertname: 'DrillHighErrorRate', instance: `api-${n}`, severity: 'critical', drill: id, ...(service ? { service } : {}) },
      annotations: { summary: 'Game day: API error rate above 5% for 5 minutes', description: `runbook drill alert-storm ${id}` },
      startsAt,
      endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.drill/graph',
      fingerprint: `drill${id}${n}`,
    });
    const payload = (status: 'firing' | 'resolved') => ({
      receiver: 'durable-runbooks',
      status,
      alerts: [alertOf(1, status), alertOf(2, status)],
      groupLabels: { alertname: 'DrillHighErrorRate' },
      commonLabels: { alertname: 'DrillHighErrorRate', severity: 'critical', drill: id },
      commonAnnotations: { summary: 'Game day: API error rate above 5% for 5 minutes' },
      externalURL: 'http://alertmanager.drill:9093',
      version: '4',
      groupKey,
      truncatedAlerts: 0,
    });
    const incidentId = incidentWorkflowId(`alertmanager:${groupKey}`);
    run.incidentId = incidentId;
    const url = `${world.receiver.url}/webhooks/alertmanager`;
    run.cleanup.push({ what: `close incident ${incidentId}`, run: async () => void (await closeIncident(world, incidentId, opts.actor)) });

    // Two replicas, each sending the group `stormRepeats` times, all at once.
    const deliveries = 2 * opts.stormRepeats;
    run.injectedAt = Date.now();
    const answers = await Promise.all(Array.from({ length: deliveries }, () => postJson(url, payload('firing'), world.receiver!.token)));
    const statuses = answers.map((a) => a.status);
    run.check(
      statuses.every((s) => s === 202),
      `every delivery accepted with 202 (got ${[...new Set(statuses)].join(', ')})`,
    );
    const named = new Set(answers.flatMap((a) => (a.body.incidents as string[] | undefined) ?? []));
    run.check(
      named.size === 1 && named.has(incidentId),
      `every delivery names the one incident ${incidentId} (got ${[...named].join(', ') || 'none'})`,
    );
    if (!statuses.includes(202))
      throw new Error(
        `the receiver accepted none of the ${deliveries} deliveries (${answers[0]?.status}: ${JSON.stringify(answers[0]?.body).slice(0, 200)})`,
      );
    run.note(`${deliveries} concurrent deliveries of one group of 2 alerts (2 replicas × ${opts.stormRepeats})`);

    const s = await waitForIncident(world, incidentId, (x) => x.escalation.pages.length > 0, 'the first page', opts.scenarioTimeoutMs);
    run.firstPage.slaMs = slaMs(world, s.severity);
    run.firstPage.sla = `${s.severity} response`;
    // Late duplicates would page again within moments, if they were going to.
    await sleep(2_000);
    // Identical repeats are merged by the receiver before they reach the incident (coalescing).
    const settled = await waitForIncident(
      world,
      incidentId,
      (x) => Object.keys(x.alerts).length >= 2,
      'both alerts in the incident',
      30_000,
    );
    measureIncident(run, settled);
    const runs = await world.client.workflow.count(`WorkflowId = "${incidentId}"`).catch(() => ({ count: 1 }));
    run.check(runs.count <= 1, `one incident run (found ${runs.count})`);
    run.check(Object.keys(settled.alerts).length === 2, `2 alerts tracked (got ${Object.keys(settled.alerts).length})`);
    run.check(settled.escalation.pages.length === 1, `one page in the incident (got ${settled.escalation.pages.length})`);
    const triggers = await waitFor(
      'the PagerDuty trigger',
      async () => {
        const t = (await world.sandbox.pagerdutyEvents(incidentId)).filter((e) => e.event_action === 'trigger');
        return t.length ? t : undefined;
      },
      10_000,
    );
    run.check(triggers.length === 1, `one PagerDuty trigger (sandbox call log has ${triggers.length})`);
    run.note(
      `→ 1 incident (${settled.severity}), ${triggers.length} PagerDuty trigger; ${Object.values(settled.alerts).reduce((n, a) => n + a.deliveries, 0)} alert updates reached it after the receiver merged repeats`,
    );

    // The group clears: Alertmanager sends it resolved (the drill then resolves without the flap guard).
    const resolved = await postJson(url, payload('resolved'), world.receiver.token);
    run.check(resolved.status === 202, `resolved group accepted (got ${resolved.status})`);
    const final = await closeIncident(world, incidentId, opts.actor);
    if (final) measureIncident(run, final);
  },
};

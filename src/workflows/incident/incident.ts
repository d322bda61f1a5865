/**
 * Incident Response, as the runbooks describe it, in five phases (the sections below follow them):
 *   1. Detect and triage — an alert (or a person) opens the incident; severity P0–P3 is assessed; the timeline starts.
 *   2. Page and escalate — page on-call for P0/P1, tell the team in chat, open a status page incident when customers
 *      see it; not acknowledged within the response SLA (./sla-clock): page the next on-call level, and again.
 *   3. Diagnose — the troubleshooting "Diagnosis" steps run at once and attach their findings to the timeline.
 *   4. Mitigate — playbooks (./playbooks) run once approved, or at once where config allows.
 *   5. Resolve and post-mortem — every alert resolved and still resolved after the flap guard, or a person resolves
 *      it: status page and PagerDuty resolved; then a draft from the timeline, a reminder at 24 h, overdue at 48 h;
 *      the incident closes when the post-mortem is done.
 * Messages (alerts, acknowledgements, mitigations…) are handled in ./handlers; the record in ./records.
 *
 * After resolution, a new firing alert of the same group (a transition to firing, not a repeat) REOPENS this
 * incident while its post-mortem is pending: on-call is paged again and the status page goes back to investigating.
 * Once the post-mortem is done the workflow has ended, so the next firing alert of that group opens a new incident
 * (a new run under the same workflow id, with its own record in the ops database).
 */
import { allHandlersFinished, condition, continueAsNew, log, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { IncidentActivities } from '../../activities/incident';
import { formatDuration, messageOf, parseInput, publish, type Alert, type Severity } from '../common';
import { allAlertsResolved, firingAlerts, trackAlerts } from './alert-tracking';
import {
  higherSeverity,
  incidentInput,
  RUNBOOK_ACTOR,
  severityOfAlert,
  type Finding,
  type IncidentInput,
  type IncidentPlan,
  type IncidentState,
  type IncidentStatus,
  type TimelineKind,
} from './contract';
import { describeStep } from './escalation';
import { setIncidentHandlers } from './handlers';
import { createPlaybooks } from './playbooks';
import { addEvent, createRecorder, records, since, trimCarriedTimeline } from './records';
import { SlaClock } from './sla-clock';

/** Paging, chat and the status page: retried with backoff; a lasting failure is written to the timeline. */
const quick = proxyActivities<IncidentActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 },
});
/** Diagnosis: quick looks tried twice at most; a look that fails is itself a finding. */
const diagnose = proxyActivities<IncidentActivities>({ startToCloseTimeout: '1m', retry: { initialInterval: '2s', maximumAttempts: 2 } });

/** Escalation matrix (config `incidents.escalation`); incidents recorded before it escalate one level per SLA. */
export const ESCALATION_MATRIX_PATCH = 'escalation-matrix';
/** The Diagnosis steps per symptom (sign-in, chat, AI cost, locks, error trend, platform status pages). */
export const SYMPTOM_DIAGNOSIS_PATCH = 'symptom-diagnosis';

const PD_SEVERITY: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = { P0: 'critical', P1: 'error', P2: 'warning', P3: 'info' };

export async function incident(raw: IncidentInput): Promise<IncidentState> {
  const input = parseInput(incidentInput, raw);
  const info = workflowInfo();
  const chainId = info.firstExecutionRunId;
  const s: IncidentState = input.carried ?? newState(input, info.workflowId, Date.now());
  s.runs++;

  // Handlers set wakeups; the main loop waits for a wakeup or the next deadline.
  let wakeups = 0;
  const poke = () => void wakeups++;
  /** Alerts received before detection finished. */
  const inbox: Alert[][] = [];
  /** Background work (evidence, playbooks) that must finish before continue-as-new. */
  let busy = 0;

  const now = () => Date.now();
  const event = (kind: TimelineKind, text: string, by: string = RUNBOOK_ACTOR, data?: Record<string, unknown>) => {
    const e = addEvent(s, now(), by, kind, text, data);
    log.info(`${s.incidentId} [${kind}] ${by}: ${text}`);
    poke();
    return e;
  };
  let matrix = false;
  const sla = new SlaClock(s, () => matrix);
  const recorder = createRecorder(s, chainId);
  const playbooks = createPlaybooks({
    s,
    now,
    event,
    chat,
    statuspage,
    setStatus,
    poke,
    background,
    adjustBusy: (delta: number) => void (busy += delta),
  });
  setIncidentHandlers({
    s,
    chainId,
    sla,
    playbooks,
    now,
    event,
    poke,
    receiveAlerts: (alerts) => (s.detectedAt ? takeAlerts(alerts) : void inbox.push(alerts)),
    setStatus,
    publish: publishState,
    pagerduty,
    chat,
  });

  // The config subset this incident runs under: read once when it opens, carried across continue-as-new.
  if (!s.policy) applyPlan(s, input, await records.incidentPolicy());
  matrix = Boolean(s.policy.escalation) && patched(ESCALATION_MATRIX_PATCH);
  // The ops database keeps the record and the timeline beyond Temporal's retention.
  void recorder.keep();

  // ---- 1. Detect and triage (0–5 minutes) --------------------------------------------------------

  if (!s.detectedAt) {
    await condition(() => inbox.length > 0 || Boolean(input.declared));
    const detected = detect();
    if (!detected) {
      log.info(`${s.incidentId}: only resolved alerts arrived; nothing to respond to`);
      s.phase = 'closed';
      s.status = 'closed';
      return s;
    }
  }
  publishState();

  for (;;) {
    if (s.phase === 'response') {
      // ---- 2. Page and escalate (0–15 minutes, then once per SLA); 3. diagnose and 4. mitigate alongside --
      await initialResponse();
      await respondUntilResolved();
      // ---- 5. Resolve ----------------------------------------------------------------------------------
      await resolve();
      s.phase = 'postmortem';
    }
    // ---- 5. Post-mortem (24–48 hours after resolution); a re-firing alert reopens the incident ---------
    const outcome = await postMortem();
    if (outcome === 'done') break;
    reopen();
  }

  s.phase = 'closed';
  s.closedAt = new Date(now()).toISOString();
  setStatus('closed');
  event('closed', `Closed: post-mortem done by ${s.postmortem.doneBy}`);
  await condition(allHandlersFinished);
  await recorder.recorded();
  return s;

  // ---- 1. detect and triage ----------------------------------------------------------------------

  /** Detection: severity from the alerts' labels (or the declaration); the first firing alert names the incident. */
  function detect(): boolean {
    const batches = inbox.splice(0);
    const alerts = batches.flat();
    const firing = alerts.filter((a) => a.status === 'firing');
    if (!input.declared && firing.length === 0) return false;
    const t = now();
    s.detectedAt = new Date(t).toISOString();
    if (input.declared) {
      event('detected', `Declared ${s.severity}: ${s.title}`, input.declared.by, { severity: s.severity, service: s.service });
    } else {
      const first = firing[0];
      s.title = first.summary;
      const named = first.service ?? first.labels.service;
      const service = s.policy.services.find((x) => x.name === named) ?? s.policy.services[0];
      s.service = service.name;
      s.customerFacing = first.customerFacing ?? service.customerFacing;
      const severities = firing.map((a) => severityOfAlert(a, s.policy));
      s.severity = severities.reduce(higherSeverity);
      event('detected', `Detected ${s.severity} from ${first.source}: ${s.title}`, `alert:${first.source}`, {
        severity: s.severity,
        service: s.service,
        ...(named && named !== s.service ? { alertService: named } : {}),
      });
    }
    sla.start(t);
    if (alerts.length) takeAlerts(alerts);
    return true;
  }

  /** Tracks alerts by fingerprint, raises severity from labels (unless a person set it), drives the flap guard and reopening. */
  function takeAlerts(alerts: Alert[]): void {
    const changes = trackAlerts(s, alerts, now());
    if (changes.severity && !s.severityPinnedBy && s.phase === 'response' && higherSeverity(changes.severity, s.severity) !== s.severity) {
      const before = s.severity;
      s.severity = changes.severity;
      event('severity', `Severity ${before} → ${s.severity}: a new alert is ${s.severity}`, RUNBOOK_ACTOR, {
        from: before,
        to: s.severity,
      });
      sla.rearm(now());
      publishState();
    }
    if (s.resolvedAt && changes.fired.length && !s.reopenRequested) {
      s.reopenRequested = { fingerprint: changes.fired[0] };
      return;
    }
    if (s.resolvedAt) return;
    if (allAlertsResolved(s) && !s.allClearSince) {
      s.allClearSince = new Date(now()).toISOString();
      event(
        'resolution',
        `All ${Object.keys(s.alerts).length} alert(s) resolved; resolving in ${formatDuration(s.policy.flapGuard)} unless one fires again (flap guard)`,
      );
    } else if (!allAlertsResolved(s) && s.allClearSince) {
      delete s.allClearSince;
      event('resolution', `Alert fired again within the flap guard; resolution cancelled`, RUNBOOK_ACTOR, { fingerprints: changes.fired });
    }
  }

  // ---- 2. page and escalate ----------------------------------------------------------------------

  /** Initial response: page on-call, post to chat, open the status page incident; then diagnose. */
  async function initialResponse(): Promise<void> {
    if (shouldPage()) await page(0, s.reopened ? 'reopened' : 'initial');
    await runDueSteps();
    if (!s.chatOpened) {
      s.chatOpened = true;
      await chat(
        `:rotating_light: ${s.severity} ${s.title}\nincident ${s.incidentId} · service ${s.service} · ${
          s.escalation.level >= 0 ? `paged ${s.policy.oncall[s.escalation.level].name}` : 'not paged'
        } · acknowledge within ${sla.describe()}`,
      );
    }
    if (shouldOpenStatuspage()) await openStatuspage();
    if (s.statuspage?.status === 'resolved') await statuspage('investigating', 'The issue has recurred; we are investigating.');
    if (s.evidenceRuns <= s.reopened) void background(gatherEvidence);
  }

  /** The SLA clock, severity raises and the flap guard, until the incident is resolved. */
  async function respondUntilResolved(): Promise<void> {
    for (;;) {
      const seen = wakeups;
      // Not acknowledged in time: the next step of the escalation matrix, or the next on-call level.
      if (matrix) await runDueSteps();
      else if (sla.isDue(now())) await escalate();
      // Severity rose to a paging one, or a customer-facing one, since the initial response.
      if (shouldPage()) await page(0, 'severity-raised');
      if (shouldOpenStatuspage()) await openStatuspage();
      // Resolution: by a person, or every alert resolved and still resolved after the flap guard.
      if (s.resolveRequested) return;
      if (s.allClearSince && now() >= Date.parse(s.allClearSince) + s.policy.flapGuard) return;
      await continueAsNewIfLong();
      const deadlines = [sla.dueMs(), s.allClearSince && Date.parse(s.allClearSince) + s.policy.flapGuard];
      await waitFor(() => wakeups !== seen, deadlines);
    }
  }

  async function escalate(): Promise<void> {
    const next = s.escalation.level + 1;
    if (next >= s.policy.oncall.length) {
      sla.exhaust();
      event('escalation', `Not acknowledged within ${sla.describe()}; no further on-call level to escalate to`);
      await chat(`:warning: ${s.incidentId} is still not acknowledged and every on-call level has been paged`);
      return;
    }
    event('escalation', `Not acknowledged within ${sla.describe()}; escalating to ${s.policy.oncall[next].name}`, RUNBOOK_ACTOR, {
      level: next,
    });
    await page(next, 'escalation');
    await chat(`:arrow_double_up: ${s.incidentId} not acknowledged in ${sla.describe()}: escalated to ${s.policy.oncall[next].name}`);
  }

  /** The escalation matrix: every step now due pages its targets not yet paged in this episode. */
  async function runDueSteps(): Promise<void> {
    if (!matrix || s.acknowledgedAt || s.resolvedAt) return;
    for (const { index, step, cause } of sla.takeDueSteps(now())) {
      const when = describeStep(step);
      if (!step.targets.length) {
        event('escalation', `${s.severity} step ${index + 1} (${when}): listed for review, nobody paged`, RUNBOOK_ACTOR, { step: index });
        await chat(`:clipboard: ${s.incidentId} (${s.severity}) ${s.title}: for the review, not acknowledged yet`);
        continue;
      }
      const targets = step.targets.filter((t) => !sla.wasPaged(t));
      const reason = step.after === 0 ? cause : 'escalation';
      if (reason === 'escalation') {
        event(
          'escalation',
          `Not acknowledged; ${s.severity} step ${index + 1} (${when}): paging ${targets.join(' and ') || 'nobody new'}`,
          RUNBOOK_ACTOR,
          {
            step: index,
            targets,
          },
        );
      }
      for (const target of targets)
        await page(
          s.policy.oncall.findIndex((l) => l.name === target),
          reason,
        );
      if (reason === 'escalation' && targets.length) {
        await chat(`:arrow_double_up: ${s.incidentId} not acknowledged ${when}: paged ${targets.join(' and ')}`);
      }
    }
  }

  /** Pages one on-call level; PagerDuty dedup_key = incident id. The SLA clock restarts for that level. */
  async function page(level: number, reason: 'initial' | 'escalation' | 'reopened' | 'severity-raised'): Promise<void> {
    sla.paged(level, now());
    const pageNo = s.escalation.pages.length;
    s.escalation.pages.push({ level, name: s.policy.oncall[level].name, at: new Date(now()).toISOString(), reason });
    try {
      await quick.pageOnCall({
        chainId,
        pageNo,
        incidentId: s.incidentId,
        level,
        summary: `[${s.severity}] ${s.title}`,
        severity: PD_SEVERITY[s.severity],
        service: s.service,
        details: {
          incident: s.incidentId,
          severity: s.severity,
          level: s.policy.oncall[level].name,
          contacts: s.policy.oncall[level].contacts,
          reason,
        },
      });
      event('page', `Paged ${s.policy.oncall[level].name} (${s.policy.oncall[level].contacts.join(', ')})`, RUNBOOK_ACTOR, {
        level,
        reason,
      });
    } catch (err) {
      event('error', `Paging ${s.policy.oncall[level].name} failed: ${messageOf(err)}`, RUNBOOK_ACTOR, { level });
    }
  }

  /** PagerDuty acknowledge/resolve for every level paged (each has its own routing key). */
  async function pagerduty(action: 'acknowledge' | 'resolve'): Promise<void> {
    const levels = [...new Set(s.escalation.pages.map((p) => p.level))];
    if (!levels.length) return;
    try {
      await quick.pagerdutyEvent({ chainId, incidentId: s.incidentId, action, levels, effect: `${action}-${s.nextSeq}` });
      event('page', `PagerDuty ${action}d`, RUNBOOK_ACTOR, { levels });
    } catch (err) {
      event('error', `PagerDuty ${action} failed: ${messageOf(err)}`);
    }
  }

  async function chat(text: string): Promise<void> {
    if (!s.policy.chat) return;
    try {
      const { channels } = await quick.postToChat({ chainId, effect: `chat-${s.nextSeq}`, text });
      event('chat', `Posted to ${channels.join(' and ')}: ${text.split('\n')[0]}`);
    } catch (err) {
      event('error', `Chat post failed: ${messageOf(err)}`);
    }
  }

  /** Customer-facing: "We're aware of the issue and investigating". The id is state before any retry could create another. */
  async function openStatuspage(): Promise<void> {
    try {
      const sp = await quick.openStatuspage({
        incidentId: s.incidentId,
        title: s.title,
        severity: s.severity,
        body: "We're aware of the issue and investigating.",
      });
      s.statuspage = sp;
      event('statuspage', `Status page incident ${sp.id} opened (${sp.status})${sp.shortlink ? `: ${sp.shortlink}` : ''}`, RUNBOOK_ACTOR, {
        id: sp.id,
      });
    } catch (err) {
      s.statuspageFailed = true;
      event('error', `Opening the status page incident failed: ${messageOf(err)}`);
    }
  }

  async function statuspage(status: 'investigating' | 'identified' | 'monitoring' | 'resolved', body: string): Promise<void> {
    if (!s.statuspage || s.statuspage.status === status) return;
    try {
      const r = await quick.updateStatuspage({ statuspageId: s.statuspage.id, status, body, chainId, effect: `statuspage-${s.nextSeq}` });
      s.statuspage.status = r.status;
      event('statuspage', `Status page: ${r.status} — ${body}`);
    } catch (err) {
      event('error', `Status page update to ${status} failed: ${messageOf(err)}`);
    }
  }

  // ---- 3. diagnose -------------------------------------------------------------------------------

  /** The troubleshooting guide's Diagnosis steps, run at once; their findings go into the timeline. */
  async function gatherEvidence(): Promise<void> {
    s.evidenceRuns++;
    const service = s.policy.services.find((x) => x.name === s.service);
    const looks: [Finding['check'], () => Promise<Finding>][] = [
      ['recent-deployments', () => diagnose.recentDeployments({ service: s.service })],
      ['health-endpoint', () => diagnose.checkHealthEndpoint({ service: s.service })],
      ['provider-status', () => diagnose.checkProviderStatus()],
    ];
    if (service?.database) {
      const database = service.database;
      looks.push(['db-connections', () => diagnose.checkDatabaseConnections({ database })]);
      looks.push(['long-running-queries', () => diagnose.findLongRunningQueries({ database })]);
    }
    if (patched(SYMPTOM_DIAGNOSIS_PATCH)) {
      // Every symptom's Diagnosis at once: the incident does not know yet which symptom it is.
      const database = service?.database;
      looks.push(['platform-status', () => diagnose.checkPlatformStatus()]);
      looks.push(['provider-keys', () => diagnose.checkProviderKeys()]);
      looks.push(['sign-in', () => diagnose.checkSignIn({ database })]);
      if (database) {
        looks.push(['error-trend', () => diagnose.checkErrorTrend({ database })]);
        looks.push(['chat-failures', () => diagnose.checkChatFailures({ database })]);
        looks.push(['ai-usage', () => diagnose.checkAiUsage({ database })]);
        looks.push(['lock-contention', () => diagnose.checkLockContention({ database })]);
      }
    }
    const findings = await Promise.all(
      looks.map(async ([check, look]): Promise<Finding> => {
        let f: Finding;
        try {
          f = await look();
        } catch (err) {
          f = { check, ok: null, summary: `could not check: ${messageOf(err)}` };
        }
        event('evidence', `${f.ok === false ? '✗' : f.ok ? '✓' : '?'} ${f.check}: ${f.summary}`, RUNBOOK_ACTOR, {
          check: f.check,
          ok: f.ok,
          ...(f.details ?? {}),
        });
        return f;
      }),
    );
    proposeFromEvidence(findings);
  }

  /** Playbook 1: down after a recent deployment → roll back. Provider down → switch to the fallback provider. */
  function proposeFromEvidence(findings: Finding[]): void {
    if (s.phase !== 'response' || s.resolvedAt) return;
    const byCheck = new Map(findings.map((f) => [f.check, f]));
    const health = byCheck.get('health-endpoint');
    const deployments = byCheck.get('recent-deployments');
    const hasRecent = Number(deployments?.details?.recentCount ?? 0) > 0;
    if (health?.ok === false && hasRecent && !s.mitigations.some((m) => m.playbook.kind === 'rollback')) {
      playbooks.propose(
        { kind: 'rollback' },
        `health endpoint failing and production was deployed recently (${deployments?.summary})`,
        RUNBOOK_ACTOR,
      );
    }
    const provider = byCheck.get('provider-status');
    const down = (provider?.details?.down as string[] | undefined) ?? [];
    if (down.length && !down.includes(s.policy.fallbackProvider) && !s.mitigations.some((m) => m.playbook.kind === 'switch-provider')) {
      playbooks.propose({ kind: 'switch-provider' }, `AI provider ${down.join(', ')} reports an outage`, RUNBOOK_ACTOR);
    }
  }

  // ---- 4. mitigate: the playbooks (./playbooks) run in the background once approved ---------------

  // ---- 5. resolve and post-mortem ----------------------------------------------------------------

  async function resolve(): Promise<void> {
    const t = now();
    const byPerson = s.resolveRequested;
    s.resolvedAt = new Date(t).toISOString();
    s.resolvedBy = byPerson?.by ?? RUNBOOK_ACTOR;
    s.impactEndedAt = byPerson ? s.resolvedAt : (s.allClearSince ?? s.resolvedAt);
    sla.stop();
    delete s.resolveRequested;
    setStatus('resolved');
    const still = firingAlerts(s).length;
    event(
      'resolution',
      byPerson
        ? `Resolved by ${byPerson.by}${byPerson.reason ? `: ${byPerson.reason}` : ''}${still ? ` (${still} alert(s) still firing)` : ''}`
        : `Resolved: every alert stayed resolved through the ${formatDuration(s.policy.flapGuard)} flap guard`,
      s.resolvedBy,
      { timeToResolve: since(s.openedAt, t) },
    );
    await statuspage('resolved', 'Service restored. Monitoring for stability.');
    await pagerduty('resolve');
    await chat(
      `:large_green_circle: ${s.incidentId} resolved after ${since(s.openedAt, t)}. Post-mortem due within ${formatDuration(s.policy.postmortemDeadline)}.`,
    );
  }

  function reopen(): void {
    const why = s.reopenRequested;
    delete s.reopenRequested;
    s.reopened++;
    s.phase = 'response';
    delete s.resolvedAt;
    delete s.resolvedBy;
    delete s.impactEndedAt;
    delete s.allClearSince;
    delete s.acknowledgedAt;
    delete s.acknowledgedBy;
    sla.restart(now());
    s.chatOpened = false;
    s.postmortem = { actionItems: [] };
    setStatus('open');
    const alert = why?.fingerprint ? s.alerts[why.fingerprint] : undefined;
    event('reopened', `Reopened: ${alert ? `"${alert.summary}" fired again` : 'an alert fired again'} before the post-mortem was done`);
  }

  async function postMortem(): Promise<'done' | 'reopened'> {
    const pm = s.postmortem;
    const resolvedMs = Date.parse(s.resolvedAt!);
    if (!pm.draftedAt) {
      await recorder.recorded();
      const { actionItems } = await records.storePostmortemDraft({ chainId, state: { ...s, timeline: [] } });
      pm.draftedAt = new Date(now()).toISOString();
      pm.reminderAt = new Date(resolvedMs + s.policy.postmortemReminder).toISOString();
      pm.deadlineAt = new Date(resolvedMs + s.policy.postmortemDeadline).toISOString();
      pm.actionItems = actionItems;
      setStatus('postmortem');
      event('postmortem', `Post-mortem draft stored; due ${pm.deadlineAt}`, RUNBOOK_ACTOR, { actionItems });
    }
    for (;;) {
      const seen = wakeups;
      if (pm.doneAt) return 'done';
      if (s.reopenRequested) return 'reopened';
      if (!pm.reminded && now() >= Date.parse(pm.reminderAt!)) {
        pm.reminded = true;
        event('postmortem', `Reminder: the post-mortem is due by ${pm.deadlineAt}`);
        await chat(`:memo: ${s.incidentId}: post-mortem due by ${pm.deadlineAt} (\`runbook incident postmortem ${s.incidentId} --done\`)`);
      }
      if (!pm.overdue && now() >= Date.parse(pm.deadlineAt!)) {
        pm.overdue = true;
        event('postmortem', `The post-mortem is overdue (due ${pm.deadlineAt})`);
        await chat(`:warning: ${s.incidentId}: the post-mortem is overdue`);
      }
      await continueAsNewIfLong();
      await waitFor(() => wakeups !== seen, [!pm.reminded && Date.parse(pm.reminderAt!), !pm.overdue && Date.parse(pm.deadlineAt!)]);
    }
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  function shouldPage(): boolean {
    if (matrix) return false;
    return s.phase === 'response' && !s.acknowledgedAt && s.escalation.level < 0 && s.policy.pageSeverities.includes(s.severity);
  }

  function shouldOpenStatuspage(): boolean {
    return (
      s.policy.statuspage && s.customerFacing && !s.statuspage && !s.statuspageFailed && s.policy.statuspageSeverities.includes(s.severity)
    );
  }

  async function background(work: () => Promise<void>): Promise<void> {
    busy++;
    try {
      await work();
    } finally {
      busy--;
      poke();
    }
  }

  function setStatus(status: IncidentStatus): void {
    s.status = status;
    publishState();
  }

  /** Search attributes and the Temporal UI's current details follow the incident. */
  function publishState(): void {
    publish({
      details: [
        `**${s.severity} ${s.status}** — ${s.title}`,
        `service ${s.service}${s.commander ? ` · commander ${s.commander}` : ''}`,
        s.acknowledgedBy ? `acknowledged by ${s.acknowledgedBy}` : s.escalation.dueAt ? `escalates at ${s.escalation.dueAt}` : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
      kind: 'incident',
      service: s.service,
      severity: s.severity,
      status: s.status,
    });
  }

  /** Long incidents start a fresh history before it grows large, once nothing is in flight. */
  async function continueAsNewIfLong(): Promise<void> {
    const i = workflowInfo();
    if (!i.continueAsNewSuggested && i.historyLength < input.historyLimit) return;
    await condition(() => busy === 0 && allHandlersFinished());
    await recorder.recorded();
    event('note', `History holds ${i.historyLength} events: continuing as a new run (${s.runs + 1})`);
    await recorder.recorded();
    trimCarriedTimeline(s);
    await continueAsNew<typeof incident>({ dedupKey: s.dedupKey, carried: s, historyLimit: input.historyLimit });
  }

  /** Waits for `woken` or the earliest of `deadlines` (falsy entries ignored). */
  async function waitFor(woken: () => boolean, deadlines: (number | false | undefined | '' | null)[]): Promise<void> {
    const next = deadlines.filter((d): d is number => typeof d === 'number').sort((a, b) => a - b)[0];
    if (next === undefined) return condition(woken);
    const ms = next - now();
    if (ms <= 0) return;
    await condition(woken, ms);
  }
}

function newState(input: ReturnType<typeof incidentInput.parse>, workflowId: string, t: number): IncidentState {
  const d = input.declared;
  return {
    incidentId: workflowId,
    dedupKey: input.dedupKey,
    title: d?.title ?? input.dedupKey,
    status: 'open',
    phase: 'response',
    severity: d?.severity ?? 'P2',
    ...(d ? { severityPinnedBy: d.by, declaredBy: d.by } : {}),
    service: d?.service ?? '',
    customerFacing: d?.customerFacing ?? false,
    openedAt: new Date(t).toISOString(),
    reopened: 0,
    alerts: {},
    escalation: { level: -1, pages: [], exhausted: false },
    chatOpened: false,
    evidenceRuns: 0,
    mitigations: [],
    postmortem: { actionItems: [] },
    timeline: [],
    timelineOffset: 0,
    nextSeq: 1,
    recordedSeq: 1,
    policy: undefined as unknown as IncidentPlan,
    runs: 0,
  };
}

/** Defaults that come from config: the default severity, and the service (first configured when none is named). */
function applyPlan(s: IncidentState, input: ReturnType<typeof incidentInput.parse>, policy: IncidentPlan): void {
  s.policy = policy;
  const d = input.declared;
  const service = policy.services.find((x) => x.name === d?.service) ?? policy.services[0];
  s.service = service.name;
  if (!d) {
    s.severity = policy.defaultSeverity;
    s.customerFacing = service.customerFacing;
  }
}

/**
 * The incident's messages: the state query, the alerts and note signals, and the updates people send
 * (acknowledge, commander, severity, resolve, mitigations, post-mortem). Validators refuse a request
 * before it reaches history; handlers change the state and wake the workflow's main loop.
 */
import { condition, setHandler } from '@temporalio/workflow';
import { alertSchema, describeIssues, invalidInput, parseInput, type Alert } from '../common';
import {
  acknowledgeRequest,
  acknowledgeUpdate,
  alertsSignal,
  approveMitigationRequest,
  approveMitigationUpdate,
  assignCommanderRequest,
  assignCommanderUpdate,
  completePostmortemRequest,
  completePostmortemUpdate,
  describePlaybook,
  incidentStateQuery,
  noteRequest,
  noteSignal,
  requestMitigationRequest,
  requestMitigationUpdate,
  resolveRequest,
  resolveUpdate,
  setSeverityRequest,
  setSeverityUpdate,
  UNDOABLE,
  undoMitigationRequest,
  undoMitigationUpdate,
  type IncidentState,
  type IncidentStatus,
  type Mitigation,
  type TimelineKind,
} from './contract';
import type { createPlaybooks } from './playbooks';
import { records, since } from './records';
import type { SlaClock } from './sla-clock';

/** What the handlers need of the running incident. */
export interface HandlerContext {
  s: IncidentState;
  chainId: string;
  sla: SlaClock;
  playbooks: ReturnType<typeof createPlaybooks>;
  now(): number;
  event(kind: TimelineKind, text: string, by?: string, data?: Record<string, unknown>): void;
  poke(): void;
  /** The valid alerts of one signal: held until detection, tracked after it. */
  receiveAlerts(alerts: Alert[]): void;
  setStatus(status: IncidentStatus): void;
  publish(): void;
  pagerduty(action: 'acknowledge'): Promise<void>;
  chat(text: string): Promise<void>;
}

export function setIncidentHandlers(ctx: HandlerContext): void {
  const { s, now, event, playbooks } = ctx;

  setHandler(incidentStateQuery, () => s);

  setHandler(alertsSignal, (raw) => {
    // A signal is not validated on its way in: a malformed alert is noted, never allowed to wedge the incident.
    const alerts: Alert[] = [];
    for (const a of Array.isArray(raw) ? raw : [raw]) {
      const parsed = alertSchema.safeParse(a);
      if (parsed.success) alerts.push(parsed.data);
      else event('error', `Ignored an invalid alert: ${describeIssues(parsed.error.issues).join('; ')}`, 'alert:invalid');
    }
    if (!alerts.length) return;
    ctx.receiveAlerts(alerts);
    ctx.poke();
  });

  setHandler(noteSignal, (raw) => {
    const note = noteRequest.safeParse(raw);
    if (note.success) event('note', note.data.text, note.data.by);
    else event('error', `Ignored an invalid note: ${describeIssues(note.error.issues).join('; ')}`, 'note:invalid');
  });

  setHandler(
    acknowledgeUpdate,
    async (raw) => {
      const req = acknowledgeRequest.parse(raw);
      s.acknowledgedAt = new Date(now()).toISOString();
      s.acknowledgedBy = req.by;
      ctx.sla.stop();
      if (s.status === 'open') ctx.setStatus('acknowledged');
      event('acknowledged', `Acknowledged after ${since(s.openedAt, now())}${req.note ? `: ${req.note}` : ''}`, req.by);
      // Tell PagerDuty and the channel; the escalation clock has already stopped.
      await Promise.all([ctx.pagerduty('acknowledge'), ctx.chat(`:eyes: ${s.incidentId} acknowledged by ${req.by}`)]);
      return s;
    },
    {
      validator: (raw) => {
        const req = parseInput(acknowledgeRequest, raw, 'acknowledge request');
        mustBeActive('acknowledge');
        if (s.acknowledgedAt) throw invalidInput(`already acknowledged by ${s.acknowledgedBy} at ${s.acknowledgedAt}`);
        return req;
      },
    },
  );

  setHandler(
    assignCommanderUpdate,
    (raw) => {
      const req = assignCommanderRequest.parse(raw);
      s.commander = req.commander;
      event('commander', `${req.commander} is incident commander`, req.by);
      return s;
    },
    {
      validator: (raw) => {
        parseInput(assignCommanderRequest, raw, 'assign-commander request');
        mustBeOpened();
        if (s.phase === 'closed') throw invalidInput('the incident is closed');
      },
    },
  );

  setHandler(
    setSeverityUpdate,
    (raw) => {
      const req = setSeverityRequest.parse(raw);
      const before = s.severity;
      s.severity = req.severity;
      s.severityPinnedBy = req.by;
      event('severity', `Severity ${before} → ${req.severity}${req.reason ? `: ${req.reason}` : ''}`, req.by, {
        from: before,
        to: req.severity,
      });
      ctx.sla.rearm(now());
      ctx.publish();
      return s;
    },
    {
      validator: (raw) => {
        const req = parseInput(setSeverityRequest, raw, 'severity request');
        mustBeActive('change the severity of');
        if (req.severity === s.severity) throw invalidInput(`severity is already ${s.severity}`);
      },
    },
  );

  setHandler(
    resolveUpdate,
    (raw) => {
      const req = resolveRequest.parse(raw);
      s.resolveRequested = { by: req.by, ...(req.reason ? { reason: req.reason } : {}) };
      ctx.poke();
      return s;
    },
    {
      validator: (raw) => {
        parseInput(resolveRequest, raw, 'resolve request');
        mustBeActive('resolve');
      },
    },
  );

  setHandler(
    requestMitigationUpdate,
    (raw) => {
      const req = requestMitigationRequest.parse(raw);
      return playbooks.propose(req.playbook, req.reason, req.by);
    },
    {
      validator: (raw) => {
        const req = parseInput(requestMitigationRequest, raw, 'mitigation request');
        mustBeActive('mitigate');
        playbooks.check(req.playbook);
      },
    },
  );

  setHandler(
    approveMitigationUpdate,
    async (raw) => {
      const req = approveMitigationRequest.parse(raw);
      const m = mitigation(req.mitigationId);
      if (!req.approve) {
        m.status = 'rejected';
        m.finishedAt = new Date(now()).toISOString();
        event('mitigation', `Rejected: ${describePlaybook(m.playbook, s)}${req.comment ? ` (${req.comment})` : ''}`, req.by, {
          mitigationId: m.id,
        });
        return m;
      }
      playbooks.approve(m, req.by, req.comment);
      await condition(() => m.status !== 'approved' && m.status !== 'running');
      return m;
    },
    {
      validator: (raw) => {
        const req = parseInput(approveMitigationRequest, raw, 'approval');
        const m = s.mitigations.find((x) => x.id === req.mitigationId);
        if (!m)
          throw invalidInput(
            `mitigationId: no mitigation "${req.mitigationId}" (known: ${s.mitigations.map((x) => x.id).join(', ') || 'none'})`,
          );
        if (m.status !== 'awaiting-approval') throw invalidInput(`mitigation ${m.id} is ${m.status}, not awaiting approval`);
        mustBeActive('mitigate');
      },
    },
  );

  setHandler(
    undoMitigationUpdate,
    async (raw) => {
      const req = undoMitigationRequest.parse(raw);
      const m = mitigation(req.mitigationId);
      await playbooks.undo(m, req.by);
      return m;
    },
    {
      validator: (raw) => {
        const req = parseInput(undoMitigationRequest, raw, 'undo request');
        const m = s.mitigations.find((x) => x.id === req.mitigationId);
        if (!m) throw invalidInput(`mitigationId: no mitigation "${req.mitigationId}"`);
        if (!UNDOABLE.includes(m.playbook.kind)) throw invalidInput(`the runbook has no undo for ${m.playbook.kind}`);
        if (m.status !== 'succeeded' && m.status !== 'undo-failed')
          throw invalidInput(`mitigation ${m.id} is ${m.status}; only a succeeded one can be undone`);
      },
    },
  );

  setHandler(
    completePostmortemUpdate,
    async (raw) => {
      const req = completePostmortemRequest.parse(raw);
      const pm = s.postmortem;
      pm.doneBy = req.by;
      pm.doneAt = new Date(now()).toISOString();
      if (req.link) pm.link = req.link;
      if (req.rootCause) pm.rootCause = req.rootCause;
      if (req.actionItems) pm.actionItems = req.actionItems;
      event('postmortem', `Post-mortem done${req.link ? `: ${req.link}` : ''}`, req.by, { actionItems: pm.actionItems });
      await records.completePostmortemRecord({
        chainId: ctx.chainId,
        by: req.by,
        link: req.link,
        rootCause: req.rootCause,
        actionItems: req.actionItems,
      });
      return s;
    },
    {
      validator: (raw) => {
        parseInput(completePostmortemRequest, raw, 'post-mortem');
        if (s.phase !== 'postmortem') throw invalidInput(`the post-mortem follows resolution; the incident is ${s.status}`);
        if (!s.postmortem.draftedAt) throw invalidInput('the post-mortem draft is still being written; try again in a moment');
        if (s.postmortem.doneAt) throw invalidInput(`the post-mortem was marked done by ${s.postmortem.doneBy}`);
      },
    },
  );

  function mustBeActive(what: string): void {
    mustBeOpened();
    if (s.resolvedAt || s.phase !== 'response') throw invalidInput(`cannot ${what} the incident: it is ${s.status}`);
  }

  /** Messages that arrive while the config is being read (the first moments of a run) are refused, not lost silently. */
  function mustBeOpened(): void {
    if (!s.policy) throw invalidInput('the incident is still opening; try again in a moment');
  }

  function mitigation(id: string): Mitigation {
    const m = s.mitigations.find((x) => x.id === id);
    if (!m) throw invalidInput(`no mitigation "${id}"`);
    return m;
  }
}

import { describePlaybook, formatElapsed, UNDOABLE, type IncidentState, type TimelineEvent } from '../../workflows/incident/contract';

/** The runbook's post-mortem asks: write the report, find the root cause, record lessons, prevent recurrence. */
const RUNBOOK_ITEMS = ['Identify the root cause', 'Document lessons learned', 'Create action items to prevent recurrence'];

export interface PostmortemDraft {
  markdown: string;
  actionItems: string[];
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * The post-mortem draft of an incident: summary, impact window, timeline, mitigations, time to acknowledge,
 * time to resolve, and open action items. Built from the full timeline as stored in the ops database.
 */
export function renderPostmortem(s: IncidentState, events: TimelineEvent[]): PostmortemDraft {
  const opened = Date.parse(s.openedAt);
  const firstAck = events.find((e) => e.kind === 'acknowledged');
  const alertStarts = Object.values(s.alerts)
    .map((a) => Date.parse(a.firstFiringAt))
    .filter(Number.isFinite);
  const impactStart = Math.min(opened, ...alertStarts);
  const impactEnd = s.impactEndedAt ?? s.resolvedAt;
  const actionItems = openActionItems(s, events);

  const lines: string[] = [];
  lines.push(`# Post-mortem: ${s.title}`, '');
  lines.push(`*Draft generated from the incident timeline of \`${s.incidentId}\`.*`, '');
  lines.push('## Summary', '');
  lines.push(`| | |`, `|---|---|`);
  lines.push(`| Incident | \`${s.incidentId}\` |`);
  lines.push(`| Severity | ${s.severity} |`);
  lines.push(`| Service | ${s.service}${s.customerFacing ? ' (customer-facing)' : ''} |`);
  lines.push(`| Commander | ${s.commander ?? '—'} |`);
  lines.push(`| Opened | ${s.openedAt}${s.declaredBy ? ` (declared by ${s.declaredBy})` : ''} |`);
  lines.push(`| Resolved | ${s.resolvedAt ?? '—'}${s.resolvedBy ? ` by ${s.resolvedBy}` : ''} |`);
  lines.push(`| Alerts | ${Object.keys(s.alerts).length} (${Object.values(s.alerts).reduce((n, a) => n + a.deliveries, 0)} deliveries) |`);
  lines.push(`| Paged | ${s.escalation.pages.map((p) => `${p.name} at ${p.at}`).join('; ') || 'nobody'} |`);
  if (s.statuspage) lines.push(`| Status page | ${s.statuspage.id}${s.statuspage.shortlink ? ` ${s.statuspage.shortlink}` : ''} |`);
  if (s.reopened) lines.push(`| Reopened | ${s.reopened} time(s) |`);
  lines.push('');

  lines.push('## Impact window', '');
  lines.push(
    `From ${new Date(impactStart).toISOString()} to ${impactEnd ?? 'ongoing'}${impactEnd ? ` (${formatElapsed(Date.parse(impactEnd) - impactStart)})` : ''}.`,
    '',
  );

  lines.push('## Response times', '');
  lines.push(
    `- Time to acknowledge: ${firstAck ? `${formatElapsed(Date.parse(firstAck.at) - opened)} (by ${firstAck.by})` : 'never acknowledged'}`,
  );
  lines.push(`- Time to resolve: ${s.resolvedAt ? formatElapsed(Date.parse(s.resolvedAt) - opened) : 'not resolved'}`);
  const firstMitigation = events.find((e) => e.kind === 'mitigation' && / succeeded: /.test(e.text));
  if (firstMitigation) lines.push(`- Time to mitigate: ${formatElapsed(Date.parse(firstMitigation.at) - opened)}`);
  lines.push('');

  lines.push('## Mitigations', '');
  if (!s.mitigations.length) lines.push('None.');
  else {
    lines.push('| id | playbook | requested by | approved by | outcome |', '|---|---|---|---|---|');
    for (const m of s.mitigations) {
      const outcome = m.status === 'failed' ? `failed: ${m.error}` : m.outcome ? `${m.status}: ${m.outcome}` : m.status;
      lines.push(
        `| ${m.id} | ${cell(describePlaybook(m.playbook, s))} | ${cell(m.requestedBy)} | ${cell(m.approvedBy ?? '—')} | ${cell(outcome)} |`,
      );
    }
  }
  lines.push('');

  lines.push('## Timeline', '');
  lines.push('| time (UTC) | who | what |', '|---|---|---|');
  for (const e of events) lines.push(`| ${e.at} | ${cell(e.by)} | ${cell(e.text)} |`);
  lines.push('');

  lines.push('## Root cause', '', s.postmortem.rootCause ?? '_To be written._', '');
  lines.push('## Open action items', '');
  for (const item of actionItems) lines.push(`- [ ] ${item}`);
  lines.push('');
  return { markdown: lines.join('\n'), actionItems };
}

function openActionItems(s: IncidentState, events: TimelineEvent[]): string[] {
  const items = [...RUNBOOK_ITEMS];
  for (const m of s.mitigations) {
    if (m.status === 'succeeded' && UNDOABLE.includes(m.playbook.kind)) {
      items.push(
        `Undo ${m.id} (${describePlaybook(m.playbook, s)}) once the permanent fix is deployed: \`runbook incident mitigate ${s.incidentId} --undo ${m.id}\``,
      );
    }
    if (m.status === 'failed' || m.status === 'undo-failed')
      items.push(`Find out why ${m.id} (${describePlaybook(m.playbook, s)}) failed: ${m.error}`);
  }
  if (s.escalation.exhausted) items.push('Nobody acknowledged within the SLA at any on-call level: review on-call coverage');
  const errors = new Set(events.filter((e) => e.kind === 'error').map((e) => e.text));
  for (const text of errors) items.push(`Fix the incident tooling: ${text}`);
  for (const item of s.postmortem.actionItems) if (!items.includes(item)) items.push(item);
  return items;
}

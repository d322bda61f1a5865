import type { Command } from 'commander';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { severity as severitySchema } from '../../config/schema';
import { renderPostmortem } from '../../activities/incident/postmortem';
import { incidentWorkflowId } from '../../workflows/common/alerts';
import {
  acknowledgeRequest,
  acknowledgeUpdate,
  approveMitigationRequest,
  approveMitigationUpdate,
  assignCommanderRequest,
  assignCommanderUpdate,
  completePostmortemRequest,
  completePostmortemUpdate,
  describePlaybook,
  formatElapsed,
  incidentInput,
  incidentStartOptions,
  incidentStateQuery,
  noteRequest,
  noteSignal,
  requestMitigationRequest,
  requestMitigationUpdate,
  resolveRequest,
  resolveUpdate,
  setSeverityRequest,
  setSeverityUpdate,
  undoMitigationRequest,
  undoMitigationUpdate,
  type IncidentInput,
  type IncidentState,
  type Mitigation,
  type PlaybookInput,
} from '../../workflows/incident/contract';
import { RunbookService, RunbookSeverity, RunbookStatus } from '../../workflows/common/search-attributes';
import { who, type CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { table } from '../output';
import { listRuns, parseLimit, shownOf } from '../visibility';
import { parseOrUsage } from './backup';

/** `runbook incident declare|list|show|ack|commander|note|severity|mitigate|resolve|postmortem`: the incident workflow. */

async function incidentHandle(ctx: CliContext, id: string, mustRun = true): Promise<WorkflowHandle> {
  const client = await ctx.client();
  const handle = client.workflow.getHandle(id);
  const d = await handle.describe(); // not found → exit 4
  if (d.type !== 'incident') throw new CliError(EXIT.NOT_FOUND, `${id} is a ${d.type} workflow, not an incident`);
  if (mustRun && d.status.name !== 'RUNNING')
    throw new CliError(EXIT.FAILED, `${id} has ended (${d.status.name.toLowerCase()}): the incident is closed`);
  return handle;
}

/** The incident's state; while it is still opening (its first moments) the query is retried briefly. */
async function stateOf(handle: WorkflowHandle, waitMs = 10_000): Promise<IncidentState> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const s = await handle.query(incidentStateQuery);
      if (s.detectedAt || s.phase === 'closed' || Date.now() > deadline) return s;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const when = (iso?: string) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

export function summaryLines(s: IncidentState, now = Date.now()): string[] {
  const lines = [`${s.incidentId} — ${s.severity} ${s.status} — ${s.title}`];
  const facts = [`service ${s.service}${s.customerFacing ? ' (customer-facing)' : ''}`, `opened ${when(s.openedAt)}`];
  if (s.commander) facts.push(`commander ${s.commander}`);
  if (s.acknowledgedAt)
    facts.push(`acknowledged by ${s.acknowledgedBy} after ${formatElapsed(Date.parse(s.acknowledgedAt) - Date.parse(s.openedAt))}`);
  if (s.resolvedAt) facts.push(`resolved by ${s.resolvedBy} after ${formatElapsed(Date.parse(s.resolvedAt) - Date.parse(s.openedAt))}`);
  lines.push(facts.join(' · '));
  const paged = s.escalation.pages.map((p) => `${p.name} ${when(p.at)}`).join(', ');
  lines.push(`paged: ${paged || 'nobody'}${s.statuspage ? ` · status page ${s.statuspage.id} (${s.statuspage.status})` : ''}`);
  if (s.escalation.dueAt)
    lines.push(`not acknowledged: escalates in ${formatElapsed(Date.parse(s.escalation.dueAt) - now)} (${when(s.escalation.dueAt)})`);
  if (s.escalation.exhausted && !s.acknowledgedAt) lines.push('every on-call level has been paged and nobody acknowledged');
  if (s.allClearSince && !s.resolvedAt) lines.push(`all alerts resolved since ${when(s.allClearSince)}; resolves after the flap guard`);
  if (s.phase === 'postmortem') {
    lines.push(
      s.postmortem.doneAt
        ? `post-mortem done by ${s.postmortem.doneBy}`
        : `post-mortem due ${when(s.postmortem.deadlineAt)}${s.postmortem.overdue ? ' (OVERDUE)' : ''}: runbook incident postmortem ${s.incidentId} --done`,
    );
  }
  return lines;
}

export function stateLines(s: IncidentState): string[] {
  const lines = summaryLines(s);
  const alerts = Object.values(s.alerts);
  if (alerts.length) {
    lines.push(
      '',
      ...table(
        ['ALERT', 'STATUS', 'SEVERITY', 'DELIVERIES', 'SUMMARY'],
        alerts.map((a) => [a.fingerprint, a.status, a.severity, a.deliveries, a.summary]),
      ),
    );
  }
  if (s.mitigations.length) {
    lines.push(
      '',
      ...table(
        ['MITIGATION', 'STATUS', 'REQUESTED BY', 'APPROVED BY', 'PLAYBOOK / OUTCOME'],
        s.mitigations.map((m) => [m.id, m.status, m.requestedBy, m.approvedBy, m.error ?? m.outcome ?? describePlaybook(m.playbook, s)]),
      ),
    );
    const waiting = s.mitigations.filter((m) => m.status === 'awaiting-approval');
    for (const m of waiting) lines.push(`approve ${m.id} with: runbook incident mitigate ${s.incidentId} --approve ${m.id}`);
  }
  lines.push(
    '',
    ...table(
      ['TIME', 'WHO', 'WHAT'],
      s.timeline.map((e) => [when(e.at), e.by, e.text]),
    ),
  );
  if (s.timelineOffset) lines.push(`(${s.timelineOffset} earlier event(s) are in the ops database)`);
  return lines;
}

const mitigationLine = (id: string, m: Mitigation) =>
  `${id} ${m.id}: ${m.status}${m.outcome ? ` — ${m.outcome}` : ''}${m.error ? ` — ${m.error}` : ''}${m.status === 'awaiting-approval' ? ` (approve with: runbook incident mitigate ${id} --approve ${m.id})` : ''}`;

/** Incidents (open ones, or all): every one, or the first `limit`; `total` counts them all. */
async function listIncidents(client: Client, taskQueue: string, all: boolean, limit?: number) {
  const query = [`TaskQueue = "${taskQueue}"`, 'RunbookKind = "incident"', ...(all ? [] : ['ExecutionStatus = "Running"'])].join(' AND ');
  const { total, items } = await listRuns(
    client,
    query,
    (info) => {
      const sa = info.typedSearchAttributes;
      return {
        incidentId: info.workflowId,
        severity: sa.get(RunbookSeverity) ?? null,
        status: sa.get(RunbookStatus) ?? (info.status.name === 'RUNNING' ? 'open' : 'closed'),
        service: sa.get(RunbookService) ?? null,
        opened: info.startTime.toISOString(),
        workflowStatus: info.status.name,
      };
    },
    limit,
  );
  return { total, shown: items.length, incidents: items };
}

interface MitigateOptions {
  playbook?: string;
  service?: string;
  to?: string;
  provider?: string;
  pid?: string;
  database?: string;
  user?: string;
  block?: boolean;
  rateLimit?: string;
  reason?: string;
  approve?: string;
  reject?: string;
  undo?: string;
  comment?: string;
  by?: string;
}

function playbookFrom(o: MitigateOptions): PlaybookInput {
  const kind = o.playbook;
  const service = o.service ? { service: o.service } : {};
  switch (kind) {
    case 'rollback':
      return { kind, ...service, ...(o.to ? { toDeploymentId: o.to } : {}) };
    case 'switch-provider':
      return { kind, ...service, ...(o.provider ? { provider: o.provider } : {}) };
    case 'read-only':
      return { kind, ...service };
    case 'terminate-query': {
      if (!o.pid) throw new CliError(EXIT.USAGE, '--pid: terminate-query needs the backend pid (see the long-running-queries evidence)');
      return { kind, pid: Number(o.pid), ...(o.database ? { database: o.database } : {}) };
    }
    case 'limit-user': {
      if (!o.user) throw new CliError(EXIT.USAGE, '--user: limit-user needs the user id');
      return {
        kind,
        userId: o.user,
        action: o.block ? 'block' : 'rate-limit',
        ...(o.rateLimit ? { rateLimit: Number(o.rateLimit) } : {}),
        ...(o.database ? { database: o.database } : {}),
      };
    }
    default:
      throw new CliError(
        EXIT.USAGE,
        `--playbook: one of rollback, switch-provider, read-only, terminate-query, limit-user${kind ? ` (not "${kind}")` : ''}`,
      );
  }
}

export function register(program: Command, ctx: CliContext): void {
  const incident = program
    .command('incident')
    .description('incidents: declare, acknowledge, mitigate, resolve, post-mortem (Incident Response)');

  incident
    .command('declare')
    .description('open an incident by hand ("alert received OR user report")')
    .requiredOption('-t, --title <text>', 'what is broken')
    .requiredOption('-s, --severity <P0-P3>', 'P0 critical (15 min), P1 high (1 h), P2 medium (4 h), P3 low (next business day)')
    .option('--service <name>', 'affected service (default: the first configured)')
    .option('--customer-facing', 'customers see it: open a status page incident')
    .option('-k, --key <dedup-key>', 'dedup key; alerts with this key join the incident (default: from the title and time)')
    .option('--by <name>', 'who declares (default: cli:$USER)')
    .action(async (o: { title: string; severity: string; service?: string; customerFacing?: boolean; key?: string; by?: string }) => {
      const severity = parseOrUsage(severitySchema, o.severity);
      const services = ctx.config().services.map((s) => s.name);
      if (o.service && !services.includes(o.service))
        throw new CliError(EXIT.USAGE, `--service: no service "${o.service}" in the configuration (known: ${services.join(', ')})`);
      const now = new Date();
      const dedupKey =
        o.key ??
        `declared-${o.title
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .slice(0, 40)}-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
      const input: IncidentInput = {
        dedupKey,
        declared: {
          title: o.title,
          severity,
          customerFacing: Boolean(o.customerFacing),
          by: who(ctx, o.by),
          ...(o.service ? { service: o.service } : {}),
        },
      };
      parseOrUsage(incidentInput, input);
      const client = await ctx.client();
      const handle = await client.workflow.start('incident', {
        taskQueue: ctx.taskQueue(),
        workflowId: incidentWorkflowId(dedupKey),
        args: [input],
        ...incidentStartOptions({ dedupKey, title: o.title, severity, ...(o.service ? { service: o.service } : {}) }),
      });
      const s = await stateOf(handle);
      ctx.out.result({ incidentId: handle.workflowId, dedupKey, state: s }, (d) => [
        ...summaryLines(d.state),
        `acknowledge with: runbook incident ack ${d.incidentId}`,
      ]);
    });

  incident
    .command('list')
    .description('open incidents (with --all, closed ones too)')
    .option('-a, --all', 'closed incidents too')
    .option('-n, --limit <n>', 'list at most this many (the total is always counted); default: all')
    .action(async (o: { all?: boolean; limit?: string }) => {
      const list = await listIncidents(await ctx.client(), ctx.taskQueue(), Boolean(o.all), parseLimit(o.limit));
      ctx.out.result(list, (r) => {
        if (!r.incidents.length) return [r.total ? `${r.total} incidents (none listed)` : o.all ? 'no incidents' : 'no open incidents'];
        const more = shownOf(r.shown, r.total);
        return [
          ...table(
            ['INCIDENT', 'SEVERITY', 'STATUS', 'SERVICE', 'OPENED'],
            r.incidents.map((x) => [x.incidentId, x.severity, x.status, x.service, x.opened]),
          ),
          `${r.total} ${o.all ? '' : 'open '}incident${r.total === 1 ? '' : 's'}${more ? ` (${more})` : ''}`,
        ];
      });
    });

  incident
    .command('show <incidentId>')
    .description('the full state: alerts, paging, mitigations and the timeline')
    .action(async (id: string) => {
      const s = await stateOf(await incidentHandle(ctx, id, false), 0);
      ctx.out.result(s, stateLines);
    });

  incident
    .command('ack <incidentId>')
    .description('acknowledge: stops the escalation clock')
    .option('-m, --note <text>', 'what you are doing')
    .option('--by <name>', 'who acknowledges (default: cli:$USER)')
    .action(async (id: string, o: { note?: string; by?: string }) => {
      const req = parseOrUsage(acknowledgeRequest, { by: who(ctx, o.by), ...(o.note ? { note: o.note } : {}) });
      const s = await (await incidentHandle(ctx, id)).executeUpdate(acknowledgeUpdate, { args: [req] });
      ctx.out.result(s, summaryLines);
    });

  incident
    .command('commander <incidentId> <name>')
    .description('assign the incident commander')
    .option('--by <name>', 'who assigns (default: cli:$USER)')
    .action(async (id: string, commander: string, o: { by?: string }) => {
      const req = parseOrUsage(assignCommanderRequest, { commander, by: who(ctx, o.by) });
      const s = await (await incidentHandle(ctx, id)).executeUpdate(assignCommanderUpdate, { args: [req] });
      ctx.out.result(s, summaryLines);
    });

  incident
    .command('note <incidentId> <text...>')
    .description('add a note to the timeline')
    .option('--by <name>', 'who writes (default: cli:$USER)')
    .action(async (id: string, words: string[], o: { by?: string }) => {
      const req = parseOrUsage(noteRequest, { by: who(ctx, o.by), text: words.join(' ') });
      await (await incidentHandle(ctx, id)).signal(noteSignal, req);
      ctx.out.result({ incidentId: id, note: req.text }, () => `noted on ${id}`);
    });

  incident
    .command('severity <incidentId> <severity>')
    .description('change the severity (P0-P3); re-arms the response SLA while unacknowledged')
    .option('-r, --reason <text>', 'why')
    .option('--by <name>', 'who decides (default: cli:$USER)')
    .action(async (id: string, sev: string, o: { reason?: string; by?: string }) => {
      const req = parseOrUsage(setSeverityRequest, { severity: sev, by: who(ctx, o.by), ...(o.reason ? { reason: o.reason } : {}) });
      const s = await (await incidentHandle(ctx, id)).executeUpdate(setSeverityUpdate, { args: [req] });
      ctx.out.result(s, summaryLines);
    });

  incident
    .command('mitigate <incidentId>')
    .description('propose a playbook (--playbook), or --approve / --reject / --undo one')
    .option('-p, --playbook <kind>', 'rollback | switch-provider | read-only | terminate-query | limit-user')
    .option('--service <name>', "service the playbook acts on (default: the incident's)")
    .option('--to <deploymentId>', 'rollback: the deployment to go back to (default: the previous production one)')
    .option('--provider <name>', 'switch-provider: the provider to force (default: config incidents.fallbackProvider)')
    .option('--pid <pid>', 'terminate-query: the backend to terminate')
    .option('--database <name>', "terminate-query / limit-user: database key (default: the service's)")
    .option('--user <id>', 'limit-user: the user')
    .option('--block', 'limit-user: block instead of rate-limiting')
    .option('--rate-limit <n>', 'limit-user: the rate limit to set (default 10)')
    .option('-r, --reason <text>', 'why (required with --playbook)')
    .option('--approve <mitigationId>', 'approve a proposed playbook; waits until it has run')
    .option('--reject <mitigationId>', 'reject a proposed playbook')
    .option('--undo <mitigationId>', 'undo a playbook the runbook undoes (switch-provider, read-only, limit-user)')
    .option('-m, --comment <text>', 'note kept with an approval or rejection')
    .option('--by <name>', 'who acts (default: cli:$USER)')
    .action(async (id: string, o: MitigateOptions) => {
      const chosen = [o.playbook, o.approve, o.reject, o.undo].filter(Boolean).length;
      if (chosen !== 1) throw new CliError(EXIT.USAGE, 'say exactly one of --playbook <kind>, --approve <id>, --reject <id>, --undo <id>');
      const by = who(ctx, o.by);
      let m: Mitigation;
      if (o.playbook) {
        const req = parseOrUsage(requestMitigationRequest, { playbook: playbookFrom(o), by, reason: o.reason ?? '' });
        m = await (await incidentHandle(ctx, id)).executeUpdate(requestMitigationUpdate, { args: [req] });
      } else if (o.undo) {
        const req = parseOrUsage(undoMitigationRequest, { mitigationId: o.undo, by });
        m = await (await incidentHandle(ctx, id)).executeUpdate(undoMitigationUpdate, { args: [req] });
      } else {
        const req = parseOrUsage(approveMitigationRequest, {
          mitigationId: (o.approve ?? o.reject)!,
          by,
          approve: Boolean(o.approve),
          ...(o.comment ? { comment: o.comment } : {}),
        });
        if (o.approve && !ctx.json) ctx.out.note(`running ${req.mitigationId}…`);
        m = await (await incidentHandle(ctx, id)).executeUpdate(approveMitigationUpdate, { args: [req] });
      }
      ctx.out.result(m, (x) => mitigationLine(id, x));
      if (m.status === 'failed' || m.status === 'undo-failed') ctx.exitCode = EXIT.FAILED;
    });

  incident
    .command('resolve <incidentId>')
    .description('resolve now (without waiting for the alerts and the flap guard); the status page and PagerDuty follow')
    .option('-r, --reason <text>', 'what fixed it')
    .option('--by <name>', 'who resolves (default: cli:$USER)')
    .action(async (id: string, o: { reason?: string; by?: string }) => {
      const req = parseOrUsage(resolveRequest, { by: who(ctx, o.by), ...(o.reason ? { reason: o.reason } : {}) });
      const handle = await incidentHandle(ctx, id);
      await handle.executeUpdate(resolveUpdate, { args: [req] });
      // The resolution's side effects run in the workflow; show the incident once it is resolved.
      const deadline = Date.now() + 30_000;
      let s = await stateOf(handle, 0);
      while (!s.resolvedAt && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        s = await stateOf(handle, 0);
      }
      ctx.out.result(s, summaryLines);
    });

  incident
    .command('postmortem <incidentId>')
    .description('print the post-mortem draft, or mark it done (--done): the incident closes')
    .option('--done', 'the post-mortem is written: close the incident')
    .option('--link <url>', 'where the post-mortem lives')
    .option('--root-cause <text>', 'the root cause, for the record')
    .option('--action-item <text...>', 'open action items, for the record')
    .option('--by <name>', 'who (default: cli:$USER)')
    .action(async (id: string, o: { done?: boolean; link?: string; rootCause?: string; actionItem?: string[]; by?: string }) => {
      if (!o.done) {
        if (o.link || o.rootCause || o.actionItem) throw new CliError(EXIT.USAGE, '--link, --root-cause and --action-item go with --done');
        const s = await stateOf(await incidentHandle(ctx, id, false), 0);
        const draft = renderPostmortem(s, s.timeline);
        ctx.out.result({ incidentId: id, ...draft, timelineOffset: s.timelineOffset }, (d) => [
          d.markdown,
          ...(d.timelineOffset ? [`(${d.timelineOffset} earlier timeline event(s) are in the ops database's stored draft)`] : []),
        ]);
        return;
      }
      const req = parseOrUsage(completePostmortemRequest, {
        by: who(ctx, o.by),
        ...(o.link ? { link: o.link } : {}),
        ...(o.rootCause ? { rootCause: o.rootCause } : {}),
        ...(o.actionItem ? { actionItems: o.actionItem } : {}),
      });
      const handle = await incidentHandle(ctx, id);
      await handle.executeUpdate(completePostmortemUpdate, { args: [req] });
      const s = (await handle.result()) as IncidentState;
      ctx.out.result(s, (x) => [`${x.incidentId} closed: post-mortem done by ${x.postmortem.doneBy}`]);
    });
}

import type { Command } from 'commander';
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { RunbookKind, RunbookService, RunbookSeverity, RunbookStage, RunbookStatus } from '../../workflows/common/search-attributes';
import type { CliContext } from '../context';
import { table } from '../output';
import { listRuns, parseLimit, shownOf } from '../visibility';

export interface RunSummary {
  workflowId: string;
  runId: string;
  kind: string;
  type: string;
  executionStatus: string;
  service?: string;
  status?: string;
  stage?: string;
  severity?: string;
  startTime: string;
  closeTime?: string;
}

export interface StatusReport {
  namespace: string;
  taskQueue: string;
  query: string;
  /** Runs that match, from Temporal's count API. */
  total: number;
  /** Runs listed below (at most --limit). */
  shown: number;
  /** Runs grouped by RunbookKind (the workflow type when a run carries no kind). */
  kinds: Record<string, RunSummary[]>;
}

const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The visibility query: this service's runs are the ones on its task queue. */
export function statusQuery(taskQueue: string, opts: { all?: boolean; kind?: string }): string {
  const clauses = [`TaskQueue = ${quote(taskQueue)}`];
  if (!opts.all) clauses.push(`ExecutionStatus = "Running"`);
  if (opts.kind) clauses.push(`RunbookKind = ${quote(opts.kind)}`);
  return clauses.join(' AND ');
}

export function summarize(info: WorkflowExecutionInfo): RunSummary {
  const sa = info.typedSearchAttributes;
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    kind: sa.get(RunbookKind) ?? info.type,
    type: info.type,
    executionStatus: info.status.name,
    service: sa.get(RunbookService),
    status: sa.get(RunbookStatus),
    stage: sa.get(RunbookStage),
    severity: sa.get(RunbookSeverity),
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime?.toISOString(),
  };
}

function human(report: StatusReport, all: boolean): string[] {
  const what = `${all ? '' : 'open '}run${report.total === 1 ? '' : 's'}`;
  const where = `on task queue "${report.taskQueue}" (namespace ${report.namespace})`;
  if (report.total === 0) return [`no ${what} ${where}`];
  const more = shownOf(report.shown, report.total);
  const lines = [`${report.total} ${what} ${where}${more ? ` (${more})` : ''}`];
  for (const [kind, runs] of Object.entries(report.kinds)) {
    lines.push('', `${kind} (${runs.length})`);
    const headers = ['WORKFLOW ID', ...(all ? ['EXECUTION'] : []), 'SERVICE', 'SEVERITY', 'STATUS', 'STAGE', 'STARTED'];
    const rows = runs.map((r) => [
      r.workflowId,
      ...(all ? [r.executionStatus] : []),
      r.service,
      r.severity,
      r.status,
      r.stage,
      r.startTime,
    ]);
    lines.push(...table(headers, rows).map((l) => `  ${l}`));
  }
  return lines;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description("list this service's open workflow runs, grouped by kind")
    .option('-a, --all', 'include closed runs (completed, failed, terminated…)')
    .option('-k, --kind <kind>', 'only runs of this kind (incident, deploy, backup…)')
    .option('-n, --limit <n>', 'list at most this many runs (the total is always counted)', '200')
    .action(async (opts: { all?: boolean; kind?: string; limit: string }) => {
      const limit = parseLimit(opts.limit);
      const taskQueue = ctx.taskQueue();
      const client = await ctx.client();
      const query = statusQuery(taskQueue, opts);
      const { total, items } = await listRuns(client, query, summarize, limit);
      const kinds: Record<string, RunSummary[]> = {};
      for (const run of items) (kinds[run.kind] ??= []).push(run);
      const report: StatusReport = { namespace: client.options.namespace, taskQueue, query, total, shown: items.length, kinds };
      ctx.out.result(report, (r) => human(r, Boolean(opts.all)));
    });
}

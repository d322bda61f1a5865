import type { Command } from 'commander';
import {
  maintenanceInput,
  maintenanceWorkflowId,
  MAINTENANCE_KINDS,
  type MaintenanceInput,
  type MaintenanceResult,
} from '../../workflows/maintenance/contract';
import { RunbookKind } from '../../workflows/common/search-attributes';
import { describeIssues } from '../../workflows/common/failures';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { table } from '../output';

const ICON = { ok: 'ok', failed: 'FAILED', skipped: 'skipped' } as const;

function human(d: MaintenanceResult & { workflowId: string }): string[] {
  return [
    `${d.kind} maintenance ${d.workflowId}: ${d.failed ? `${d.failed} of ${d.steps.length} steps failed` : `${d.steps.length} steps done`} (report ${d.reportId} in the ops database)`,
    '',
    ...table(
      ['STEP', 'RESULT', 'SUMMARY'],
      d.steps.map((s) => [s.name, ICON[s.status], s.summary]),
    ),
  ];
}

/** `runbook maintenance run --kind weekly`, `runbook maintenance show <workflow id>`. */
export function register(program: Command, ctx: CliContext): void {
  const maintenance = program.command('maintenance').description('daily, weekly, monthly and quarterly maintenance runs and their reports');

  maintenance
    .command('run')
    .description('run one kind of maintenance now (cleanup, ANALYZE/VACUUM, reports, reminders); exit 1 when a step failed')
    .requiredOption('-k, --kind <kind>', `one of ${MAINTENANCE_KINDS.join(', ')}`)
    .option('--no-chat', 'do not post the report to chat')
    .option('--no-wait', 'start the run and print its workflow id without waiting for the report')
    .action(async (opts: { kind: string; chat: boolean; wait: boolean }) => {
      const input: MaintenanceInput = { kind: opts.kind as MaintenanceInput['kind'], requestedBy: 'cli', postToChat: opts.chat };
      const parsed = maintenanceInput.safeParse(input);
      if (!parsed.success) throw new CliError(EXIT.USAGE, describeIssues(parsed.error.issues));
      const client = await ctx.client();
      const handle = await client.workflow.start('maintenance', {
        taskQueue: ctx.taskQueue(),
        workflowId: maintenanceWorkflowId(parsed.data.kind, new Date()),
        args: [input],
        typedSearchAttributes: [{ key: RunbookKind, value: 'maintenance' }],
        staticSummary: `${parsed.data.kind} maintenance started from the CLI`,
      });
      if (!opts.wait) {
        ctx.out.result({ workflowId: handle.workflowId }, (d) => `started ${d.workflowId}`);
        return;
      }
      ctx.out.note(`running ${handle.workflowId}…`);
      const result = (await handle.result()) as MaintenanceResult;
      if (result.failed) ctx.exitCode = EXIT.FAILED;
      ctx.out.result({ workflowId: handle.workflowId, ...result }, human);
    });

  maintenance
    .command('show <workflowId>')
    .description('the steps of a maintenance run (waits for it if it is still running)')
    .action(async (workflowId: string) => {
      const result = (await (await ctx.client()).workflow.getHandle(workflowId).result()) as MaintenanceResult;
      ctx.out.result({ workflowId, ...result }, human);
    });
}

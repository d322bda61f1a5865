import type { Command } from 'commander';
import { healthCheckWorkflowId, type HealthCheckInput, type HealthCheckResult } from '../../workflows/health/contract';
import { RunbookKind } from '../../workflows/common/search-attributes';
import type { CliContext } from '../context';
import { EXIT } from '../exit-codes';
import { table } from '../output';

/** `runbook health run`: one health check now, outside the 5-minute schedule. */
export function register(program: Command, ctx: CliContext): void {
  const health = program.command('health').description('health checks of the services, databases, providers and certificates');

  health
    .command('run')
    .description('run every health check now; failing checks open incidents, recovered ones resolve them (exit 1 while any check fails)')
    .option('--no-wait', 'start the run and print its workflow id without waiting for the result')
    .action(async (opts: { wait: boolean }) => {
      const client = await ctx.client();
      const input: HealthCheckInput = { requestedBy: 'cli' };
      const handle = await client.workflow.start('healthCheck', {
        taskQueue: ctx.taskQueue(),
        workflowId: healthCheckWorkflowId(new Date()),
        args: [input],
        typedSearchAttributes: [{ key: RunbookKind, value: 'healthCheck' }],
        staticSummary: 'Health check started from the CLI',
      });
      if (!opts.wait) {
        ctx.out.result({ workflowId: handle.workflowId }, (d) => `started ${d.workflowId}`);
        return;
      }
      ctx.out.note(`running ${handle.workflowId}…`);
      const result = (await handle.result()) as HealthCheckResult;
      if (result.failing.length) ctx.exitCode = EXIT.FAILED;
      ctx.out.result({ workflowId: handle.workflowId, ...result }, (d) => [
        [
          d.failing.length ? `${d.failing.length} of ${d.total} checks failing` : `no check failing (${d.total} checks)`,
          d.unknown.length ? `${d.unknown.length} could not run` : '',
        ]
          .filter(Boolean)
          .join('; '),
        ...(d.failing.length || d.unknown.length
          ? [
              '',
              ...table(
                ['CHECK', 'STATUS', 'SUMMARY'],
                [...d.failing.map((f) => [f.key, f.status, f.summary]), ...d.unknown.map((u) => [u.key, 'unknown', u.summary])],
              ),
            ]
          : []),
        ...(d.transitions.length
          ? [
              '',
              `${d.transitions.length} alert${d.transitions.length === 1 ? '' : 's'} raised or resolved:`,
              ...d.transitions.map((t) => `  ${t.key}: ${t.from} → ${t.to}`),
            ]
          : []),
      ]);
    });
}

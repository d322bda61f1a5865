import type { Command } from 'commander';
import type { ScheduleHandle } from '@temporalio/client';
import { applySchedules, desiredSchedules, listSchedules, resolveScheduleId, ScheduleNotFoundError } from '../../schedules';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { table } from '../output';

/** `runbook schedules apply|list|pause|resume|trigger`: the Temporal Schedules of health checks, maintenance and backups. */
export function register(program: Command, ctx: CliContext): void {
  const schedules = program.command('schedules').description('Temporal Schedules for health checks, maintenance and backups');

  const idOf = (name: string): string => {
    const config = ctx.config();
    const id = resolveScheduleId(config, name);
    if (!id) {
      const known = desiredSchedules(config).map((d) => d.options.scheduleId);
      throw new CliError(EXIT.USAGE, `schedule: no schedule "${name}" in the configuration; known: ${known.join(', ')}`, { known });
    }
    return id;
  };
  const missing = (id: string) =>
    new CliError(EXIT.NOT_FOUND, `schedule ${id} does not exist yet: run \`runbook schedules apply\``, { scheduleId: id });
  /** `fn` on the schedule `name` names; one that `schedules apply` has not created yet is refused as missing. */
  const onSchedule = async (name: string, fn: (handle: ScheduleHandle, id: string) => Promise<void>): Promise<void> => {
    const id = idOf(name);
    const handle = (await ctx.client()).schedule.getHandle(id);
    try {
      await fn(handle, id);
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw missing(id);
      throw err;
    }
  };

  schedules
    .command('apply')
    .description('create or update every schedule in the configuration (idempotent); remove schedules that left it')
    .action(async () => {
      const client = await ctx.client();
      const outcomes = await applySchedules(client, ctx.config());
      ctx.out.result({ schedules: outcomes }, (d) => {
        const changed = d.schedules.filter((s) => s.action !== 'unchanged').length;
        return [
          ...table(
            ['SCHEDULE', 'ACTION'],
            d.schedules.map((s) => [s.scheduleId, s.action]),
          ),
          '',
          changed ? `${changed} changed` : 'nothing to change',
        ];
      });
    });

  schedules
    .command('list')
    .description('every configured schedule: when it runs, whether it is paused, its next and last runs')
    .action(async () => {
      const rows = await listSchedules(await ctx.client(), ctx.config());
      ctx.out.result({ schedules: rows }, (d) =>
        table(
          ['SCHEDULE', 'WORKFLOW', 'WHEN', 'TIMEZONE', 'PAUSED', 'NEXT RUN', 'LAST RUN'],
          d.schedules.map((r) => [
            r.scheduleId + (r.inConfig ? '' : ' (not in config)'),
            r.workflowType,
            r.when,
            r.timezone,
            r.paused ? `yes${r.note ? ` (${r.note})` : ''}` : 'no',
            r.nextRuns[0],
            r.lastRun ? `${r.lastRun.at} ${r.lastRun.workflowId}` : undefined,
          ]),
        ),
      );
    });

  schedules
    .command('pause <schedule>')
    .description('stop a schedule from starting runs (e.g. health, maintenance-weekly, backup-app)')
    .option('--note <text>', 'why, shown in `schedules list` and the Temporal UI', 'paused from the runbook CLI')
    .action((name: string, opts: { note: string }) =>
      onSchedule(name, async (handle, id) => {
        await handle.pause(opts.note);
        ctx.out.result({ scheduleId: id, paused: true, note: opts.note }, (d) => `paused ${d.scheduleId}: ${d.note}`);
      }),
    );

  schedules
    .command('resume <schedule>')
    .description('let a paused schedule start runs again')
    .option('--note <text>', 'shown in `schedules list` and the Temporal UI', 'resumed from the runbook CLI')
    .action((name: string, opts: { note: string }) =>
      onSchedule(name, async (handle, id) => {
        await handle.unpause(opts.note);
        ctx.out.result({ scheduleId: id, paused: false }, (d) => `resumed ${d.scheduleId}`);
      }),
    );

  schedules
    .command('trigger <schedule>')
    .description('start one run now, as the schedule would')
    .action((name: string) =>
      onSchedule(name, async (handle, id) => {
        const before = (await handle.describe()).info.numActionsTaken;
        await handle.trigger();
        // The schedule starts the run asynchronously; wait briefly to name it.
        let workflowId: string | undefined;
        for (let i = 0; i < 20 && !workflowId; i++) {
          const d = await handle.describe();
          if (d.info.numActionsTaken > before) workflowId = d.info.recentActions.at(-1)?.action.workflow.workflowId;
          else await new Promise((r) => setTimeout(r, 150));
        }
        ctx.out.result(
          { scheduleId: id, workflowId },
          (r) => `triggered ${r.scheduleId}${r.workflowId ? `: started ${r.workflowId}` : ''}`,
        );
      }),
    );
}

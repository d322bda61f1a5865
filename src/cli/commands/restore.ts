import type { Command } from 'commander';
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  confirmRestoreUpdate,
  pitrRestoreInput,
  pitrRestoreWorkflowId,
  restoreInput,
  restoreStatusQuery,
  restoreWorkflowId,
  type PitrRestoreInput,
  type RestoreInput,
  type RestorePlan,
  type RestoreResult,
  type RestoreStatus,
} from '../../workflows/backup/contract';
import { RunbookKind } from '../../workflows/common/search-attributes';
import { formatBytes } from '../../activities/maintenance/markdown';
import { who, type CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { parseOrUsage, pickDatabase, withProgress } from './backup';

function planLines(p: RestorePlan): string[] {
  if (p.pitr) {
    return [
      `point-in-time restore of Supabase project ${p.target} to ${p.pitr.to}`,
      `(recovery window ${p.pitr.earliest} … ${p.pitr.latest})`,
    ];
  }
  const v = p.backupVerification;
  return [
    `restore into "${p.target}" (database ${p.confirmName}) from backup ${p.backupId}`,
    `taken ${p.backupTakenAt}${p.backupAgeMs !== undefined ? ` (${formatAge(p.backupAgeMs)} ago)` : ''}${p.backupSizeBytes ? `, ${formatBytes(p.backupSizeBytes)}` : ''}`,
    ...(v
      ? [
          v.status === 'passed'
            ? `verification: passed ${v.verifiedAt}`
            : v.status === 'failed'
              ? `verification: FAILED ${v.verifiedAt} (${v.detail})`
              : 'verification: NEVER verified',
        ]
      : []),
    ...(p.unverifiedReason ? [`restoring it anyway (--allow-unverified): ${p.unverifiedReason}`] : []),
    'the archive is checked (sha256, full read) first; everything in the database is then replaced, after a backup of it',
  ];
}

/** 90061000 → "1 d 1 h", 3900000 → "1 h 5 min", 42000 → "42 s". */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d${h ? ` ${h} h` : ''}`;
  if (h) return `${h} h${m ? ` ${m} min` : ''}`;
  if (m) return `${m} min`;
  return `${s} s`;
}

/** Waits until the workflow has a plan (or ended). */
async function planned(handle: WorkflowHandle): Promise<RestoreStatus> {
  for (;;) {
    const status = await handle.query(restoreStatusQuery);
    if (status.stage !== 'planning') return status;
    const { status: run } = await handle.describe();
    if (run.name !== 'RUNNING') {
      await handle.result(); // throws the failure (no backup found, PITR window…)
      return handle.query(restoreStatusQuery);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Sends the typed confirmation. A rejected one (wrong or missing name) cancels the waiting restore, so
 * nothing is left pending, and nothing was touched.
 */
async function confirm(ctx: CliContext, handle: WorkflowHandle, name: string, cancelOnReject: boolean): Promise<void> {
  try {
    await handle.executeUpdate(confirmRestoreUpdate, { args: [{ confirm: name, by: who(ctx) }] });
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    if (cancelOnReject) await handle.cancel().catch(() => undefined);
    throw new CliError(
      EXIT.USAGE,
      [
        `--confirm: ${err.cause?.message ?? err.message}`,
        cancelOnReject ? `restore ${handle.workflowId} cancelled; nothing was touched` : 'nothing was touched',
      ],
      {
        workflowId: handle.workflowId,
      },
    );
  }
}

async function followToEnd(ctx: CliContext, client: Client, handle: WorkflowHandle): Promise<void> {
  let stage = 'restoring';
  const poll = setInterval(
    () =>
      void handle.query(restoreStatusQuery).then(
        (s) => (stage = s.stage),
        () => undefined,
      ),
    1000,
  );
  try {
    const result = await withProgress(ctx, client, handle, handle.result() as Promise<RestoreResult>, () => stage);
    ctx.out.result({ workflowId: handle.workflowId, ...result }, (r) =>
      r.stage === 'completed'
        ? [
            r.plan?.pitr
              ? `project ${r.plan.target} restored to ${r.plan.pitr.to}`
              : `restored "${r.plan?.target}" from backup ${r.plan?.backupId}; row counts match the backup's manifest`,
            ...(r.preRestoreBackupId ? [`the previous state is in backup ${r.preRestoreBackupId}`] : []),
          ]
        : [`restore ${r.restoreId} ended ${r.stage}${r.error ? `: ${r.error}` : ''}`],
    );
    if (result.stage !== 'completed') ctx.exitCode = EXIT.FAILED;
  } finally {
    clearInterval(poll);
  }
}

async function startAndConfirm(ctx: CliContext, handle: WorkflowHandle, confirmName: string | undefined): Promise<boolean> {
  // The plan goes out first, in every mode (stderr with --json), so nobody confirms a backup they have not seen.
  const status = await planned(handle);
  for (const l of planLines(status.plan!)) ctx.out.note(l);
  if (!confirmName) {
    ctx.out.result({ workflowId: handle.workflowId, ...status }, (s) => [
      `waiting for confirmation: run \`runbook restore confirm ${handle.workflowId} --confirm ${s.plan!.confirmName}\``,
    ]);
    return false;
  }
  await confirm(ctx, handle, confirmName, true);
  return true;
}

/** `runbook restore --backup ID | --before T --into DB --confirm DBNAME`, `restore pitr`, `restore confirm`, `restore status`. */
export function register(program: Command, ctx: CliContext): void {
  const restore = program
    .command('restore')
    .description('restore a database from a backup (guarded: type the database name to confirm); see also `restore pitr`')
    .option('-i, --into <database>', 'target: key of `databases` in the configuration; its contents are replaced')
    .option('-b, --backup <id>', 'the backup to restore (see `runbook backup list`)')
    .option('--before <time>', 'the latest verified backup taken before this ISO time (e.g. 2025-11-01T00:00:00Z)')
    .option('--from <database>', 'with --before: backups of this database (default: --into)')
    .option('--confirm <name>', 'the real name of the target database; without it the restore waits for `restore confirm`')
    .option('-r, --reason <text>', 'why, kept with the restore record')
    .option('--allow-unverified', 'with --backup: accept a backup whose verification failed or never ran (needs --reason)')
    .option('--confirm-timeout <duration>', 'how long a restore waits for its confirmation', '1h')
    .action(
      async (opts: {
        into?: string;
        backup?: string;
        before?: string;
        from?: string;
        confirm?: string;
        reason?: string;
        allowUnverified?: boolean;
        confirmTimeout: string;
      }) => {
        if (!opts.into) throw new CliError(EXIT.USAGE, '--into: say which database to restore into');
        const into = pickDatabase(ctx, opts.into, '--into');
        const input: RestoreInput = {
          into,
          backupId: opts.backup,
          before: opts.before,
          from: opts.from ? pickDatabase(ctx, opts.from, '--from') : undefined,
          requestedBy: who(ctx),
          reason: opts.reason,
          allowUnverified: opts.allowUnverified ?? false,
          confirmTimeout: opts.confirmTimeout,
        };
        parseOrUsage(restoreInput, input);
        const client = await ctx.client();
        const handle = await client.workflow.start('restore', {
          taskQueue: ctx.taskQueue(),
          workflowId: restoreWorkflowId(into, new Date()),
          args: [input],
          typedSearchAttributes: [{ key: RunbookKind, value: 'restore' }],
          staticSummary: `Restore ${into} from ${opts.backup ?? `the latest verified backup before ${opts.before ?? 'now'}`}`,
        });
        if (await startAndConfirm(ctx, handle, opts.confirm)) await followToEnd(ctx, client, handle);
      },
    );

  restore
    .command('pitr')
    .description('Supabase point-in-time recovery of the whole project to a moment (guarded: type the project ref)')
    .requiredOption('--to <time>', 'recovery target, ISO time inside the PITR window')
    .option('--project <ref>', 'project ref (default: platforms.supabase.projectRef)')
    .option('--confirm <ref>', 'the project ref again; without it the restore waits for `restore confirm`')
    .option('-r, --reason <text>', 'why, kept with the restore record')
    .option('--confirm-timeout <duration>', 'how long it waits for its confirmation', '1h')
    .action(async (opts: { to: string; project?: string; confirm?: string; reason?: string; confirmTimeout: string }) => {
      const ref = opts.project ?? ctx.config().platforms.supabase.projectRef;
      if (!ref) throw new CliError(EXIT.USAGE, '--project: no project ref given and platforms.supabase.projectRef is not configured');
      const input: PitrRestoreInput = {
        projectRef: ref,
        to: opts.to,
        requestedBy: who(ctx),
        reason: opts.reason,
        confirmTimeout: opts.confirmTimeout,
      };
      parseOrUsage(pitrRestoreInput, input);
      const client = await ctx.client();
      const handle = await client.workflow.start('pitrRestore', {
        taskQueue: ctx.taskQueue(),
        workflowId: pitrRestoreWorkflowId(ref, new Date()),
        args: [input],
        typedSearchAttributes: [{ key: RunbookKind, value: 'restore' }],
        staticSummary: `Point-in-time restore of Supabase project ${ref} to ${opts.to}`,
      });
      if (await startAndConfirm(ctx, handle, opts.confirm)) await followToEnd(ctx, client, handle);
    });

  restore
    .command('confirm <workflowId>')
    .description('confirm a waiting restore by typing the target database name (or project ref)')
    .requiredOption('--confirm <name>', 'the name shown when the restore started')
    .action(async (workflowId: string, opts: { confirm: string }) => {
      const client = await ctx.client();
      const handle = client.workflow.getHandle(workflowId);
      // Whoever confirms sees what they confirm, even if someone else started the restore.
      const { plan } = await handle.query(restoreStatusQuery);
      if (plan) for (const l of planLines(plan)) ctx.out.note(l);
      await confirm(ctx, handle, opts.confirm, false);
      await followToEnd(ctx, client, handle);
    });

  restore
    .command('status <workflowId>')
    .description('where a restore is: planning, awaiting confirmation, backing up the target, restoring, verifying, done')
    .action(async (workflowId: string) => {
      const status = await (await ctx.client()).workflow.getHandle(workflowId).query(restoreStatusQuery);
      ctx.out.result({ workflowId, ...status }, (s) => [
        `${workflowId}: ${s.stage}${s.error ? ` (${s.error})` : ''}`,
        ...(s.plan ? planLines(s.plan) : []),
      ]);
    });
}

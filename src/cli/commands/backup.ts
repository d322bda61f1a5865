import type { Command } from 'commander';
import type { z } from 'zod';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  backupCatalogueWorkflowId,
  backupInput,
  backupWorkflowId,
  manualBackupSuffix,
  verifyBackupInput,
  verifyBackupWorkflowId,
  type BackupCatalogueInput,
  type BackupInput,
  type BackupListing,
  type BackupResult,
  type TransferProgress,
  type VerifyBackupInput,
  type VerifyBackupResult,
} from '../../workflows/backup/contract';
import { RunbookKind } from '../../workflows/common/search-attributes';
import { describeIssues } from '../../workflows/common/failures';
import { formatBytes } from '../../activities/maintenance/markdown';
import { who, type CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { table } from '../output';

/** The configured database a command means: `--database`, else the only scheduled (or configured) one. */
export function pickDatabase(ctx: CliContext, given: string | undefined, flag = '--database'): string {
  const config = ctx.config();
  if (given) {
    if (!config.databases[given]) {
      throw new CliError(
        EXIT.USAGE,
        `${flag}: no database "${given}" in the configuration (known: ${Object.keys(config.databases).join(', ') || 'none'})`,
      );
    }
    return given;
  }
  const candidates = config.backup.databases.length ? config.backup.databases : Object.keys(config.databases);
  if (candidates.length === 1) return candidates[0];
  throw new CliError(EXIT.USAGE, `${flag}: say which database (${candidates.join(', ') || 'none configured under databases'})`);
}

/** Validates a workflow input before anything starts: a bad one is a usage error naming the fields. */
export function parseOrUsage<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new CliError(EXIT.USAGE, describeIssues(parsed.error.issues));
  return parsed.data;
}

/** Progress the running activities (and those of child workflows) report in their heartbeats. */
async function currentProgress(client: Client, workflowId: string, depth = 0): Promise<TransferProgress | undefined> {
  const { raw } = await client.workflow.getHandle(workflowId).describe();
  for (const a of raw.pendingActivities ?? []) {
    const payload = a.heartbeatDetails?.payloads?.[0];
    if (payload) return defaultPayloadConverter.fromPayload<TransferProgress>(payload);
  }
  if (depth < 2) {
    for (const child of raw.pendingChildren ?? []) {
      if (child.workflowId) {
        const p = await currentProgress(client, child.workflowId, depth + 1).catch(() => undefined);
        if (p) return p;
      }
    }
  }
  return undefined;
}

/**
 * Prints `phase: bytes at rate` to stderr while `done` is pending: one refreshed line on a terminal,
 * a line every 10 s otherwise. Nothing with --json (stdout stays one JSON document; stderr stays quiet).
 */
export async function withProgress<T>(
  ctx: CliContext,
  client: Client,
  handle: WorkflowHandle,
  done: Promise<T>,
  label?: () => string | undefined,
): Promise<T> {
  if (ctx.json) return done;
  const tty = Boolean(process.stderr.isTTY);
  let last = '';
  let lastPrinted = 0;
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  const tick = async () => {
    const p = await currentProgress(client, handle.workflowId).catch(() => undefined);
    const extra = label?.();
    const line = [
      extra,
      p &&
        (p.bytes
          ? `${p.phase}: ${formatBytes(p.bytes)} at ${formatBytes(p.rate)}/s`
          : p.tables
            ? `${p.phase}: ${p.tables.done} of ${p.tables.total} tables`
            : p.phase),
    ]
      .filter(Boolean)
      .join(' · ');
    if (!line || finished) return;
    if (tty) process.stderr.write(`\r\x1b[2K${line}`);
    else if (line !== last && Date.now() - lastPrinted > 10_000) {
      process.stderr.write(`${line}\n`);
      lastPrinted = Date.now();
    }
    last = line;
  };
  const timer = setInterval(() => void tick(), 1000);
  try {
    return await done;
  } finally {
    clearInterval(timer);
    if (tty && last) process.stderr.write('\r\x1b[2K');
  }
}

function verificationLines(v: VerifyBackupResult): string[] {
  return [
    ...table(
      ['CHECK', 'RESULT', 'DETAIL'],
      v.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAILED', c.detail]),
    ),
    ...(v.retention?.deleted.length
      ? ['', `retention deleted: ${v.retention.deleted.map((d) => `${d.backupId} (${d.reason})`).join(', ')}`]
      : []),
  ];
}

function backupLines(r: BackupResult & { workflowId: string }): string[] {
  const lines = [
    `backup ${r.backupId} of ${r.database}: ${formatBytes(r.sizeBytes)} (${r.compression}), ${r.tables} tables, in ${(r.durationMs / 1000).toFixed(1)} s`,
    `stored at ${r.location}`,
    `sha256 ${r.sha256}`,
  ];
  if (r.verified) lines.push('', ...verificationLines(r.verified));
  return lines;
}

/** `runbook backup run|list|verify`. */
export function register(program: Command, ctx: CliContext): void {
  const backup = program.command('backup').description('database backups: take one now, list the catalogue, verify by a real restore');

  backup
    .command('run')
    .description('back up a configured database now (pg_dump, compressed, checksummed, to the configured store)')
    .option('-d, --database <name>', 'key of `databases` in the configuration (default: the only one under backup.databases)')
    .option('-r, --reason <text>', 'why, kept in the catalogue (e.g. "before the billing migration")')
    .option('--verify', 'restore it into a scratch database right after, and compare')
    .option('--no-wait', 'start it and print the workflow id')
    .action(async (opts: { database?: string; reason?: string; verify?: boolean; wait: boolean }) => {
      const database = pickDatabase(ctx, opts.database);
      const input: BackupInput = {
        database,
        reason: opts.reason,
        requestedBy: who(ctx),
        trigger: 'manual',
        verify: Boolean(opts.verify),
      };
      parseOrUsage(backupInput, input);
      const client = await ctx.client();
      const now = new Date();
      const handle = await client.workflow.start('backup', {
        taskQueue: ctx.taskQueue(),
        workflowId: backupWorkflowId(database, now, manualBackupSuffix(now)),
        args: [input],
        typedSearchAttributes: [{ key: RunbookKind, value: 'backup' }],
        staticSummary: `Manual backup of ${database}${opts.reason ? `: ${opts.reason}` : ''}`,
      });
      if (!opts.wait) {
        ctx.out.result({ workflowId: handle.workflowId }, (d) => `started ${d.workflowId}`);
        return;
      }
      ctx.out.note(`backing up ${database} (${handle.workflowId})…`);
      const result = await withProgress(ctx, client, handle, handle.result() as Promise<BackupResult>);
      ctx.out.result({ workflowId: handle.workflowId, ...result }, backupLines);
    });

  backup
    .command('list')
    .description('the backup catalogue, newest first')
    .option('-d, --database <name>', 'only this database')
    .option('-n, --limit <n>', 'at most this many', '20')
    .option('--all', 'include backups deleted by retention')
    .action(async (opts: { database?: string; limit: string; all?: boolean }) => {
      const input: BackupCatalogueInput = {
        database: opts.database ? pickDatabase(ctx, opts.database) : undefined,
        limit: Number(opts.limit),
        includeDeleted: Boolean(opts.all),
      };
      if (!Number.isInteger(input.limit) || input.limit! < 1) throw new CliError(EXIT.USAGE, '--limit: must be a positive whole number');
      const client = await ctx.client();
      const rows = (await client.workflow.execute('backupCatalogue', {
        taskQueue: ctx.taskQueue(),
        workflowId: backupCatalogueWorkflowId(new Date()),
        args: [input],
        typedSearchAttributes: [{ key: RunbookKind, value: 'backup' }],
        staticSummary: 'List the backup catalogue',
      })) as BackupListing[];
      ctx.out.result({ backups: rows }, (d) =>
        d.backups.length
          ? table(
              ['BACKUP', 'DATABASE', 'STATUS', 'VERIFIED', 'SIZE', 'STARTED', 'TRIGGER'],
              d.backups.map((b) => [
                b.backupId,
                b.database,
                b.status,
                b.verificationStatus ?? 'no',
                b.sizeBytes === null ? null : formatBytes(b.sizeBytes),
                b.startedAt,
                b.trigger,
              ]),
            )
          : ['no backups yet'],
      );
    });

  backup
    .command('verify')
    .description(
      'verify a backup by re-hashing it, reading it fully, restoring it into a scratch database and comparing rows; exit 1 when it fails',
    )
    .option('-b, --backup <id>', 'the backup (default: the latest completed one)')
    .option('-d, --database <name>', 'with no --backup: the latest backup of this database')
    .option('--no-retention', 'do not apply retention after a successful verification')
    .action(async (opts: { backup?: string; database?: string; retention: boolean }) => {
      const input: VerifyBackupInput = {
        backupId: opts.backup,
        database: opts.database ? pickDatabase(ctx, opts.database) : undefined,
        requestedBy: who(ctx),
        retention: opts.retention,
      };
      parseOrUsage(verifyBackupInput, input);
      const client = await ctx.client();
      const handle = await client.workflow.start('verifyBackup', {
        taskQueue: ctx.taskQueue(),
        workflowId: verifyBackupWorkflowId(new Date(), opts.backup),
        args: [input],
        typedSearchAttributes: [{ key: RunbookKind, value: 'verifyBackup' }],
        staticSummary: `Verify ${opts.backup ?? 'the latest backup'} by a real restore`,
      });
      ctx.out.note(`verifying (${handle.workflowId})…`);
      try {
        const result = await withProgress(ctx, client, handle, handle.result() as Promise<VerifyBackupResult>);
        ctx.out.result({ workflowId: handle.workflowId, ...result }, (r) => [`backup ${r.backupId} verified`, '', ...verificationLines(r)]);
      } catch (err) {
        // A failed verification carries its full report; print it like a success, then exit 1.
        const report = verificationReport(err);
        if (!report) throw err;
        ctx.exitCode = EXIT.FAILED;
        ctx.out.result({ workflowId: handle.workflowId, ...report }, (r) => [
          `backup ${r.backupId} FAILED verification`,
          '',
          ...verificationLines(r),
        ]);
      }
    });
}

function verificationReport(err: unknown): VerifyBackupResult | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const f = e as Error & { type?: string; details?: unknown[] };
    if (f.type === 'BackupVerificationFailed' && f.details?.[0]) return f.details[0] as VerifyBackupResult;
  }
  return undefined;
}

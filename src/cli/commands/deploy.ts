import type { Command } from 'commander';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  abortRequest,
  approveRequest,
  deployInput,
  deployStartOptions,
  endWatchRequest,
  rollbackInput,
  rollbackStartOptions,
  type DeployInput,
  type DeployProgress,
  type DeployUpdateResult,
  type RollbackInput,
  type RollbackProgress,
} from '../../workflows/deploy/contract';
import { formatDuration } from '../../workflows/common/duration';
import { who, type CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { table } from '../output';
import { parseOrUsage } from './backup';

/** `runbook deploy start|status|approve|abort|end-watch|rollback|list`: the deploy and rollback workflows. */

function checkService(ctx: CliContext, service: string | undefined, flag = '--service'): string {
  const services = ctx.config().services.map((s) => s.name);
  if (!service) throw new CliError(EXIT.USAGE, `${flag}: say which service (${services.join(', ')})`);
  if (!services.includes(service))
    throw new CliError(EXIT.USAGE, `${flag}: no service "${service}" in the configuration (known: ${services.join(', ')})`);
  return service;
}

const pct = (n: number | null | undefined) => (n === null || n === undefined ? '-' : `${n}%`);
const msText = (n: number | null | undefined) => (n === null || n === undefined ? '-' : `${Math.round(n)} ms`);

/** One line for the live view: stage, and during a watch its samples, last error rate and p99, time left. */
export function progressLine(p: DeployProgress, now = Date.now()): string {
  const parts = [`${p.workflowId}: ${p.stage}`];
  if (p.promotion && p.promotion.stages.length > 1) parts.push(`at ${p.promotion.percent}%`);
  if (p.stage === 'watching' && p.watch) {
    const w = p.watch;
    const left = Math.max(0, Date.parse(w.endsAt) - now);
    parts.push(
      `samples ${w.samplesTaken}/${w.samplesPlanned}`,
      `error rate ${pct(w.lastErrorRate)}`,
      `p99 ${msText(w.lastP99Ms)}`,
      `health ${w.lastHealthy === null ? '-' : w.lastHealthy ? 'ok' : 'UNHEALTHY'}`,
      `${formatDuration(Math.ceil(left / 1000) * 1000)} left`,
    );
    if (w.warnings) parts.push(`${w.warnings} warning sample(s)`);
  }
  if (p.stage === 'awaiting-approval') parts.push(`approve with: runbook deploy approve ${p.workflowId}`);
  return parts.join(' · ');
}

export function progressLines(p: DeployProgress): string[] {
  const lines = [
    `${p.workflowId} — ${p.service} ${p.ref}${p.sha ? `@${p.sha.slice(0, 12)}` : ''} by ${p.requestedBy}${p.hotfix ? ` (hotfix: ${p.hotfix.reason})` : ''}`,
    p.verdict ? `verdict: ${p.verdict} — ${p.verdictReason}` : progressLine(p),
    '',
    ...table(
      ['GATE', 'RESULT', 'REASON'],
      p.gates.map((g) => [g.name, g.status, g.reason]),
    ),
  ];
  if (p.preview)
    lines.push(
      '',
      `preview     ${p.preview.id} ${p.preview.url}${p.preview.smoke ? ` (smoke tests ${p.preview.smoke.passed ? 'passed' : 'FAILED'})` : ''}`,
    );
  if (p.migrations && (p.migrations.pending.length || p.migrations.failed)) {
    lines.push(
      `migrations  applied ${p.migrations.applied.join(', ') || 'none'}${p.migrations.failed ? `; FAILED ${p.migrations.failed.name}: ${p.migrations.failed.error}` : ''}`,
    );
  }
  if (p.previousProduction !== undefined) lines.push(`previous    ${p.previousProduction?.id ?? 'none'} (rollback target)`);
  if (p.production) lines.push(`production  ${p.production.id} ${p.production.url}`);
  if (p.watch) {
    const w = p.watch;
    lines.push(
      `watch       ${w.percent}%: ${w.samplesTaken}/${w.samplesPlanned} samples, last error rate ${pct(w.lastErrorRate)}, p99 ${msText(w.lastP99Ms)}, ${w.warnings} warning(s)${w.endedEarly ? `, ended early by ${w.endedEarly.by}: ${w.endedEarly.reason}` : ''}`,
    );
  }
  if (p.rollback)
    lines.push(
      `rollback    to ${p.rollback.to}: ${p.rollback.status}${p.rollback.error ? ` (${p.rollback.error})` : ''} — ${p.rollback.reason}`,
    );
  if (p.incident)
    lines.push(
      `incident    ${p.incident.workflowId ?? `not opened (${p.incident.error}); told ${p.incident.channels?.join(', ') || 'nobody'}`}`,
    );
  return lines;
}

/**
 * Follows a deployment: a refreshed progress line on stderr (one line per change when not a
 * terminal) until it ends; returns its final progress. Silent with --json.
 */
async function follow(ctx: CliContext, handle: WorkflowHandle): Promise<DeployProgress> {
  const tty = Boolean(process.stderr.isTTY);
  let last = '';
  for (;;) {
    const p = await handle.query<DeployProgress>('progress');
    if (p.verdict && (p.stage === 'done' || p.stage === 'recording')) {
      await handle.result().catch(() => undefined);
      if (tty && last) process.stderr.write('\r\x1b[2K');
      return handle.query<DeployProgress>('progress');
    }
    const line = progressLine(p);
    if (!ctx.json && line !== last) process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    last = line;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

function settle(ctx: CliContext, p: DeployProgress): void {
  ctx.out.result(p, progressLines);
  if (p.verdict !== 'succeeded') ctx.exitCode = EXIT.FAILED;
}

async function update(ctx: CliContext, id: string, name: 'approve' | 'abort' | 'endWatch', arg: unknown): Promise<void> {
  const client = await ctx.client();
  const handle = client.workflow.getHandle(id);
  const { status } = await handle.describe(); // not found → exit 4
  if (status.name !== 'RUNNING')
    throw new CliError(
      EXIT.FAILED,
      `${id} has ended (${status.name.toLowerCase()}): too late to ${name === 'endWatch' ? 'end its watch' : name}`,
    );
  const answer = await handle.executeUpdate<DeployUpdateResult, [unknown]>(name, { args: [arg] });
  ctx.out.result({ workflowId: id, ...answer }, (a) => `${id}: ${a.outcome}`);
}

async function listDeploys(client: Client, taskQueue: string, all: boolean) {
  const query = [
    `TaskQueue = "${taskQueue}"`,
    `RunbookKind IN ("deploy", "rollback")`,
    ...(all ? [] : ['ExecutionStatus = "Running"']),
  ].join(' AND ');
  const runs = [];
  for await (const info of client.workflow.list({ query, pageSize: 50 })) {
    runs.push({ workflowId: info.workflowId, type: info.type, status: info.status.name, started: info.startTime.toISOString() });
    if (runs.length >= 50) break;
  }
  return runs;
}

export function register(program: Command, ctx: CliContext): void {
  const deploy = program
    .command('deploy')
    .description('deployments: checklist, preview, smoke tests, migrations, promotion, 30-minute watch, rollback');

  deploy
    .command('start')
    .description('deploy a git ref of a service (Deployment Procedures → Standard Deployment)')
    .option('-s, --service <name>', 'service from the configuration')
    .option('-p, --project <name>', 'same as --service')
    .requiredOption('-r, --ref <ref>', 'git branch or tag')
    .option('--sha <sha>', 'the exact commit')
    .option('--hotfix', 'emergency deployment: skip the preview and its smoke tests (needs --reason)')
    .option('--reason <text>', 'why this is a hotfix')
    .option('--approval', 'wait for `runbook deploy approve` before production')
    .option('--watch <duration>', 'production watch (default: config deploy.watch, 30m)')
    .option('--sample-interval <duration>', 'watch sampling interval (default: config deploy.sampleInterval, 30s)')
    .option('--by <name>', 'who asks (default: cli:$USER)')
    .option('-f, --follow', 'stay and show progress (samples, error rate, p99, time left) until it ends')
    .action(
      async (o: {
        service?: string;
        project?: string;
        ref: string;
        sha?: string;
        hotfix?: boolean;
        reason?: string;
        approval?: boolean;
        watch?: string;
        sampleInterval?: string;
        by?: string;
        follow?: boolean;
      }) => {
        const service = checkService(ctx, o.service ?? o.project);
        if (o.reason && !o.hotfix) throw new CliError(EXIT.USAGE, '--reason: only with --hotfix');
        if (o.hotfix && !o.reason)
          throw new CliError(EXIT.USAGE, '--hotfix: needs --reason "<why>"; a hotfix skips the preview smoke tests');
        const input: DeployInput = {
          service,
          ref: o.ref,
          ...(o.sha ? { sha: o.sha } : {}),
          requestedBy: who(ctx, o.by),
          ...(o.hotfix ? { hotfix: { reason: o.reason ?? '' } } : {}),
          ...(o.approval ? { requireApproval: true } : {}),
          durations: { ...(o.watch ? { watch: o.watch } : {}), ...(o.sampleInterval ? { sampleInterval: o.sampleInterval } : {}) },
        };
        parseOrUsage(deployInput, input);
        const client = await ctx.client();
        const handle = await client.workflow.start('deploy', { taskQueue: ctx.taskQueue(), ...deployStartOptions(input), args: [input] });
        if (!o.follow) {
          ctx.out.result({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId }, (d) => [
            `started ${d.workflowId}`,
            `follow it with: runbook deploy status ${d.workflowId} --follow`,
          ]);
          return;
        }
        if (!ctx.json) ctx.out.note(`started ${handle.workflowId}`);
        settle(ctx, await follow(ctx, handle));
      },
    );

  deploy
    .command('status [workflowId]')
    .description('progress of a deployment (gates, preview, promotion, watch, verdict); without an id, the running ones')
    .option('-f, --follow', 'stay and show the live watch until it ends')
    .option('-a, --all', 'without an id: closed runs too')
    .action(async (id: string | undefined, o: { follow?: boolean; all?: boolean }) => {
      const client = await ctx.client();
      if (!id) {
        const runs = await listDeploys(client, ctx.taskQueue(), Boolean(o.all));
        ctx.out.result(runs, (r) =>
          r.length
            ? table(
                ['WORKFLOW ID', 'TYPE', 'STATUS', 'STARTED'],
                r.map((x) => [x.workflowId, x.type, x.status, x.started]),
              )
            : ['no deployments running'],
        );
        return;
      }
      const handle = client.workflow.getHandle(id);
      const { type } = await handle.describe();
      if (type === 'rollback') {
        const p = await handle.query<RollbackProgress>('progress');
        ctx.out.result(p, (r) => [
          `${r.workflowId}: ${r.stage} — ${r.service} to ${r.to?.id ?? '(resolving)'}${r.verified !== undefined ? `, health ${r.verified ? 'verified' : 'NOT healthy'}` : ''}${r.lastError ? ` — ${r.lastError}` : ''}`,
        ]);
        return;
      }
      if (type !== 'deploy') throw new CliError(EXIT.NOT_FOUND, `${id} is a ${type} workflow, not a deployment`);
      const p = o.follow ? await follow(ctx, handle) : await handle.query<DeployProgress>('progress');
      if (o.follow) settle(ctx, p);
      else ctx.out.result(p, progressLines);
    });

  deploy
    .command('approve <workflowId>')
    .description('approve promotion to production of a deployment waiting for it')
    .option('--by <name>', 'who approves (default: cli:$USER)')
    .option('-m, --comment <text>', 'note kept with the approval')
    .action(async (id: string, o: { by?: string; comment?: string }) => {
      const arg = parseOrUsage(approveRequest, { by: who(ctx, o.by), ...(o.comment ? { comment: o.comment } : {}) });
      await update(ctx, id, 'approve', arg);
    });

  deploy
    .command('abort <workflowId>')
    .description('stop a deployment; once production changed, it rolls back to the recorded previous deployment')
    .requiredOption('--reason <text>', 'why')
    .option('--by <name>', 'who aborts (default: cli:$USER)')
    .action(async (id: string, o: { by?: string; reason: string }) => {
      await update(ctx, id, 'abort', parseOrUsage(abortRequest, { by: who(ctx, o.by), reason: o.reason }));
    });

  deploy
    .command('end-watch <workflowId>')
    .description('end the production watch early (the reason is kept in the verdict)')
    .requiredOption('--reason <text>', 'why')
    .option('--by <name>', 'who ends it (default: cli:$USER)')
    .action(async (id: string, o: { by?: string; reason: string }) => {
      await update(ctx, id, 'endWatch', parseOrUsage(endWatchRequest, { by: who(ctx, o.by), reason: o.reason }));
    });

  deploy
    .command('rollback')
    .description('roll production back to the previous deployment, or to --to (Rolling Back → Option 1), then verify health')
    .option('-s, --service <name>', 'service from the configuration')
    .option('-p, --project <name>', 'same as --service')
    .option('--to <deploymentId>', 'deployment to go back to (default: the one before the current)')
    .requiredOption('--reason <text>', 'why')
    .option('--incident <id>', 'the incident this mitigates')
    .option('--by <name>', 'who asks (default: cli:$USER)')
    .option('--no-wait', 'start it and print the workflow id')
    .action(
      async (o: { service?: string; project?: string; to?: string; reason: string; incident?: string; by?: string; wait: boolean }) => {
        const input: RollbackInput = {
          service: checkService(ctx, o.service ?? o.project),
          ...(o.to ? { toDeploymentId: o.to } : {}),
          reason: o.reason,
          requestedBy: who(ctx, o.by),
          ...(o.incident ? { incidentId: o.incident } : {}),
        };
        parseOrUsage(rollbackInput, input);
        const client = await ctx.client();
        const handle = await client.workflow.start('rollback', {
          taskQueue: ctx.taskQueue(),
          ...rollbackStartOptions(input, new Date()),
          args: [input],
        });
        if (!o.wait) {
          ctx.out.result({ workflowId: handle.workflowId }, (d) => `started ${d.workflowId}`);
          return;
        }
        try {
          const r = await handle.result();
          ctx.out.result(r as RollbackProgress, (x) => [
            `${x.service}: production is on ${x.to?.id}${x.alreadyCurrent ? ' (it already was)' : ` (was ${x.from?.id ?? 'unknown'})`}`,
            `health ${x.verified ? 'verified' : `NOT healthy: ${x.health?.detail}`}`,
          ]);
          if (!(r as RollbackProgress).verified) ctx.exitCode = EXIT.FAILED;
        } catch (err) {
          if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure)
            throw new CliError(EXIT.FAILED, `rollback failed: ${err.cause.message}`, { workflowId: handle.workflowId });
          throw err;
        }
      },
    );
}

import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { CUSTOM_SEARCH_ATTRIBUTES, RunbookKind } from '../../workflows/common/search-attributes';
import { selfCheckWorkflowId, type SelfCheckResult } from '../../workflows/self-check/contract';
import { durationMs } from '../../workflows/common/duration';
import type { selfCheck } from '../../workflows/self-check';
import { connect } from '../../db/connect';
import { pendingOpsMigrations } from '../../stack/migrate';
import { where } from './db';
import { DEFAULT_DATA_DIR, runningStack } from '../../stack/state';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DoctorReport {
  ok: boolean;
  config: string;
  address: string;
  namespace: string;
  taskQueue: string;
  checks: DoctorCheck[];
  selfCheck?: SelfCheckResult & { workflowId: string; elapsedMs: number };
}

/** temporal.api.enums.v1: TASK_QUEUE_KIND_NORMAL, TASK_QUEUE_TYPE_WORKFLOW. */
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE_WORKFLOW = 1;

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

function temporalDown(address: string, why?: string): DoctorCheck {
  return { name: 'temporal', ok: false, detail: `Temporal unreachable at ${address}${why ? `: ${why}` : ''}` };
}

async function serverVersion(client: Client, address: string): Promise<DoctorCheck> {
  try {
    const info = await client.connection.withDeadline(Date.now() + 5_000, () => client.workflowService.getSystemInfo({}));
    return { name: 'temporal', ok: true, detail: `server ${info.serverVersion || 'reachable'}` };
  } catch (err) {
    return temporalDown(address, firstLine(err));
  }
}

/**
 * The ops database the worker writes to: OPS_DATABASE_URL, else the embedded one of the stack running
 * from RUNBOOK_DATA_DIR. Without either there is nothing to check directly (the selfCheck run still does).
 */
async function opsDatabase(env: NodeJS.ProcessEnv): Promise<DoctorCheck | undefined> {
  const url = env.OPS_DATABASE_URL || runningStack(env.RUNBOOK_DATA_DIR || DEFAULT_DATA_DIR)?.opsDatabaseUrl;
  if (!url) return undefined;
  try {
    const db = await connect(url, 'runbook doctor', { connectionTimeoutMillis: 3_000 });
    try {
      const { rows } = await db.query<{ server_version: string }>('SHOW server_version');
      const version = rows[0]?.server_version ?? '?';
      // A database the worker was pointed at but nobody migrated: say what to run, not which relation is missing.
      const pending = await pendingOpsMigrations(db);
      if (pending.length)
        return {
          name: 'postgres',
          ok: false,
          detail: `ops database at ${where(url)} (PostgreSQL ${version}) lacks ${pending.length} schema migration(s) (${pending[0]}…): run \`npx runbook db migrate\` with the same OPS_DATABASE_URL`,
        };
      return { name: 'postgres', ok: true, detail: `ops database at ${where(url)} (PostgreSQL ${version}), schema up to date` };
    } finally {
      await db.end().catch(() => undefined);
    }
  } catch (err) {
    return {
      name: 'postgres',
      ok: false,
      detail: `PostgreSQL ops database unreachable at ${where(url)}: ${firstLine(err) || 'no answer'}`,
    };
  }
}

async function searchAttributes(client: Client, namespace: string): Promise<DoctorCheck> {
  try {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.keys(CUSTOM_SEARCH_ATTRIBUTES).filter((name) => !customAttributes?.[name]);
    return missing.length
      ? {
          name: 'search attributes',
          ok: false,
          detail: `missing ${missing.join(', ')}: register them with \`temporal operator search-attribute create\``,
        }
      : { name: 'search attributes', ok: true, detail: Object.keys(CUSTOM_SEARCH_ATTRIBUTES).join(', ') };
  } catch (err) {
    // Some hosted clusters do not let a namespace key list attributes; starting a run will tell.
    return { name: 'search attributes', ok: true, detail: `not listable here (${(err as Error).message.split('\n')[0]})` };
  }
}

async function pollers(client: Client, namespace: string, taskQueue: string): Promise<DoctorCheck> {
  let res;
  try {
    res = await client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
    });
  } catch (err) {
    return { name: 'worker', ok: false, detail: `cannot list the pollers of task queue "${taskQueue}": ${firstLine(err)}` };
  }
  const identities = (res.pollers ?? []).map((p) => p.identity ?? '?');
  return identities.length
    ? { name: 'worker', ok: true, detail: `${identities.length} poller(s) on "${taskQueue}": ${identities.join(', ')}` }
    : {
        name: 'worker',
        ok: false,
        detail: `no worker polls task queue "${taskQueue}": start one with \`npm start\` (or \`npm run worker\`)`,
      };
}

function human(r: DoctorReport): string[] {
  const lines = [`config     ${r.config}`, `temporal   ${r.address} (namespace ${r.namespace}), task queue "${r.taskQueue}"`, ''];
  for (const c of r.checks) lines.push(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(17)} ${c.detail}`);
  lines.push('', r.ok ? 'all checks passed' : 'some checks failed');
  return lines;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description(
      'check the stack end to end: Temporal, search attributes, a polling worker, and a selfCheck workflow that writes to the ops database',
    )
    .option('-t, --timeout <duration>', 'how long the selfCheck run may take', '30s')
    .action(async (opts: { timeout: string }) => {
      const timeout = durationMs.safeParse(opts.timeout);
      if (!timeout.success) throw new CliError(EXIT.USAGE, `--timeout: ${timeout.error.issues[0]?.message ?? 'not a duration'}`);
      const config = ctx.config();
      const target = ctx.target();
      const taskQueue = ctx.taskQueue();
      // Every check runs, so the report names everything that is down, one line each.
      const checks: DoctorCheck[] = [];
      let client: Client | undefined;
      try {
        client = await ctx.client();
      } catch (err) {
        if (!(err instanceof CliError && err.code === EXIT.UNREACHABLE)) throw err;
        checks.push(temporalDown(target.address));
      }
      if (client) checks.push(await serverVersion(client, target.address));
      const db = await opsDatabase(ctx.env);
      if (db) checks.push(db);
      if (client && checks[0].ok) {
        checks.push(await searchAttributes(client, target.namespace));
        checks.push(await pollers(client, target.namespace, taskQueue));
      }
      const report: DoctorReport = {
        ok: false,
        config: config.source,
        address: target.address,
        namespace: target.namespace,
        taskQueue,
        checks,
      };

      // Without a polling worker the run would only wait; say so instead.
      if (client && checks.every((c) => c.ok)) {
        const startedAt = Date.now();
        const workflowId = selfCheckWorkflowId(new Date(startedAt));
        try {
          const result = await client.workflow.execute<typeof selfCheck>('selfCheck', {
            taskQueue,
            workflowId,
            args: [{ requestedBy: 'runbook doctor' }],
            workflowExecutionTimeout: timeout.data,
            typedSearchAttributes: [{ key: RunbookKind, value: 'selfCheck' }],
            staticSummary: 'Self-check requested by `runbook doctor`',
          });
          report.selfCheck = { ...result, workflowId, elapsedMs: Date.now() - startedAt };
          checks.push({
            name: 'selfCheck workflow',
            ok: true,
            detail: `${workflowId}: wrote check #${result.checkId} to database "${result.database}" (PostgreSQL ${result.serverVersion}) in ${report.selfCheck.elapsedMs} ms`,
          });
        } catch (err) {
          let e: unknown = err;
          while (e instanceof Error && e.cause) e = e.cause;
          checks.push({ name: 'selfCheck workflow', ok: false, detail: `${workflowId}: ${e instanceof Error ? e.message : String(e)}` });
        }
      }
      report.ok = checks.every((c) => c.ok);
      ctx.out.result(report, human);
      if (!report.ok) ctx.exitCode = EXIT.FAILED;
    });
}

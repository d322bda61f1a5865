import { condition, log, proxyActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { BackupActivities } from '../../activities/backup';
import type { DeployActivities } from '../../activities/deploy';
import type { IncidentActivities } from '../../activities/incident';
import { fnv1a, messageOf, parseInput } from '../common';
import { pitrRestoreWorkflowId, restoreWorkflowId, type PitrRestoreInput, type RestoreInput, type RestoreResult } from '../backup/contract';
import type { pitrRestore } from '../backup/pitr-restore';
import type { restore } from '../backup/restore';
import { noteToIncident } from './incident-note';
import {
  approveRecoveryRequest,
  approveRecoveryUpdate,
  dataLossInput,
  dataLossStatusQuery,
  type ApproveRecoveryRequest,
  type DataLossInput,
  type DataLossStatus,
  type DataLossStep,
  type LostTable,
  type RecoveryOption,
} from './data-loss-contract';

type Activities = IncidentActivities & BackupActivities & Pick<DeployActivities, 'previousProduction'>;

const quick = proxyActivities<Activities>({ startToCloseTimeout: '2m', retry: { maximumAttempts: 5 } });
/** Redeploys, restores into a scratch database and the copy-back stream and heartbeat. */
const long = proxyActivities<Activities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 3 },
});

/**
 * Emergency Procedures 3, Data Loss Event, top to bottom: stop further damage, assess the scope against the newest
 * verified backup, plan the recovery, execute the option a person approves, verify it, and communicate.
 */
export async function dataLossPlaybook(raw: DataLossInput): Promise<DataLossStatus> {
  const input = parseInput(dataLossInput, raw);
  const { workflowId } = workflowInfo();
  const st: DataLossStatus = { stage: 'stopping-damage', steps: [], terminated: [], lost: [], options: [], unavailable: [] };
  let decision: ApproveRecoveryRequest | undefined;
  setHandler(dataLossStatusQuery, () => st);
  setHandler(
    approveRecoveryUpdate,
    async (req) => {
      decision = approveRecoveryRequest.parse(req);
      await condition(() => st.stage !== 'awaiting-approval');
      return st;
    },
    {
      validator: (req) => {
        const r = parseInput(approveRecoveryRequest, req, 'approval');
        if (st.stage !== 'awaiting-approval') throw new Error(`the playbook is ${st.stage}; there is no plan waiting for approval`);
        if (r.approve !== false && !st.options.some((o) => o.option === r.option)) {
          const why = st.unavailable.find((u) => u.option === r.option)?.reason ?? 'not offered';
          throw new Error(`option: ${r.option} is not available (${why}); choose ${st.options.map((o) => o.option).join(' or ')}`);
        }
      },
    },
  );

  const now = () => new Date().toISOString();
  /** A step on the playbook's own record and on the incident's timeline (when it runs for one). */
  async function step(name: DataLossStep['step'], text: string): Promise<void> {
    st.steps.push({ at: now(), step: name, text });
    log.info(`data loss ${input.database} [${name}] ${text}`);
    await noteToIncident(input.incidentId, `Data loss playbook, ${name}: ${text}`);
  }
  async function chat(text: string): Promise<void> {
    await quick
      .postToChat({ chainId: workflowId, effect: `data-loss-${st.steps.length}`, text })
      .catch((err: unknown) => log.warn('chat post failed', { error: messageOf(err) }));
  }

  try {
    // 1. Stop further damage: the app stops writing, and the destructive session ends.
    const { service, platform } = await quick.dataLossService({ database: input.database, service: input.service });
    if (!input.readOnly) await step('stop-damage', 'read-only mode not requested');
    else if (!service || platform !== 'vercel')
      await step(
        'stop-damage',
        `read-only mode not switched: ${service ? `${service} runs on ${platform}, READ_ONLY_MODE is a Vercel variable` : `no service uses ${input.database}`}; stop writes by hand`,
      );
    else {
      const { value: previous } = await quick.readProductionEnv({ service, key: 'READ_ONLY_MODE' });
      st.readOnly = { service, previous, lifted: false };
      const built = await setReadOnly(service, 'true', 'read-only');
      await step('stop-damage', `READ_ONLY_MODE=true on ${service}, ${built} serves production`);
    }
    const sessions = input.pid
      ? [{ pid: input.pid, usename: '', application: '', state: '', query: '', seconds: 0 }]
      : await quick.findDestructiveSessions({ database: input.database });
    if (!sessions.length) await step('stop-damage', `no session of ${input.database} is deleting, truncating, dropping or updating`);
    for (const session of sessions) {
      try {
        const r = await quick.terminateBackend({ database: input.database, pid: session.pid });
        st.terminated.push({ ...session, usename: r.usename, query: r.query });
        await step('stop-damage', `terminated session ${r.pid} (${r.usename}, running ${r.runningFor}): ${r.query}`);
      } catch (err) {
        await step('stop-damage', `session ${session.pid} not terminated: ${messageOf(err)}`);
      }
    }

    // 2. Assess the scope: live row counts against the newest verified backup's manifest.
    st.stage = 'assessing';
    const pitrTarget = input.eventAt ? new Date(Date.parse(input.eventAt) - 1000).toISOString() : undefined;
    try {
      const b = await quick.findBackup({ database: input.database, verifiedBefore: input.eventAt ?? now() });
      st.backup = { backupId: b.backupId, takenAt: b.startedAt };
      const mismatches = await quick.compareRestoredDatabase({ backupId: b.backupId, into: input.database });
      st.lost = lostTables(mismatches);
      await step(
        'assess',
        st.lost.length
          ? `against verified backup ${b.backupId} (${b.startedAt}): ${st.lost.map(describeLost).join(', ')}`
          : `every table holds at least the rows of verified backup ${b.backupId} (${b.startedAt}); no rows lost`,
      );
    } catch (err) {
      await step('assess', `no verified backup to compare with: ${messageOf(err)}`);
    }
    if (st.backup && !st.lost.length) {
      st.stage = 'nothing-lost';
      await liftReadOnly();
      await communicate(`No rows of ${input.database} are missing against the newest verified backup; nothing restored.`);
      return st;
    }

    // 3. Recovery plan: what each option would do, the first one recommended.
    if (!pitrTarget) st.unavailable.push({ option: 'pitr', reason: 'the time of the event is not known (eventAt)' });
    else {
      try {
        const plan = await quick.planPitrRestore({ to: pitrTarget });
        st.options.push({
          option: 'pitr',
          detail: `Supabase point-in-time recovery of project ${plan.target} to ${pitrTarget}, one second before the event; writes after it are lost`,
        });
      } catch (err) {
        st.unavailable.push({ option: 'pitr', reason: messageOf(err) });
      }
    }
    if (st.backup && st.lost.every((t) => t.liveRows !== null)) {
      st.options.push({
        option: 'copy-back',
        detail: `restore backup ${st.backup.backupId} into a scratch database and copy the missing rows of ${st.lost.map((t) => t.table).join(', ')} back by primary key; rows written since stay`,
      });
    } else {
      st.unavailable.push({ option: 'copy-back', reason: st.backup ? 'a table is gone altogether' : 'no verified backup' });
    }
    if (st.backup) {
      st.options.push({
        option: 'full-restore',
        detail: `replace ${input.database} with backup ${st.backup.backupId} (${st.backup.takenAt}); every write since is lost, a backup of the current state is taken first`,
      });
    } else st.unavailable.push({ option: 'full-restore', reason: 'no verified backup' });
    await step(
      'plan',
      st.options.length
        ? st.options.map((o, i) => `${i === 0 ? '(recommended) ' : ''}${o.option}: ${o.detail}`).join('; ')
        : `no recovery option: ${st.unavailable.map((u) => `${u.option}: ${u.reason}`).join('; ')}`,
    );
    if (!st.options.length) throw new Error(`no way to recover ${input.database}`);

    // 4. Execute recovery, once a person approves one option.
    st.stage = 'awaiting-approval';
    await chat(
      `:floppy_disk: data loss in ${input.database}: ${st.lost.map(describeLost).join(', ') || 'scope unknown'}. Options: ${st.options
        .map((o) => o.option)
        .join(', ')}. Approve one with the approveRecovery update of ${workflowId} (option, by)`,
    );
    if (!(await condition(() => decision !== undefined, input.approvalTimeout)) || decision?.approve === false) {
      st.stage = 'not-approved';
      const what = decision ? `plan rejected by ${decision.by}${decision.comment ? ` (${decision.comment})` : ''}` : 'no approval in time';
      // Read-only stays on: the people taking over decide when writes may resume.
      await step('approval', `${what}; nothing restored${st.readOnly ? `; ${st.readOnly.service} stays read-only` : ''}`);
      return st;
    }
    const chosen = decision!;
    st.chosen = { option: chosen.option, by: chosen.by };
    st.stage = 'recovering';
    await step('approval', `${chosen.option} approved by ${chosen.by}${chosen.comment ? ` (${chosen.comment})` : ''}`);
    await recover(chosen.option, chosen.by, pitrTarget);

    // 5. Verification: no table may hold fewer rows than the backup's manifest.
    st.stage = 'verifying';
    if (st.backup) {
      st.stillMissing = lostTables(await quick.compareRestoredDatabase({ backupId: st.backup.backupId, into: input.database }));
      if (st.stillMissing.length)
        throw new Error(
          `after ${chosen.option}, still short of backup ${st.backup.backupId}: ${st.stillMissing.map(describeLost).join(', ')}`,
        );
      await step('verify', `every table holds at least the rows of backup ${st.backup.backupId}`);
    } else await step('verify', 'no verified backup to compare with; check the data by hand');

    // 6. Communication.
    st.stage = 'completed';
    await liftReadOnly();
    await communicate(
      `${input.database} recovered by ${chosen.option} (approved by ${chosen.by})${st.lost.length ? `: ${st.lost.map((t) => t.table).join(', ')} back to at least the rows of backup ${st.backup?.backupId}` : ''}.`,
    );
    return st;
  } catch (err) {
    st.stage = 'failed';
    st.error = messageOf(err);
    await step('recover', `failed: ${st.error}${st.readOnly && !st.readOnly.lifted ? `; ${st.readOnly.service} stays read-only` : ''}`);
    await chat(`:x: data loss playbook for ${input.database} failed: ${st.error}`);
    throw err;
  }

  async function recover(option: RecoveryOption, by: string, pitrTarget: string | undefined): Promise<void> {
    const reason = `data loss in ${input.database}: ${input.reason}`.slice(0, 500);
    if (option === 'copy-back') {
      const backupId = st.backup!.backupId;
      const scratchDatabase = `runbook_dataloss_${fnv1a(workflowId)}`;
      try {
        const scratch = await long.restoreBackupIntoScratch({ backupId, scratchDatabase, keep: true });
        const failed = scratch.checks.filter((c) => !c.ok);
        if (failed.length) throw new Error(`backup ${backupId} did not restore cleanly: ${failed.map((c) => c.detail).join('; ')}`);
        st.copied = await long.copyBackMissingRows({
          database: input.database,
          backupDatabase: input.database,
          scratchDatabase,
          tables: st.lost.map((t) => t.table),
        });
      } finally {
        await quick.dropScratchDatabase({ backupId, scratchDatabase });
      }
      await step(
        'recover',
        `copied back ${st.copied.tables.map((t) => `${t.inserted} rows of ${t.table}`).join(', ')} from backup ${backupId}`,
      );
      return;
    }
    // The backup capability's own restores, with their typed confirmation and (full restore) pre-restore backup.
    const child =
      option === 'pitr'
        ? await startChild<typeof pitrRestore>('pitrRestore', {
            workflowId: `${pitrRestoreWorkflowId('data-loss', new Date())}-${fnv1a(workflowId)}`,
            args: [
              {
                to: pitrTarget!,
                requestedBy: by,
                reason,
                pollInterval: input.pitrPollInterval,
                confirmTimeout: input.confirmTimeout,
              } satisfies PitrRestoreInput,
            ],
          })
        : await startChild<typeof restore>('restore', {
            workflowId: `${restoreWorkflowId(input.database, new Date())}-${fnv1a(workflowId)}`,
            args: [
              {
                into: input.database,
                backupId: st.backup!.backupId,
                requestedBy: by,
                reason,
                confirmTimeout: input.confirmTimeout,
              } satisfies RestoreInput,
            ],
          });
    st.restoreWorkflowId = child.workflowId;
    await step('recover', `started ${option} as ${child.workflowId}; confirm it there by typing the name it asks for`);
    const result: RestoreResult = await child.result();
    if (result.stage !== 'completed')
      throw new Error(`${option} ${child.workflowId} ended ${result.stage}${result.error ? `: ${result.error}` : ''}`);
    await step('recover', `${option} ${child.workflowId} completed (confirmed by ${result.confirmedBy})`);
  }

  /** `vercel env add READ_ONLY_MODE` + `vercel --prod`, as the read-only mitigation does it. */
  async function setReadOnly(service: string, value: string | null, tag: string): Promise<string> {
    await quick.setProductionEnv({ service, key: 'READ_ONLY_MODE', value });
    const { current } = await quick.previousProduction({ service });
    const built = await long.redeployProduction({
      service,
      identity: `${workflowId}/${tag}`,
      ...(current ? { fromDeploymentId: current.id } : {}),
    });
    const served = await long.serveProductionBuild({ service, deploymentId: built.deploymentId });
    return served.deploymentId;
  }

  async function liftReadOnly(): Promise<void> {
    if (!st.readOnly || st.readOnly.lifted) return;
    const built = await setReadOnly(st.readOnly.service, st.readOnly.previous, 'lift-read-only');
    st.readOnly.lifted = true;
    await step(
      'communicate',
      `READ_ONLY_MODE ${st.readOnly.previous === null ? 'removed' : `back to ${st.readOnly.previous}`} on ${st.readOnly.service}, ${built} serves production`,
    );
  }

  /** Chat, the incident's status page ("notify users of any data impact") and the incident timeline. */
  async function communicate(text: string): Promise<void> {
    await chat(`:white_check_mark: ${text}`);
    if (input.incidentId) {
      try {
        const sp = await quick.openStatuspage({
          incidentId: input.incidentId,
          title: `Data issue in ${input.database}`,
          severity: 'P1',
          body: text,
        });
        await quick.updateStatuspage({ statuspageId: sp.id, status: 'monitoring', body: text });
      } catch (err) {
        await step('communicate', `status page not updated: ${messageOf(err)}`);
      }
    }
    await step('communicate', text);
  }
}

function lostTables(mismatches: { table: string; expectedRows?: number; actualRows?: number }[]): LostTable[] {
  return mismatches
    .filter((m) => m.expectedRows !== undefined && (m.actualRows === undefined || m.actualRows < m.expectedRows))
    .map((m) => ({ table: m.table, backupRows: m.expectedRows!, liveRows: m.actualRows ?? null }));
}

function describeLost(t: LostTable): string {
  return t.liveRows === null
    ? `${t.table} is gone (${t.backupRows} rows)`
    : `${t.table} lost ${t.backupRows - t.liveRows} of ${t.backupRows} rows`;
}

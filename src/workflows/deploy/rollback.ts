import { ActivityFailure, ApplicationFailure, CancellationScope, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { messageOf, parseInput, publish } from '../common';
import {
  rollbackInput,
  rollbackProgressQuery,
  type RollbackInput,
  type RollbackProgress,
  type RollbackResult,
  type RollbackStage,
} from './contract';
import { deployActivities, loadPlan, notifyChat } from './proxies';
import { rollBackProduction } from './rollback-steps';

/**
 * Rolling Back Deployment, Option 1 ("revert to previous deployment, instant"): production goes back
 * to the deployment before the current one, or to the one named, then production health is verified.
 * Started by a person (`runbook deploy rollback`) or as a child of an incident's rollback playbook.
 */
export async function rollback(raw: RollbackInput): Promise<RollbackResult> {
  const input = parseInput(rollbackInput, raw);
  const info = workflowInfo();
  const state: RollbackProgress = {
    workflowId: info.workflowId,
    service: input.service,
    requestedBy: input.requestedBy,
    reason: input.reason,
    ...(input.incidentId ? { incidentId: input.incidentId } : {}),
    stage: 'resolving-target',
  };
  const startedAt = new Date().toISOString();
  const enter = (stage: RollbackStage) => {
    state.stage = stage;
    publish({ stage });
  };
  setHandler(rollbackProgressQuery, () => JSON.parse(JSON.stringify(state)) as RollbackProgress);

  const plan = await loadPlan(input.service, { durations: input.durations }, input.durations.activityTimeout);
  const d = plan.durations;
  const { quick, long } = deployActivities(d);
  const service = input.service;

  async function record(ok: boolean, reason: string): Promise<void> {
    state.finishedAt = new Date().toISOString();
    enter('recording');
    publish({ status: ok ? 'rolled-back' : 'failed', details: reason });
    await CancellationScope.nonCancellable(async () => {
      const outcomes = await Promise.allSettled([
        quick.recordDeployment({
          workflowId: info.workflowId,
          kind: 'rollback',
          service,
          platform: plan.platform,
          requestedBy: input.requestedBy,
          reason: input.reason,
          incidentId: input.incidentId,
          productionDeploymentId: state.to?.id,
          previousDeploymentId: state.from?.id ?? undefined,
          gates: [],
          rollback: {
            from: state.from?.id,
            to: state.to?.id,
            alreadyCurrent: state.alreadyCurrent,
            verified: state.verified,
            health: state.health,
          },
          verdict: ok ? 'rolled-back' : 'failed',
          verdictReason: reason,
          startedAt,
          finishedAt: state.finishedAt!,
        }),
        notifyChat(quick, `${ok ? '↩️' : '❌'} ${service}: ${reason} (by ${input.requestedBy}: ${input.reason})`),
      ]);
      for (const o of outcomes) if (o.status === 'rejected') log.warn('rollback record or notice failed', { error: messageOf(o.reason) });
    });
    enter('done');
  }

  try {
    // ---- which deployment to go back to --------------------------------------------------------------
    const { current, previous } = await quick.previousProduction({ service });
    state.from = current;
    const to = input.toDeploymentId ? await quick.describeDeployment({ service, deploymentId: input.toDeploymentId }) : previous;
    if (!to)
      throw ApplicationFailure.create({
        type: 'NoRollbackTarget',
        nonRetryable: true,
        message: `${service} has no earlier production deployment to roll back to`,
      });
    state.to = to;

    // ---- roll back (asked once; nothing asked when production already is the target), then verify ----
    enter('rolling-back');
    const v = await rollBackProduction(
      long,
      { service, toDeploymentId: to.id, reason: input.reason, pollIntervalMs: d.pollInterval },
      { asked: (r) => (state.alreadyCurrent = !r.requested), verifying: () => enter('verifying') },
    );
    state.verified = v.healthy;
    state.health = { healthy: v.healthy, detail: v.detail };
    await record(
      true,
      `production is back on ${to.id}${state.alreadyCurrent ? ' (it already was)' : ''}; health ${v.healthy ? 'verified' : `NOT healthy: ${v.detail}`}`,
    );
    return { ...state, to, verified: v.healthy };
  } catch (err) {
    state.lastError = messageOf(err);
    await record(false, `rollback failed: ${state.lastError}`);
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) throw err.cause;
    throw err;
  }
}

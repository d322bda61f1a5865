import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { formatDuration, messageOf, parseInput, publish } from '../common';
import {
  abortRequest,
  abortUpdate,
  approveRequest,
  approveUpdate,
  deployInput,
  deployProgressQuery,
  endWatchRequest,
  endWatchUpdate,
  type DeployInput,
  type DeployPlan,
  type DeployProgress,
  type DeployResult,
  type DeployStage,
  type DeployVerdict,
  type GateName,
  type GateResult,
} from './contract';
import { deployActivities, loadPlan, notifyChat } from './proxies';
import { rollBackProduction } from './rollback-steps';
import { watch, type WatchRun } from './watch';

/** A person aborted: stop waiting and unwind to the abort path. */
class Stop extends Error {}

const STAGES_BEFORE_PRODUCTION: DeployStage[] = ['gates', 'preview', 'smoke-test', 'awaiting-approval'];

/**
 * Deployment Procedures, as the runbook runs them: the pre-deployment checklist, a preview deployment
 * and its smoke tests, migrations with rollback files, promotion (staged where the project has rolling
 * releases), production verification and the 30-minute watch that rolls back on a critical breach.
 */
export async function deploy(raw: DeployInput): Promise<DeployResult> {
  const input = parseInput(deployInput, raw);
  const info = workflowInfo();
  const now = () => new Date().toISOString();
  const state: DeployProgress = {
    workflowId: info.workflowId,
    service: input.service,
    platform: 'vercel',
    ref: input.ref,
    sha: input.sha,
    requestedBy: input.requestedBy,
    ...(input.hotfix ? { hotfix: input.hotfix } : {}),
    stage: 'gates',
    startedAt: now(),
    gates: [],
    recentSamples: [],
    samplesTaken: 0,
  };
  /** Known once the plan is loaded; until then an approval is taken in advance. */
  const known: { requireApproval?: boolean } = {};
  /** Set by the abort and endWatch updates. */
  const requests: WatchRun['requests'] = {};
  /** From here on production may have changed, so stopping means rolling back. */
  let productionTouched = false;
  /** Chat notices sent while the workflow carries on; awaited before it ends. */
  const notices: Promise<unknown>[] = [];

  const snapshot = (): DeployProgress => {
    const copy = JSON.parse(JSON.stringify(state)) as DeployProgress;
    if (copy.watch) copy.watch.timeLeftMs = Math.max(0, Date.parse(copy.watch.endsAt) - Date.now());
    return copy;
  };
  const enter = (stage: DeployStage) => {
    state.stage = stage;
    publish({ stage, details: `stage: ${stage}` });
  };
  const gate = (name: GateName, status: GateResult['status'], reason: string) => state.gates.push({ name, status, reason, at: now() });
  const rejected = (message: string) => ApplicationFailure.create({ type: 'Rejected', nonRetryable: true, message });

  // ---- messages ------------------------------------------------------------------------------------
  setHandler(deployProgressQuery, snapshot);
  setHandler(
    approveUpdate,
    (req) => {
      const r = approveRequest.parse(req);
      state.approval = { by: r.by, ...(r.comment ? { comment: r.comment } : {}), at: now() };
      return {
        stage: state.stage,
        outcome: state.stage === 'awaiting-approval' ? 'approved: promotion to production goes ahead' : 'approved in advance',
      };
    },
    {
      validator: (req) => {
        parseInput(approveRequest, req, 'approval');
        if (known.requireApproval === false)
          throw rejected('this deployment does not wait for approval (deploy.requireApproval is off and the start did not ask for it)');
        if (state.approval) throw rejected(`already approved by ${state.approval.by}`);
        if (state.verdict || !STAGES_BEFORE_PRODUCTION.includes(state.stage))
          throw rejected(`too late to approve: the deployment is at ${state.stage}`);
      },
    },
  );
  setHandler(
    abortUpdate,
    (req) => {
      requests.abort = abortRequest.parse(req);
      const target = state.previousProduction;
      return {
        stage: state.stage,
        outcome: productionTouched
          ? target
            ? `production will be rolled back to ${target.id}`
            : 'no previous production deployment to roll back to'
          : 'the deployment stops before production changes',
      };
    },
    {
      validator: (req) => {
        parseInput(abortRequest, req, 'abort');
        if (requests.abort) throw rejected(`already aborted by ${requests.abort.by}`);
        if (state.verdict || state.stage === 'rolling-back')
          throw rejected(`too late to abort: the deployment is ${state.verdict ?? state.stage}`);
      },
    },
  );
  setHandler(
    endWatchUpdate,
    (req) => {
      requests.endWatch = endWatchRequest.parse(req);
      return { stage: state.stage, outcome: `the watch at ${state.watch?.percent ?? 100}% ends now` };
    },
    {
      validator: (req) => {
        parseInput(endWatchRequest, req, 'endWatch');
        if (state.stage !== 'watching' || state.verdict) throw rejected(`there is no watch to end: the deployment is at ${state.stage}`);
        if (requests.endWatch) throw rejected(`the watch is already ending (${requests.endWatch.by})`);
      },
    },
  );

  // ---- the plan: config of this service with the input's overrides -------------------------------
  const p: DeployPlan = await loadPlan(
    input.service,
    { durations: input.durations, requireApproval: input.requireApproval, unhealthySamplesForRollback: input.unhealthySamplesForRollback },
    input.durations.activityTimeout,
  );
  known.requireApproval = p.requireApproval;
  const d = p.durations;
  state.platform = p.platform;
  const { quick, long, sampler } = deployActivities(d);
  const service = input.service;
  const identity = (what: string) => `${info.workflowId}/${what}/${info.firstExecutionRunId}`;
  const what = `${input.ref}${state.sha ? `@${state.sha.slice(0, 7)}` : ''}`;
  const notify = (text: string) =>
    notices.push(notifyChat(quick, text).catch((err) => log.warn('chat notice failed', { error: messageOf(err) })));

  const checkAbort = () => {
    if (requests.abort) throw new Stop();
  };

  /** Runs `fn` until it finishes or a person aborts (then it is cancelled). */
  async function abortable<T>(fn: () => Promise<T>): Promise<T> {
    checkAbort();
    const work = new CancellationScope();
    const waiter = new CancellationScope();
    const aborted = waiter
      .run(() => condition(() => requests.abort !== undefined))
      .then(
        () => true,
        () => false,
      );
    const result = work.run(fn);
    const first = await Promise.race([
      result.then(
        () => 'done',
        () => 'done',
      ),
      aborted.then((a) => (a ? 'abort' : 'done')),
    ]);
    if (first === 'abort') {
      work.cancel();
      result.catch(() => undefined);
      throw new Stop();
    }
    waiter.cancel();
    return result;
  }

  // ---- Rolling Back: to the production deployment recorded before promotion ----------------------
  async function rollBack(reason: string): Promise<boolean> {
    const target = state.previousProduction;
    if (!target) {
      state.lastError = 'there is no previous production deployment to roll back to';
      return false;
    }
    // The decision is in state (and history) before anything is asked of the platform.
    state.rollback = { from: state.production?.id, to: target.id, reason, decidedAt: now(), status: 'requested' };
    enter('rolling-back');
    return CancellationScope.nonCancellable(async () => {
      const rb = state.rollback!;
      try {
        const v = await rollBackProduction(long, { service, toDeploymentId: target.id, reason, pollIntervalMs: d.pollInterval });
        rb.status = 'done';
        rb.verified = v.healthy;
        rb.health = v.detail;
        return true;
      } catch (err) {
        rb.status = 'failed';
        rb.error = messageOf(err);
        return false;
      }
    });
  }

  /**
   * A breach or failed verification opens an incident through the alert path (the incident workflow
   * pages and tracks it); where that path is not available, chat is told instead.
   */
  async function openIncident(summary: string, description: string): Promise<void> {
    try {
      const accepted = await quick.raiseAlerts([
        {
          source: 'deploy-watch',
          dedupKey: `deploy:${service}:${info.workflowId}`,
          status: 'firing',
          service,
          summary,
          description,
          labels: { severity: 'critical', service, deployment: state.production?.id ?? 'unknown', workflow: info.workflowId },
        },
      ]);
      state.incident = { workflowId: accepted.incidents[0] };
    } catch (err) {
      const error = messageOf(err);
      const told = await notifyChat(quick, `🚨 ${summary}\n${description}\n(no incident opened: ${error})`).catch(() => ({
        channels: [] as string[],
      }));
      state.incident = { channels: told.channels, error };
    }
  }

  async function rollBackAndFinish(reason: string, opts: { incident: boolean }): Promise<DeployResult> {
    const incident = opts.incident ? openIncident(`Deployment of ${what} to ${service} breached: rolling back`, reason) : Promise.resolve();
    const ok = await rollBack(reason);
    await incident;
    if (ok) return finish('rolled-back', reason);
    if (!opts.incident)
      await openIncident(`Rollback of ${service} failed after ${what}`, `${reason}; ${state.rollback?.error ?? state.lastError}`);
    return finish('failed', `${reason}; rollback failed: ${state.rollback?.error ?? state.lastError}`);
  }

  // ---- the watch (watch.ts): its critical samples are the rollback condition ----------------------
  const run: WatchRun = { state, requests, plan: p, sampler, enter, notify, what };

  // ---- Post-Deployment: record and announce ---------------------------------------------------------
  async function finish(verdict: DeployVerdict, reason: string): Promise<DeployResult> {
    state.verdict = verdict;
    state.verdictReason = reason;
    state.finishedAt = now();
    enter('recording');
    publish({ status: verdict, details: `${verdict}: ${reason}` });
    await CancellationScope.nonCancellable(async () => {
      const outcomes = await Promise.allSettled([
        quick.recordDeployment({
          workflowId: info.workflowId,
          kind: 'deploy',
          service,
          platform: p.platform,
          ref: input.ref,
          sha: state.sha,
          requestedBy: input.requestedBy,
          hotfixReason: input.hotfix?.reason,
          previewDeploymentId: state.preview?.id,
          productionDeploymentId: state.production?.id,
          previousDeploymentId: state.previousProduction?.id,
          gates: state.gates,
          migrations: state.migrations,
          watch: state.watch ? { ...state.watch, samplesTaken: state.samplesTaken, recentSamples: state.recentSamples } : undefined,
          rollback: state.rollback,
          verdict,
          verdictReason: reason,
          startedAt: state.startedAt,
          finishedAt: state.finishedAt!,
        }),
        notifyChat(quick, announcement(verdict, reason)),
        ...notices,
      ]);
      for (const o of outcomes) if (o.status === 'rejected') log.warn('post-deployment task failed', { error: messageOf(o.reason) });
    });
    enter('done');
    await condition(allHandlersFinished);
    const result = snapshot() as DeployResult;
    if (verdict === 'failed')
      throw ApplicationFailure.create({ type: 'DeployFailed', nonRetryable: true, message: reason, details: [result] });
    return result;
  }

  function announcement(verdict: DeployVerdict, reason: string): string {
    const who = `(by ${input.requestedBy}${input.hotfix ? `, hotfix: ${input.hotfix.reason}` : ''})`;
    switch (verdict) {
      case 'succeeded':
        return `✅ ${service}: ${what} is live as ${state.production?.id} ${who}. ${reason}`;
      case 'rolled-back':
        return `↩️ ${service}: ${what} rolled back to ${state.rollback?.to} ${who}. ${reason}`;
      case 'aborted':
        return `⏹️ ${service}: deployment of ${what} stopped ${who}. ${reason}`;
      default:
        return `❌ ${service}: deployment of ${what} failed ${who}. ${reason}`;
    }
  }

  try {
    // ---- Pre-Deployment Checklist ---------------------------------------------------------------------
    enter('gates');
    const env = await quick.checkCriticalEnv({ service });
    gate('critical-env', env.status, env.reason);

    if (!p.ciConfigured) gate('ci', 'skipped', 'no CI check source configured (deploy.ci)');
    else {
      const deadline = Date.now() + d.ciTimeout;
      for (;;) {
        const ci = await quick.checkCiStatus({ service, ref: input.ref, sha: input.sha });
        if (ci.state === 'success' || ci.state === 'failure' || ci.state === 'none') {
          gate('ci', ci.state === 'success' ? 'pass' : ci.state === 'none' ? 'skipped' : 'fail', ci.reason);
          break;
        }
        if (Date.now() + d.sampleInterval > deadline) {
          gate('ci', 'fail', `still pending after ${formatDuration(d.ciTimeout)}: ${ci.reason}`);
          break;
        }
        await abortable(() => condition(() => false, d.sampleInterval));
      }
    }

    let pending: { name: string; checksum: string }[] = [];
    if (!p.migrationsConfigured) gate('migrations', 'skipped', 'no migrations folder (deploy.migrationsDir) or database for this service');
    else {
      const m = await quick.listPendingMigrations({ service });
      pending = m.pending;
      const listed = pending.length ? `${pending.length} pending: ${pending.map((x) => x.name).join(', ')}` : 'none pending';
      if (m.problems.length) gate('migrations', 'fail', `${m.problems.join('; ')}`);
      else gate('migrations', 'pass', [listed, ...m.notes].join('; '));
      state.migrations = { pending: pending.map((x) => x.name), applied: [] };
    }

    // Second runbook: `supabase functions deploy`; the sources are checked now so a deploy never stops halfway.
    let edgeFunctions: string[] = [];
    if (patched('deploy-edge-functions') && p.edgeFunctions) {
      if (p.edgeFunctions === 'no-source')
        gate('edge-functions', 'skipped', 'no Edge Functions source folder (deploy.functionsDir); deploy them by hand');
      else {
        const f = await quick.checkEdgeFunctions();
        edgeFunctions = f.functions.map((x) => x.slug);
        if (f.problems.length) gate('edge-functions', 'fail', f.problems.join('; '));
        else
          gate(
            'edge-functions',
            'pass',
            `${edgeFunctions.length} to deploy: ${f.functions.map((x) => `${x.slug} (${x.files} files)`).join(', ')}`,
          );
      }
    }

    const failed = state.gates.filter((g) => g.status === 'fail');
    if (failed.length)
      return await finish('failed', `pre-deployment checklist failed: ${failed.map((g) => `${g.name}: ${g.reason}`).join('; ')}`);
    checkAbort();

    // ---- Standard Deployment 2–4: preview deployment and smoke tests (skipped by an explicit hotfix) --
    if (input.hotfix) {
      log.info('hotfix: preview and smoke tests skipped', { reason: input.hotfix.reason });
    } else {
      enter('preview');
      const preview = await abortable(() =>
        long.createTaggedDeployment({
          service,
          kind: 'preview',
          ref: input.ref,
          sha: input.sha,
          identity: identity('preview'),
          pollIntervalMs: d.pollInterval,
        }),
      );
      state.preview = { id: preview.id, url: preview.url };
      state.sha ??= preview.sha;
      const built = await abortable(() => long.waitForBuild({ service, deploymentId: preview.id, pollIntervalMs: d.pollInterval }));
      if (!built.ready) return await finish('failed', `preview build ${built.state}: ${built.message}`);
      state.preview.url = built.url;

      enter('smoke-test');
      const smoke = await quick.smokeTest({ service, baseUrl: built.url });
      state.preview.smoke = smoke;
      if (!smoke.passed) {
        const bad = smoke.checks.filter((c) => !c.ok).map((c) => `${c.path} ${c.reason}`);
        return await finish('failed', `preview smoke tests failed: ${bad.join('; ')}`);
      }
    }
    checkAbort();

    // ---- Optional human approval before production -----------------------------------------------------
    if (p.requireApproval) {
      if (!state.approval) {
        enter('awaiting-approval');
        notify(`🙋 ${service}: ${what} waits for approval before production: runbook deploy approve ${info.workflowId}`);
        const approved = await condition(() => state.approval !== undefined || requests.abort !== undefined, d.approvalTimeout);
        checkAbort();
        if (!approved) {
          gate('approval', 'fail', `nobody approved within ${formatDuration(d.approvalTimeout)}`);
          return await finish('failed', `not approved within ${formatDuration(d.approvalTimeout)}`);
        }
      }
      gate('approval', 'pass', `approved by ${state.approval!.by}${state.approval!.comment ? `: ${state.approval!.comment}` : ''}`);
    } else gate('approval', 'skipped', 'not required');

    // ---- Running Migrations: each in a transaction; a failure runs its rollback file and stops -------
    if (pending.length) {
      enter('migrations');
      const run = await long.applyAppMigrations({ service, expected: pending, deployId: info.workflowId });
      state.migrations = run;
      if (run.failed) {
        const rb =
          run.failed.rollback === 'ran'
            ? 'its rollback file ran'
            : run.failed.rollback === 'failed'
              ? `its rollback file failed too: ${run.failed.rollbackError}`
              : 'it has no rollback file';
        return await finish('failed', `migration ${run.failed.name} failed: ${run.failed.error}; ${rb}`);
      }
    }
    checkAbort();

    // ---- Edge Functions after the schema they use, before the frontend that calls them ----------------
    if (edgeFunctions.length) {
      enter('edge-functions');
      state.edgeFunctions = [];
      for (const slug of edgeFunctions) {
        try {
          const fn = await long.deployEdgeFunction({ slug });
          state.edgeFunctions.push({ slug, version: fn.version });
        } catch (err) {
          const done = state.edgeFunctions.map((x) => `${x.slug} v${x.version}`).join(', ');
          return await finish(
            'failed',
            `Edge Function ${slug} did not deploy: ${messageOf(err)}${done ? `; already deployed: ${done}` : ''}`,
          );
        }
      }
    }
    checkAbort();

    // ---- Promotion: the rollback target is recorded first ----------------------------------------------
    enter('promoting');
    // Promote does not rebuild, and a preview cannot be promoted: build a production-target deployment (as `vercel --prod`).
    const candidate = await abortable(() =>
      long.createTaggedDeployment({
        service,
        kind: 'production',
        ref: input.ref,
        sha: state.sha,
        identity: identity('production'),
        pollIntervalMs: d.pollInterval,
      }),
    );
    state.production = { id: candidate.id, url: candidate.url };
    const built = await abortable(() => long.waitForBuild({ service, deploymentId: candidate.id, pollIntervalMs: d.pollInterval }));
    if (!built.ready) return await finish('failed', `production build ${built.state}: ${built.message}`);
    state.production.url = built.url;
    // The rollback target: what serves production now, recorded before anything is promoted.
    state.previousProduction = await quick.currentProduction({ service, excluding: candidate.id });
    checkAbort();

    productionTouched = true;
    if (p.rollingStages.length) {
      // Rolling release: advance stage by stage, watching the canary at each.
      const stages = p.rollingStages;
      const started = await quick.startRollingRelease({ service, canaryId: candidate.id, stages });
      state.promotion = { stages, percent: started.percent };
      for (let i = 0; i < stages.length - 1; i++) {
        const outcome = await watch(run, stages[i], d.stageWatch, state.production.url);
        if (outcome.kind === 'critical')
          return await rollBackAndFinish(`critical breach at ${stages[i]}%: ${outcome.reasons.join('; ')}`, { incident: true });
        if (outcome.kind === 'aborted') throw new Stop();
        const next = await quick.advanceRollingRelease({
          service,
          canaryId: candidate.id,
          nextStageIndex: i + 1,
          final: i + 1 === stages.length - 1,
        });
        state.promotion.percent = next.percent;
      }
    } else {
      state.promotion = { stages: [100], percent: 0 };
      const promoted = await long.promoteDeployment({ service, deploymentId: candidate.id, pollIntervalMs: d.pollInterval });
      if (!promoted.ok)
        return await rollBackAndFinish(`promotion did not finish: ${promoted.status}${promoted.message ? ` (${promoted.message})` : ''}`, {
          incident: true,
        });
      state.promotion.percent = 100;
    }
    checkAbort();

    // ---- Standard Deployment 6: verify production at once -----------------------------------------------
    enter('verifying');
    const verified = await long.verifyProduction({ service, deploymentId: candidate.id, pollIntervalMs: d.pollInterval });
    if (!verified.healthy) return await rollBackAndFinish(`production verification failed: ${verified.detail}`, { incident: true });
    checkAbort();

    // ---- Standard Deployment 7: monitor for 30 minutes ----------------------------------------------------
    const outcome = await watch(run, 100, d.watch, p.productionUrl);
    switch (outcome.kind) {
      case 'critical':
        return await rollBackAndFinish(`critical breach during the watch: ${outcome.reasons.join('; ')}`, { incident: true });
      case 'aborted':
        throw new Stop();
      case 'ended':
        return await finish(
          'succeeded',
          `watch ended early after ${state.watch!.samplesTaken} sample(s) by ${outcome.by}: ${outcome.reason}`,
        );
      default: {
        const warnings = state.watch!.warnings;
        return await finish(
          'succeeded',
          `watched ${formatDuration(d.watch)}: no critical breach${warnings ? `, ${warnings} warning sample(s)` : ''}`,
        );
      }
    }
  } catch (err) {
    if (err instanceof Stop || isCancellation(err)) {
      const by = requests.abort ? `aborted by ${requests.abort.by}: ${requests.abort.reason}` : 'the workflow was cancelled';
      const result = await CancellationScope.nonCancellable(() =>
        productionTouched ? rollBackAndFinish(by, { incident: false }) : finish('aborted', `${by} (before production changed)`),
      );
      if (isCancellation(err)) throw err;
      return result;
    }
    if (state.verdict) throw err; // finish() itself reports a failed deployment by failing the run.
    const message = messageOf(err);
    state.lastError = message;
    if (productionTouched) return await rollBackAndFinish(`the deployment failed after promotion started: ${message}`, { incident: true });
    return await finish('failed', message);
  }
}

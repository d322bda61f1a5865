import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../src/activities';
import type { ActivityDeps } from '../../src/activities/deps';
import { createDeployActivities } from '../../src/activities/deploy';
import { deployStartOptions, type DeployInput, type DeployPlan, type DeployResult } from '../../src/workflows/deploy/contract';
import { deploy } from '../../src/workflows';
import { startTestWorker, testConfig, type TestWorker } from '../harness';

/**
 * The deploy workflow's own decisions, with activities faked (typed from the real ones) to reach
 * corners the sandbox makes awkward: an abort during a long build, a promote job that fails, a first
 * deployment with nothing to roll back to.
 */

const plan: DeployPlan = {
  service: 'web',
  platform: 'vercel',
  productionUrl: 'https://example.test',
  rollingStages: [],
  requireApproval: false,
  ciConfigured: false,
  migrationsConfigured: false,
  unhealthySamplesForRollback: 3,
  thresholds: { errorRate: { warning: 1, critical: 5 }, p99Ms: { warning: 5_000, critical: 10_000 } },
  durations: {
    watch: 3_000,
    stageWatch: 1_000,
    sampleInterval: 1_000,
    pollInterval: 50,
    approvalTimeout: 60_000,
    ciTimeout: 0,
    buildTimeout: 60_000,
    activityTimeout: 2_000,
    probeTimeout: 1_000,
  },
};

type Fakes = Partial<Activities>;

function fakes(calls: string[], over: Fakes = {}): Fakes {
  const log =
    <A extends unknown[], R>(name: string, fn: (...a: A) => Promise<R>) =>
    async (...a: A) => {
      calls.push(name);
      return fn(...a);
    };
  const base: Fakes = {
    deployPlan: log('deployPlan', async () => plan),
    checkCriticalEnv: log('checkCriticalEnv', async () => ({ status: 'pass' as const, reason: 'all set' })),
    createTaggedDeployment: log('createTaggedDeployment', async (i) => ({
      id: `dpl_${i.kind}`,
      url: `https://${i.kind}.test`,
      state: 'QUEUED',
      created: true,
    })),
    waitForBuild: log('waitForBuild', async (i) => ({
      ready: true,
      id: i.deploymentId,
      url: `https://${i.deploymentId}.test`,
      state: 'READY',
    })),
    smokeTest: log('smokeTest', async () => ({ passed: true, checks: [] })),
    currentProduction: log('currentProduction', async () => ({ id: 'dpl_previous', url: 'https://previous.test' })),
    promoteDeployment: log('promoteDeployment', async () => ({ requested: true, ok: true, status: 'succeeded' })),
    verifyProduction: log('verifyProduction', async () => ({ healthy: true, detail: 'health: 200 healthy' })),
    sampleHealth: log('sampleHealth', async () => ({ healthy: true, status: 200, errorRate: 0.1, p99Ms: 300, detail: 'ok' })),
    rollbackProduction: log('rollbackProduction', async () => ({ requested: true, ok: true, status: 'succeeded' })),
    raiseAlerts: log('raiseAlerts', async () => ({ incidents: ['incident-deploy-web-1'], accepted: 1 })),
    notifyChat: log('notifyChat', async () => ({ channels: ['slack'] })),
    notifyChatChannel: log('notifyChatChannel', async (i) => ({ posted: i.channel === 'slack' })),
    recordDeployment: log('recordDeployment', async () => undefined),
  };
  return { ...base, ...over };
}

async function run(
  worker: TestWorker,
  input: DeployInput,
  during?: (h: Awaited<ReturnType<TestWorker['client']['workflow']['start']>>) => Promise<void>,
) {
  return worker.run(async () => {
    const h = await worker.client.workflow.start(deploy, {
      taskQueue: worker.taskQueue,
      ...deployStartOptions(input),
      workflowId: `${deployStartOptions(input).workflowId}-${Date.now()}`,
      args: [input],
    });
    await during?.(h);
    return h.result().then(
      (r) => r,
      async (err: unknown) => ({ error: err, progress: await h.query<DeployResult>('progress') }),
    );
  });
}

const input: DeployInput = { service: 'web', ref: 'main', requestedBy: 'jest' };

describe('deploy workflow decisions (typed fake activities, real Temporal server)', () => {
  it('an abort during a long preview build cancels the wait and stops before production, promoting nothing', async () => {
    const calls: string[] = [];
    let cancelled = false;
    const worker = await startTestWorker({
      activities: fakes(calls, {
        async waitForBuild() {
          calls.push('waitForBuild');
          const ctx = Context.current();
          try {
            for (;;) {
              ctx.heartbeat();
              await ctx.sleep(100);
            }
          } catch (err) {
            cancelled = true;
            throw err;
          }
        },
      }),
    });
    try {
      const result = (await run(worker, input, async (h) => {
        for (let i = 0; i < 100 && !calls.includes('waitForBuild'); i++) await new Promise((r) => setTimeout(r, 50));
        await h.executeUpdate('abort', { args: [{ by: 'ana', reason: 'wrong branch' }] });
      })) as DeployResult;
      expect(result.verdict).toBe('aborted');
      expect(result.verdictReason).toBe('aborted by ana: wrong branch (before production changed)');
      expect(calls).not.toContain('promoteDeployment');
      expect(calls).not.toContain('rollbackProduction');
      for (let i = 0; i < 40 && !cancelled; i++) await new Promise((r) => setTimeout(r, 50));
      expect(cancelled).toBe(true);
    } finally {
      await worker.close();
    }
  });

  it('a promote job that fails rolls back to the recorded previous deployment and opens an incident', async () => {
    const calls: string[] = [];
    const worker = await startTestWorker({
      activities: fakes(calls, {
        promoteDeployment: async () => (
          calls.push('promoteDeployment'),
          { requested: true, ok: false, status: 'failed', message: 'alias job failed' }
        ),
      }),
    });
    try {
      const result = (await run(worker, input)) as DeployResult;
      expect(result.verdict).toBe('rolled-back');
      expect(result.verdictReason).toBe('promotion did not finish: failed (alias job failed)');
      expect(result.rollback).toMatchObject({ to: 'dpl_previous', status: 'done' });
      expect(result.incident).toEqual({ workflowId: 'incident-deploy-web-1' });
      expect(calls.indexOf('currentProduction')).toBeLessThan(calls.indexOf('promoteDeployment'));
      expect(calls.filter((c) => c === 'rollbackProduction')).toHaveLength(1);
    } finally {
      await worker.close();
    }
  });

  it('a first deployment (no previous production) that breaches cannot roll back: it fails loudly and still opens an incident', async () => {
    const calls: string[] = [];
    let n = 0;
    const worker = await startTestWorker({
      activities: fakes(calls, {
        currentProduction: async () => (calls.push('currentProduction'), null),
        sampleHealth: async () => (
          calls.push('sampleHealth'),
          { healthy: true, status: 200, errorRate: ++n >= 2 ? 9 : 0.1, p99Ms: 300, detail: 'ok' }
        ),
        raiseAlerts: async () => {
          calls.push('raiseAlerts');
          throw ApplicationFailure.nonRetryable('raiseAlerts needs a Temporal client in the activity dependencies', 'NotConfigured');
        },
      }),
    });
    try {
      const outcome = (await run(worker, input)) as { error: unknown; progress: DeployResult };
      expect(outcome.progress.verdict).toBe('failed');
      expect(outcome.progress.verdictReason).toMatch(
        /^critical breach during the watch: error rate 9% > 5%; rollback failed: there is no previous production deployment to roll back to/,
      );
      expect(calls).not.toContain('rollbackProduction');
      // The alert path failed, so chat was told instead.
      expect(outcome.progress.incident).toMatchObject({ channels: ['slack'], error: expect.stringContaining('needs a Temporal client') });
    } finally {
      await worker.close();
    }
  });

  it('a Telegram post that fails is retried alone: every notice reaches Slack and Telegram once each', async () => {
    const slack: string[] = [];
    const telegram: string[] = [];
    let telegramFailures = 2;
    // The real chat activities over stand-in chat clients; Telegram answers 502 twice.
    const chat = createDeployActivities({
      config: testConfig({}, 'netlify-supabase'),
      platforms: {
        slack: { configured: true, post: async (m: { text: string }) => void slack.push(m.text) },
        telegram: {
          configured: true,
          sendMessage: async (text: string) => {
            if (telegramFailures-- > 0) throw new Error('telegram answered 502');
            telegram.push(text);
          },
        },
      },
    } as unknown as ActivityDeps);
    const worker = await startTestWorker({
      activities: fakes([], { notifyChat: chat.notifyChat, notifyChatChannel: chat.notifyChatChannel }),
    });
    try {
      const outcome = await run(worker, input);
      expect(outcome).toMatchObject({ verdict: 'succeeded' });
      expect(slack).toEqual([expect.stringContaining('web')]); // the announcement
      expect(telegram).toEqual(slack);
      expect(new Set(slack).size).toBe(slack.length);
    } finally {
      await worker.close();
    }
  });
});

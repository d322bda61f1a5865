import { scratchDatabase, startTestWorker, testConfig, testDeps, timeSkippingEnv, uniqueName, type ScratchDatabase } from '../harness';
import { selfCheck } from '../../src/workflows';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';

describe('selfCheck: a workflow whose real activity writes to real PostgreSQL', () => {
  let ops: ScratchDatabase;
  beforeAll(async () => {
    ops = await scratchDatabase('selfcheck', { ops: true });
  });
  afterAll(async () => {
    await ops.drop();
  });

  it('records one row in the ops database per run, tagged with the workflow id', async () => {
    const worker = await startTestWorker({ deps: testDeps(testConfig(), ops) });
    try {
      const workflowId = uniqueName('self-check');
      const result = await worker.run(() =>
        worker.client.workflow.execute(selfCheck, { taskQueue: worker.taskQueue, workflowId, args: [{ requestedBy: 'jest' }] }),
      );
      expect(result.database).toBe(ops.name);
      expect(result.serverVersion).toMatch(/^\d+\.\d+/);
      const { rows } = await ops.pool.query('SELECT requested_by, workflow_id FROM self_checks');
      expect(rows).toEqual([{ requested_by: 'jest', workflow_id: workflowId }]);
    } finally {
      await worker.close();
    }
  });

  it('fails at once, naming the field, on bad input', async () => {
    const worker = await startTestWorker({ deps: testDeps(testConfig(), ops) });
    try {
      const run = worker.run(() =>
        worker.client.workflow.execute(selfCheck, {
          taskQueue: worker.taskQueue,
          workflowId: uniqueName('bad'),
          args: [{ requestedBy: '' }],
        }),
      );
      await expect(run).rejects.toThrow(WorkflowFailedError);
      await expect(run).rejects.toMatchObject({ cause: { message: expect.stringContaining('requestedBy') } });
    } finally {
      await worker.close();
    }
  });

  it('runs on the time-skipping test server too', async () => {
    const env = await timeSkippingEnv();
    try {
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue: 'ts',
        workflowBundle: { codePath: process.env.RUNBOOK_TEST_WORKFLOW_BUNDLE! },
        activities: createActivities(testDeps(testConfig(), ops)),
      });
      const result = await worker.runUntil(
        env.client.workflow.execute(selfCheck, { taskQueue: 'ts', workflowId: uniqueName('ts'), args: [{ requestedBy: 'time-skipping' }] }),
      );
      expect(result.checkId).toBeGreaterThan(0);
    } finally {
      await env.teardown();
    }
  });
});

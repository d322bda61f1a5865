import { expectRefusedInput, scratchDatabase, testConfig, testDeps, timeSkippingEnv, uniqueName, withTestWorker } from '../harness';
import { databasesForFile } from '../harness/fixtures';
import { selfCheck } from '../../src/workflows';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';

describe('selfCheck: a workflow whose real activity writes to real PostgreSQL', () => {
  const { ops } = databasesForFile({ ops: () => scratchDatabase('selfcheck', { ops: true }) });

  it('records one row in the ops database per run, tagged with the workflow id', async () => {
    const workflowId = uniqueName('self-check');
    const result = await withTestWorker({ deps: testDeps(testConfig(), ops) }, (worker) =>
      worker.client.workflow.execute(selfCheck, { taskQueue: worker.taskQueue, workflowId, args: [{ requestedBy: 'jest' }] }),
    );
    expect(result.database).toBe(ops.name);
    expect(result.serverVersion).toMatch(/^\d+\.\d+/);
    const { rows } = await ops.pool.query('SELECT requested_by, workflow_id FROM self_checks');
    expect(rows).toEqual([{ requested_by: 'jest', workflow_id: workflowId }]);
  });

  it('fails at once, naming the field, on bad input', async () => {
    const run = withTestWorker({ deps: testDeps(testConfig(), ops) }, (worker) =>
      worker.client.workflow.execute(selfCheck, {
        taskQueue: worker.taskQueue,
        workflowId: uniqueName('bad'),
        args: [{ requestedBy: '' }],
      }),
    );
    await expectRefusedInput(run, 'requestedBy');
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

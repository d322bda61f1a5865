import { healthCheck } from '../../src/workflows';
import { uniqueName, type TestWorker } from '../harness';

/** One health check on `worker`'s queue, as the 5-minute schedule starts it; settles with its result. */
export const runHealthCheck = (worker: TestWorker) =>
  worker.client.workflow.execute(healthCheck, {
    taskQueue: worker.taskQueue,
    workflowId: uniqueName('health-check'),
    args: [{ requestedBy: 'jest' }],
  });

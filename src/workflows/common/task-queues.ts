/** The default task queue; config `temporal.taskQueue` overrides it. */
export const DEFAULT_TASK_QUEUE = 'durable-runbooks';

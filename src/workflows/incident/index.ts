/** The incident workflows the worker registers: the incident and its emergency playbooks. */
export * from './incident';
export * from './data-loss';
export * from './security';

/** The incident workflow the worker registers. */
export * from './incident';

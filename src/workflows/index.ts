/** Every workflow the worker registers; one folder per capability. */
export * from './self-check';
export * from './incident';
export * from './backup';
export * from './maintenance';
export * from './health';
export * from './deploy';

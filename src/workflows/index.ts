/** Every workflow the worker registers; one file per capability. */
export * from './self-check';
export * from './incident';
export * from './backup';
export * from './maintenance';
export * from './health';
export * from './deploy';
export * from './rollback';

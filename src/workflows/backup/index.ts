/** The backup workflows the worker registers. */
export * from './backup';
export * from './verify';
export * from './restore';
export * from './pitr-restore';
export * from './catalogue';

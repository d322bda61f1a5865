export * from './deploy';
export * from './rollback';

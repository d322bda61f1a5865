// LAYOUT-SHIM: remove at integration
export * from './deploy/rollback';

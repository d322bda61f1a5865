// LAYOUT-SHIM: remove at integration
export * from '../workflows/deploy/contract';

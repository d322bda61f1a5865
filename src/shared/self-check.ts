// LAYOUT-SHIM: remove at integration
export * from '../workflows/self-check/contract';

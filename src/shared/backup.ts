// LAYOUT-SHIM: remove at integration
export * from '../workflows/backup/contract';
